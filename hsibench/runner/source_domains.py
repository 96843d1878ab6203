"""Source domains, built once per process and shared by the trials and pretraining jobs that need them.

Building a source domain loads and z-scores its scene (seconds at Pavia scale). Within one
process — the local executor, or one reused Ray actor — every trial of a protocol needs the same
one, so the last few are kept (small bound: a sweep over protocols must not hold every scene).
A protocol with several sources keeps one domain per scene (so two protocols sharing a scene share
its domain) and hands methods a :class:`~hsibench.protocol.PooledSource` of them.
A method that neither pretrains nor uses source labels needs none, and its trial never loads it.
"""

from __future__ import annotations

from collections import OrderedDict

from hsibench.methods import MethodInfo
from hsibench.protocol import Domain, Protocol, Source, build_source_domain, build_sources
from hsibench.protocol.protocol import SceneRegion
from hsibench.protocol.regions import region_scene

#: how many source domains one process keeps (more while a pooled protocol needs more at once)
KEPT_DOMAINS = 2

_DOMAINS: OrderedDict[tuple, Domain] = OrderedDict()


def needs_source(info: MethodInfo) -> bool:
    """Whether a method's trial reads the source scene at all."""
    return info.pretrains or info.uses_source_labels


def source_domain(protocol: Protocol, grant_labels: bool, method: str | None = None) -> Source:
    """The protocol's source (one domain, or the pooled domains of its ``sources``), labels only when granted and
    legitimate (refused otherwise, naming ``method``), each domain shared while it stays recent."""

    def domain(region: SceneRegion) -> Domain:
        identity = (region, protocol.patch_size, protocol.padding, grant_labels)
        if identity in _DOMAINS:
            _DOMAINS.move_to_end(identity)
            return _DOMAINS[identity]
        built = build_source_domain(protocol, grant_labels=grant_labels, scene=region_scene(region), method=method,
                                    region=region)
        _DOMAINS[identity] = built
        while len(_DOMAINS) > max(KEPT_DOMAINS, len(protocol.sources)):
            _DOMAINS.popitem(last=False)
        return built

    return build_sources(protocol, grant_labels, method=method, domain=domain)
