"""Source domains, built once per process and shared by the trials and pretraining jobs that need them.

Building a source domain loads and z-scores its scene (seconds at Pavia scale). Within one
process — the local executor, or one reused Ray actor — every trial of a protocol needs the same
one, so the last few are kept (small bound: a sweep over protocols must not hold every scene).
A method that neither pretrains nor uses source labels needs none, and its trial never loads it.
"""

from __future__ import annotations

from collections import OrderedDict

from hsibench.methods import MethodInfo
from hsibench.protocol import Domain, Protocol, build_source_domain
from hsibench.protocol.regions import region_scene

#: how many source domains one process keeps
KEPT_DOMAINS = 2

_DOMAINS: OrderedDict[tuple, Domain] = OrderedDict()


def needs_source(info: MethodInfo) -> bool:
    """Whether a method's trial reads the source scene at all."""
    return info.pretrains or info.uses_source_labels


def source_domain(protocol: Protocol, grant_labels: bool) -> Domain:
    """The protocol's source domain (labels only when granted and legitimate), shared while it stays recent."""
    identity = (protocol.source, protocol.patch_size, protocol.padding, grant_labels)
    if identity in _DOMAINS:
        _DOMAINS.move_to_end(identity)
        return _DOMAINS[identity]
    domain = build_source_domain(protocol, grant_labels=grant_labels, scene=region_scene(protocol.source))
    _DOMAINS[identity] = domain
    while len(_DOMAINS) > KEPT_DOMAINS:
        _DOMAINS.popitem(last=False)
    return domain
