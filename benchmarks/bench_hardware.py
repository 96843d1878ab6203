"""Hardware use: achieved GFLOP/s of S²Former's steps against a large float32 matmul in the same process.

Run: ``python -m benchmarks.bench_hardware [--preset cpu] [--threads 1] [--seconds 3]``.

For each step the real loops run — masked pretraining (batch ``pretrain_batch_size``), a DAFT
fine-tuning update (batch ``finetune_batch_size``) and inference (forward only, batch 1024 like
``predict_in_batches``) — the FLOPs of one call are counted with
:class:`torch.utils.flop_counter.FlopCounterMode` (matmuls, linear layers and attention, forward
and backward; elementwise ops, norms, FFTs and the optimizer count nothing, the usual "model
FLOPs" convention), the call is timed, and FLOPs / time is set against the GFLOP/s of a
2048×2048 float32 matmul with the same thread count: the share of this machine's practical
peak the step reaches. All of them are timed in turn (round robin), so load from elsewhere
hits all alike. The same 1024 patches are also inferred in batches of 256, and every step's
minor page faults per call are counted: a tensor over glibc's 32 MB mmap ceiling (batch 1024's
MLP activations are 85 MB) is mapped afresh and faulted in at every call, kernel time that the
op profile books to whichever op first writes it (``aten::copy_`` of the bias inside ``addmm``).

Then a profile (torch.profiler, one thread, a few calls per step) lists the ops that take the
most self CPU time and the share spent in matmul/attention kernels: everything else (norms,
GELU, copies, permutes, the optimizer, Python) is where a step loses to the matmul.
"""

from __future__ import annotations

import argparse
import resource
import statistics
from collections.abc import Callable

import torch
from torch.profiler import ProfilerActivity, profile
from torch.utils.flop_counter import FlopCounterMode, sdpa_backward_flop_count, sdpa_flop_count

from benchmarks.bench_input_pipeline import (
    CLASSES,
    PATCH,
    classifier,
    daft_step,
    interleaved,
    pretraining_model,
    pretraining_step,
    synchronize,
    torch_threads,
)
from benchmarks.common import BenchOptions, Measurement, measurement_table
from hsibench.methods import resolve_config, resolve_device
from hsibench.methods.s2former.method import S2FormerConfig

BENCHMARK = "hardware use"
BANDS = 103  # Pavia University
MATMUL_SIZE = 2048
INFERENCE_BATCH = 1024  # FinetuningSettings.inference_batch_size
#: a batch whose activations stay under glibc's 32 MB mmap ceiling (see ``minor_faults``)
SMALL_INFERENCE_BATCH = 256
#: calls profiled per step (after one unprofiled call); one inference call of 1024 patches is plenty. Collecting
#: the profile's events costs about a second per training step, so a quick run (``seconds`` < 1) profiles one call.
PROFILED_CALLS = {"pretraining step": 3, "DAFT step": 3, "inference": 1}
TOP_OPS = 8
aten = torch.ops.aten


