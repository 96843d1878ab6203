"""Which machine made a number: CPU model, the ISA features torch dispatches on, threads, torch build, device, precision.

The same trial gives different floating-point results on different CPUs (AMD EPYC vs an Intel
Xeon with AMX/bf16) and thread counts, so every record says where it ran and every table says
which hardware its records come from. Bit-identical reruns are promised only on the same
hardware, thread count and torch build.
"""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

#: CPU features that change which kernels torch and oneDNN run (and so the low bits of results)
RELEVANT_ISA_FLAGS = (
    "sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16",
    "avx512_fp16", "avx_vnni", "amx_tile", "amx_bf16", "amx_int8", "asimd", "sve", "sve2",
)


@dataclass(frozen=True)
class MachineInfo:
    """What a record stores about the hardware and software that computed it."""

    cpu_model: str | None
    isa_flags: tuple[str, ...]
    logical_cpus: int | None
    threads: int | None  # torch intra-op threads of the trial
    torch_version: str | None
    torch_cpu_capability: str | None  # the kernel set torch dispatches to (e.g. AVX2, AVX512)
    cuda_version: str | None
    device: str | None  # cpu, cuda:0, …
    device_name: str | None  # the GPU's name on CUDA
    precision: str | None  # fp32, bf16 or fp16 (the autocast dtype of training and inference)
    deterministic: bool = False  # torch.use_deterministic_algorithms was on
    hostname: str | None = None
    platform: str | None = None
    ray_node: dict | None = None  # {"node_id", "address"} of the Ray node that ran the trial; None outside Ray
    extra: dict = field(default_factory=dict)

    def hardware_key(self) -> tuple:
        """What must agree for two records to be bit-comparable (hostname and platform string excluded)."""
        return (self.cpu_model, self.isa_flags, self.threads, self.torch_version, self.torch_cpu_capability,
                self.device_name or self.device, self.precision)

    def summary(self) -> str:
        """One line for captions: ``AMD EPYC (avx2 fma), 1 thread, torch 2.14.1 [AVX2], cpu, fp32``."""
        flags = " ".join(flag for flag in self.isa_flags if flag in ("avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16"))
        cpu = f"{self.cpu_model or 'unknown CPU'}" + (f" ({flags})" if flags else "")
        threads = "? threads" if self.threads is None else f"{self.threads} thread{'s' if self.threads != 1 else ''}"
        torch = f"torch {self.torch_version}" + (f" [{self.torch_cpu_capability}]" if self.torch_cpu_capability else "")
        device = self.device_name or self.device or "?"
        return f"{cpu}, {threads}, {torch}, {device}, {self.precision or '?'}" + (", deterministic" if self.deterministic else "")

    def to_dict(self) -> dict:
        data = asdict(self)
        data["isa_flags"] = list(self.isa_flags)
        return data

    @staticmethod
    def from_dict(data: dict) -> MachineInfo:
        known = {name: data.get(name) for name in MachineInfo.__dataclass_fields__ if name in data}
        known["isa_flags"] = tuple(known.get("isa_flags") or ())
        known.setdefault("extra", {})
        for name in ("cpu_model", "logical_cpus", "threads", "torch_version", "torch_cpu_capability", "cuda_version",
                     "device", "device_name", "precision"):
            known.setdefault(name, None)
        return MachineInfo(**known)


def current_ray_node() -> dict | None:
    """The Ray node this process runs on (id and IP address), when it is a Ray worker or driver; else ``None``.

    Ray is looked up only if something already imported it, so the local executor never starts it."""
    ray = sys.modules.get("ray")
    if ray is None or not ray.is_initialized():
        return None
    from ray.util import get_node_ip_address

    return {"node_id": ray.get_runtime_context().get_node_id(), "address": get_node_ip_address()}


@lru_cache(maxsize=1)
def cpu_description() -> tuple[str | None, tuple[str, ...]]:
    """(CPU model, the relevant ISA flags it has), from /proc/cpuinfo on Linux, else the platform module."""
    cpuinfo = Path("/proc/cpuinfo")
    model, flags = None, set()
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            key = key.strip().lower()
            if key in ("model name", "hardware", "cpu model") and model is None:
                model = value.strip()
            elif key in ("flags", "features") and not flags:
                flags = set(value.split())
    if model is None:
        model = platform.processor() or platform.machine() or None
    return model, tuple(flag for flag in RELEVANT_ISA_FLAGS if flag in flags)


def describe_machine(threads: int | None, device: str | None, precision: str | None,
                     deterministic: bool = False) -> MachineInfo:
    """The machine a trial runs on now (imports torch: call it from a trial, not from the report layer)."""
    import torch

    model, flags = cpu_description()
    try:
        capability = torch.backends.cpu.get_cpu_capability()
    except AttributeError:  # older torch
        capability = None
    device_name = None
    if device and device.startswith("cuda") and torch.cuda.is_available():
        device_name = torch.cuda.get_device_name(torch.device(device))
    return MachineInfo(cpu_model=model, isa_flags=flags, logical_cpus=os.cpu_count(), threads=threads,
                       torch_version=torch.__version__, torch_cpu_capability=capability,
                       cuda_version=torch.version.cuda, device=device, device_name=device_name, precision=precision,
                       deterministic=deterministic, hostname=platform.node(), platform=platform.platform(),
                       ray_node=current_ray_node())