def _attention_flops(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
    return sdpa_flop_count(query_shape, key_shape, value_shape)


def _attention_backward_flops(grad_out_shape, query_shape, key_shape, value_shape, *args, out_shape=None,
                              **kwargs) -> int:
    return sdpa_backward_flop_count(grad_out_shape, query_shape, key_shape, value_shape)


#: the CPU kernels of scaled_dot_product_attention, which FlopCounterMode does not know (it counts the CUDA ones);
#: FlopCounterMode passes tensor shapes to these, like to its own formulas
CPU_ATTENTION_FLOPS = {
    aten._scaled_dot_product_flash_attention_for_cpu: _attention_flops,
    aten._scaled_dot_product_flash_attention_for_cpu_backward: _attention_backward_flops,
}
#: ops whose self time is arithmetic the matmul benchmark measures the peak of
MATMUL_OPS = {"aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm", "aten::_scaled_dot_product_flash_attention_for_cpu",
              "aten::_scaled_dot_product_flash_attention_for_cpu_backward"}


def minor_faults() -> int:
    """Minor page faults of this process so far.

    A tensor over glibc's largest mmap threshold (32 MB) is a fresh mmap at every allocation and
    is freed back to the kernel afterwards, so each call faults its pages in again (kernel time
    that no profile of ops shows); at inference batch 1024 the MLP's hidden activations are 85 MB.
    """
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def with_fault_count(step: Callable[[], None], counts: list[int]) -> Callable[[], None]:
    """``step`` that appends the page faults of each call to ``counts``."""
    def call() -> None:
        before = minor_faults()
        step()
        counts.append(minor_faults() - before)
    return call


def counted_flops(step: Callable[[], object]) -> int:
    """Matmul/attention FLOPs of one call of ``step`` (forward and, where the step has one, backward)."""
    with FlopCounterMode(display=False, custom_mapping=CPU_ATTENTION_FLOPS) as counter:
        step()
    return counter.get_total_flops()


def steps(config: S2FormerConfig, device: torch.device) -> dict[str, tuple[Callable[[], None], str]]:
    """name → (one call of the step, what it is), on random patches of Pavia University's band count."""
    generator = torch.Generator(device).manual_seed(0)
    patches = lambda n: torch.randn(n, PATCH, PATCH, BANDS, device=device, generator=generator)
    pretraining_batch, daft_batch = patches(config.pretrain_batch_size), patches(config.finetune_batch_size)
    labels = torch.randint(CLASSES, (config.finetune_batch_size,), device=device, generator=generator)
    inference_batch = patches(INFERENCE_BATCH)
    pretrain = pretraining_step(pretraining_model(config, BANDS).to(device), config)
    daft = daft_step(classifier(config, BANDS).to(device), config)
    predictor = classifier(config, BANDS).to(device).eval()

    @torch.no_grad()
    def inference() -> None:
        predictor(inference_batch)

    @torch.no_grad()
    def small_batch_inference() -> None:
        for start in range(0, INFERENCE_BATCH, SMALL_INFERENCE_BATCH):
            predictor(inference_batch[start: start + SMALL_INFERENCE_BATCH])

    return {
        "pretraining step": (lambda: pretrain(pretraining_batch),
                             f"masked pretraining + FDC, forward + backward + AdamW, batch {config.pretrain_batch_size}"),
        "DAFT step": (lambda: daft(daft_batch, labels),
                      f"CE + noised student + EMA teacher, backward, AdamW, EMA, batch {config.finetune_batch_size}"),
        "inference": (inference, f"forward only, batch {INFERENCE_BATCH}"),
        f"inference, batches of {SMALL_INFERENCE_BATCH}": (
            small_batch_inference, f"forward only, the same {INFERENCE_BATCH} patches in batches of {SMALL_INFERENCE_BATCH}"),
    }


def matmul(device: torch.device) -> tuple[Callable[[], None], int]:
    """(one 2048×2048 float32 matmul into a preallocated output, its FLOPs)."""
    generator = torch.Generator(device).manual_seed(1)
    a, b = (torch.randn(MATMUL_SIZE, MATMUL_SIZE, device=device, generator=generator) for _ in range(2))
    out = torch.empty_like(a)
    return lambda: torch.mm(a, b, out=out), 2 * MATMUL_SIZE ** 3


def top_ops(step: Callable[[], None], calls: int, device: torch.device) -> tuple[float, str]:
    """(% of self CPU time in matmul/attention kernels, "op share% (calls), …" for the top ops) of ``calls`` calls."""
    step()  # warm: the profile should not show first-call allocations
    with profile(activities=[ProfilerActivity.CPU]) as profiler:
        for _ in range(calls):
            step()
        synchronize(device)
    events = [event for event in profiler.key_averages() if event.self_cpu_time_total > 0]
    total = sum(event.self_cpu_time_total for event in events)
    in_matmul = sum(event.self_cpu_time_total for event in events if event.key in MATMUL_OPS)
    ranked = sorted(events, key=lambda event: event.self_cpu_time_total, reverse=True)[:TOP_OPS]
    listing = "; ".join(f"{event.key} {100 * event.self_cpu_time_total / total:.1f}% ({event.count // calls}/call)"
                        for event in ranked)
    return 100 * in_matmul / total, listing


def run(options: BenchOptions) -> list[Measurement]:
    device = resolve_device(options.device)
    config = resolve_config("s2former", options.preset)
    shape = f"preset {options.preset} (d={config.dim} L={config.depth} h={config.heads} C0={config.aligned_bands} G={config.spectral_groups})"
    with torch_threads(options.threads):
        torch.manual_seed(0)
        named = steps(config, device)
        flops = {name: counted_flops(step) for name, (step, _) in named.items()}
        peak_step, peak_flops = matmul(device)
        faults: dict[str, list[int]] = {name: [] for name in named}
        times = interleaved({"matmul": peak_step,
                             **{name: with_fault_count(step, faults[name]) for name, (step, _) in named.items()}},
                            options.seconds, device)
    peak = peak_flops / statistics.median(times["matmul"]) / 1e9
    threads = f"{options.threads} thread(s), {device.type}"
    results = [Measurement(BENCHMARK, f"float32 matmul {MATMUL_SIZE}×{MATMUL_SIZE}", peak, "GFLOP/s",
                           detail=f"{threads}; median of {len(times['matmul'])} calls timed in turn with the steps")]
    for name, (_, what) in named.items():
        seconds = statistics.median(times[name])
        achieved = flops[name] / seconds / 1e9
        results += [
            Measurement(BENCHMARK, f"{name}: achieved", achieved, "GFLOP/s",
                        detail=f"{flops[name] / 1e9:.3f} GFLOP counted per call, {seconds * 1e3:.1f} ms (median of "
                               f"{len(times[name])}); {what}; {shape}; {threads}; "
                               f"{statistics.median(faults[name]):,.0f} minor page faults per call"),
            Measurement(BENCHMARK, f"{name}: share of matmul GFLOP/s", 100 * achieved / peak, "%",
                        detail=f"{achieved:.2f} / {peak:.2f} GFLOP/s, same run"),
        ]
    with torch_threads(1):
        for name, calls in PROFILED_CALLS.items():
            calls = calls if options.seconds >= 1 else 1
            share, listing = top_ops(named[name][0], calls, device)
            results.append(Measurement(BENCHMARK, f"{name}: self CPU time in matmul/attention kernels", share, "%",
                                       detail=f"1 thread, {calls} call(s); top ops by self CPU time: {listing}"))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    defaults = BenchOptions()
    parser.add_argument("--preset", default=defaults.preset, help="s2former preset")
    parser.add_argument("--threads", type=int, default=defaults.threads)
    parser.add_argument("--seconds", type=float, default=defaults.seconds, help="minimum timed seconds per step")
    parser.add_argument("--device", default=defaults.device)
    args = parser.parse_args()
    options = BenchOptions(threads=args.threads, seconds=args.seconds, preset=args.preset, device=args.device)
    measured = run(options)
    print(f"{BENCHMARK}: s2former preset {options.preset!r}, {options.threads} thread(s), device {options.device}")
    print(measurement_table([m for m in measured if "kernels" not in m.quantity]))
    for m in measured:
        if "kernels" in m.quantity:
            print(f"\n{m.quantity}: {m.value:.1f}%")
            for entry in m.detail.split(": ", 1)[1].split("; "):
                print(f"  {entry}")


if __name__ == "__main__":
    main()
