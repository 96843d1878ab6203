"""Hardware use: achieved GFLOP/s of S²Former's steps against a large matmul of the same precision, same process.

Run: ``python -m benchmarks.bench_hardware [--preset cpu] [--threads 1] [--seconds 3] [--compile default,freezing]``.

For each step the real loops run — masked pretraining (batch ``pretrain_batch_size``), a DAFT
fine-tuning update (batch ``finetune_batch_size``) and inference (forward only, as
``predict_in_batches`` runs it: eval mode, no autograd, autocast to the precision) at fp32 and at
bf16, of the same 1024 patches in batches of 64, 128, 256 and 512 — the FLOPs of one call are
counted with :class:`torch.utils.flop_counter.FlopCounterMode` (matmuls, linear layers — ATen's and
the oneDNN ones of S²Former's fused inference path — and attention, forward and backward;
elementwise ops, norms, FFTs and the optimizer count nothing, the usual "model FLOPs" convention),
the call is timed, and FLOPs / time is set against the GFLOP/s of a 2048×2048 matmul with the same
thread count *in the step's own dtype*: float32 for training and fp32 inference, bfloat16 for bf16
inference (autocast computes the matrix products in bf16). That is the share of this machine's
practical peak the step reaches. All of them — both matmuls included — are timed in turn (round
robin), so load from elsewhere hits all alike. Targets: inference at the batch size a trial uses
(:func:`hsibench.methods.default_inference_batch_size` for the device and precision) reaches ≥ 50 %
of its precision's matmul peak; the fastest batch size of each precision is reported beside it.
Every step's minor page faults per call are counted: a tensor over glibc's 32 MB mmap ceiling (batch
512's MLP activations are 42 MB, batch 1024's 85 MB) is mapped afresh and faulted in at every call,
kernel time that the op profile books to whichever op first writes it.

Then a profile (torch.profiler, one thread, a few calls per step; inference at both precisions at
their default batch sizes) lists the ops that take the most self CPU time and the share spent in
matmul/attention kernels: everything else (norms, GELU, copies, casts, permutes, the optimizer,
Python) is where a step loses to the matmul.

Last, ``torch.compile`` for full-scene inference (``--compile``; each mode and precision in a fresh
child process with an empty inductor cache, so compile times are a first trial's): the compile time
of the two graphs a scene needs (its batches, then the smaller last batch, which recompiles with
dynamic shapes), the per-pixel time compiled vs eager (interleaved), and the break-even pixel count
``compile seconds / (eager − compiled seconds per pixel)`` — infinite where compiling is not faster.
Mode ``default`` is what S²Former's ``compile = true`` does (``torch.compile(model)``); ``freezing``
sets ``torch._inductor.config.freezing`` (weights folded in as constants, inference only).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import sys
import tempfile
import time
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
from benchmarks.common import PAVIA_CENTRE_SHAPE, BenchOptions, Measurement, check_target, in_child, measurement_table
from hsibench.methods import default_inference_batch_size, resolve_config, resolve_device
from hsibench.methods.s2former.method import S2FormerConfig
from hsibench.methods.training import PrecisionError, autocast, check_precision

BENCHMARK = "hardware use"
BANDS = 103  # Pavia University
MATMUL_SIZE = 2048
#: the inference precisions measured, and the dtype of the matmul each is set against
PRECISIONS = {"fp32": torch.float32, "bf16": torch.bfloat16}
MATMUL_NAMES = {"fp32": "float32", "bf16": "bfloat16"}
INFERENCE_PATCHES = 1024  # patches inferred per timed call, in batches of each of INFERENCE_BATCHES
INFERENCE_BATCHES = (64, 128, 256, 512)
TARGET_SHARE = 50.0  # % of the same precision's matmul GFLOP/s
#: calls profiled per step (after one unprofiled call); one inference call of 1024 patches is plenty. Collecting
#: the profile's events costs about a second per training step, so a quick run (``seconds`` < 1) profiles one call.
PROFILED_CALLS = {"pretraining step": 3, "DAFT step": 3, "inference fp32": 1, "inference bf16": 1}
TOP_OPS = 8
#: torch.compile modes measured by default (see the module docstring)
COMPILE_MODES = ("default", "freezing")
COMPILE_PATCHES = 1024  # patches per timed call of the compile comparison
PAVIA_CENTRE_PIXELS = PAVIA_CENTRE_SHAPE[0] * PAVIA_CENTRE_SHAPE[1]
aten = torch.ops.aten


def _attention_flops(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
    return sdpa_flop_count(query_shape, key_shape, value_shape)


def _attention_backward_flops(grad_out_shape, query_shape, key_shape, value_shape, *args, out_shape=None,
                              **kwargs) -> int:
    return sdpa_backward_flop_count(grad_out_shape, query_shape, key_shape, value_shape)


def _linear_pointwise_flops(input_shape, *args, out_shape=None, **kwargs) -> int:
    """oneDNN linear (+ fused bias/GELU/add, which count nothing, as addmm's bias does not): 2·rows·in·out.

    FlopCounterMode looks kernels up by op, not overload: ``(X, W, B, attr, scalars, algorithm)`` is the plain one,
    ``(X, other, W, B, attr)`` the one with a fused binary op.
    """
    weight_shape = args[0] if isinstance(args[2], str) else args[1]
    return 2 * math.prod(input_shape[:-1]) * weight_shape[0] * weight_shape[1]


#: kernels FlopCounterMode does not know: the CPU ones of scaled_dot_product_attention (it counts the CUDA ones) and
#: oneDNN's fused linear layers (S²Former's fused CPU inference path); FlopCounterMode passes tensor shapes to these
CPU_KERNEL_FLOPS = {
    aten._scaled_dot_product_flash_attention_for_cpu: _attention_flops,
    aten._scaled_dot_product_flash_attention_for_cpu_backward: _attention_backward_flops,
}
if hasattr(torch.ops.mkldnn, "_linear_pointwise"):
    CPU_KERNEL_FLOPS[torch.ops.mkldnn._linear_pointwise] = _linear_pointwise_flops
#: ops whose self time is arithmetic the matmul benchmark measures the peak of
MATMUL_OPS = {"aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm", "aten::_scaled_dot_product_flash_attention_for_cpu",
              "aten::_scaled_dot_product_flash_attention_for_cpu_backward", "mkldnn::_linear_pointwise"}


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
    with FlopCounterMode(display=False, custom_mapping=CPU_KERNEL_FLOPS) as counter:
        step()
    return counter.get_total_flops()


def inference_name(precision: str, batch: int) -> str:
    return f"inference {precision}, batches of {batch}"


def inference_step(predictor: torch.nn.Module, patches: torch.Tensor, batch: int, precision: str,
                   device: torch.device) -> Callable[[], None]:
    """``patches`` predicted in batches of ``batch`` as ``predict_in_batches`` does (autocast per batch)."""
    @torch.no_grad()
    def call() -> None:
        for start in range(0, len(patches), batch):
            with autocast(device, precision):
                predictor(patches[start: start + batch])
    return call


def runnable_precisions(device: torch.device) -> dict[str, torch.dtype]:
    """The precisions of :data:`PRECISIONS` that trials may run on ``device`` (training's own check): bf16 only on a
    GPU with it or a CPU with amx_bf16/avx512_bf16, so an AVX2-only CPU is measured at fp32 instead of failing."""
    runnable = {}
    for precision, dtype in PRECISIONS.items():
        try:
            check_precision(precision, device)
        except PrecisionError:
            continue
        runnable[precision] = dtype
    return runnable


def steps(config: S2FormerConfig, device: torch.device) -> dict[str, tuple[Callable[[], None], str, str]]:
    """name → (one call of the step, what it is, its precision), on random patches of Pavia University's band count."""
    generator = torch.Generator(device).manual_seed(0)
    patches = lambda n: torch.randn(n, PATCH, PATCH, BANDS, device=device, generator=generator)
    pretraining_batch, daft_batch = patches(config.pretrain_batch_size), patches(config.finetune_batch_size)
    labels = torch.randint(CLASSES, (config.finetune_batch_size,), device=device, generator=generator)
    inference_patches = patches(INFERENCE_PATCHES)
    pretrain = pretraining_step(pretraining_model(config, BANDS).to(device), config)
    daft = daft_step(classifier(config, BANDS).to(device), config)
    predictor = classifier(config, BANDS).to(device).eval()
    named = {
        "pretraining step": (lambda: pretrain(pretraining_batch),
                             f"masked pretraining + FDC, forward + backward + AdamW, batch {config.pretrain_batch_size}",
                             "fp32"),
        "DAFT step": (lambda: daft(daft_batch, labels),
                      f"CE + noised student + EMA teacher, backward, AdamW, EMA, batch {config.finetune_batch_size}",
                      "fp32"),
    }
    for precision in runnable_precisions(device):
        for batch in INFERENCE_BATCHES:
            named[inference_name(precision, batch)] = (
                inference_step(predictor, inference_patches, batch, precision, device),
                f"forward only, {INFERENCE_PATCHES} patches in batches of {batch}, {precision}", precision)
    return named


def profiled_batch(default: int) -> int:
    """The measured batch size an inference profile runs at: the default one, else the nearest measured."""
    return min(INFERENCE_BATCHES, key=lambda batch: (abs(batch - default), batch))


def matmul(device: torch.device, dtype: torch.dtype = torch.float32) -> tuple[Callable[[], None], int]:
    """(one 2048×2048 matmul of ``dtype`` into a preallocated output, its FLOPs)."""
    generator = torch.Generator(device).manual_seed(1)
    a, b = (torch.randn(MATMUL_SIZE, MATMUL_SIZE, device=device, generator=generator).to(dtype) for _ in range(2))
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


def break_even_pixels(compile_seconds: float, eager_seconds_per_pixel: float, compiled_seconds_per_pixel: float) -> float:
    """Pixels after which compiling has paid for itself; infinite when the compiled model is not faster."""
    saved = eager_seconds_per_pixel - compiled_seconds_per_pixel
    return compile_seconds / saved if saved > 0 else math.inf


def run(options: BenchOptions, compile_modes: tuple[str, ...] = COMPILE_MODES) -> list[Measurement]:
    device = resolve_device(options.device)
    config = resolve_config("s2former", options.preset)
    shape = f"preset {options.preset} (d={config.dim} L={config.depth} h={config.heads} C0={config.aligned_bands} G={config.spectral_groups})"
    precisions = runnable_precisions(device)
    defaults = {precision: default_inference_batch_size(device, precision) for precision in precisions}
    with torch_threads(options.threads):
        torch.manual_seed(0)
        named = steps(config, device)
        flops = {name: counted_flops(step) for name, (step, _, _) in named.items()
                 if not name.startswith("inference ")}
        for precision in precisions:  # the same FLOPs at every batch size: counted once
            counted = counted_flops(named[inference_name(precision, INFERENCE_BATCHES[0])][0])
            flops.update({inference_name(precision, batch): counted for batch in INFERENCE_BATCHES})
        peaks = {precision: matmul(device, dtype) for precision, dtype in precisions.items()}
        faults: dict[str, list[int]] = {name: [] for name in named}
        times = interleaved({**{f"matmul {precision}": step for precision, (step, _) in peaks.items()},
                             **{name: with_fault_count(step, faults[name]) for name, (step, _, _) in named.items()}},
                            options.seconds, device)
    peak = {precision: flops_ / statistics.median(times[f"matmul {precision}"]) / 1e9
            for precision, (_, flops_) in peaks.items()}
    threads = f"{options.threads} thread(s), {device.type}"
    results = [Measurement(BENCHMARK, f"{MATMUL_NAMES[precision]} matmul {MATMUL_SIZE}×{MATMUL_SIZE}", peak[precision],
                           "GFLOP/s", detail=f"{threads}; median of {len(times[f'matmul {precision}'])} calls timed in "
                                             f"turn with the steps")
               for precision in precisions]
    achieved: dict[str, float] = {}
    for name, (_, what, precision) in named.items():
        seconds = statistics.median(times[name])
        achieved[name] = flops[name] / seconds / 1e9
        against = f"{precision} matmul" if name.startswith("inference ") else "matmul"  # training: fp32, as before
        results += [
            Measurement(BENCHMARK, f"{name}: achieved", achieved[name], "GFLOP/s",
                        detail=f"{flops[name] / 1e9:.3f} GFLOP counted per call, {seconds * 1e3:.1f} ms (median of "
                               f"{len(times[name])}); {what}; {shape}; {threads}; "
                               f"{statistics.median(faults[name]):,.0f} minor page faults per call"),
            Measurement(BENCHMARK, f"{name}: share of {against} GFLOP/s", 100 * achieved[name] / peak[precision], "%",
                        detail=f"{achieved[name]:.2f} / {peak[precision]:.2f} GFLOP/s, same run"),
        ]
    for precision in precisions:
        by_batch = {batch: achieved[inference_name(precision, batch)] for batch in INFERENCE_BATCHES}
        listing = ", ".join(f"{batch}: {gflops:.1f}" for batch, gflops in by_batch.items())
        batch = profiled_batch(defaults[precision])
        share = 100 * by_batch[batch] / peak[precision]
        results += [
            Measurement(BENCHMARK, f"inference {precision}: share of {precision} matmul GFLOP/s", share, "%",
                        *check_target(share, at_least=TARGET_SHARE),
                        f"batches of {batch} (default_inference_batch_size for {device.type}, {precision}: "
                        f"{defaults[precision]}): {by_batch[batch]:.2f} / {peak[precision]:.2f} GFLOP/s of a "
                        f"{MATMUL_NAMES[precision]} matmul, same run"),
            Measurement(BENCHMARK, f"inference {precision}: fastest batch size", max(by_batch, key=by_batch.get),
                        "patches", detail=f"GFLOP/s by batch size: {listing}; default {defaults[precision]}"),
        ]
    with torch_threads(1):
        for name, calls in PROFILED_CALLS.items():
            calls = calls if options.seconds >= 1 else 1
            if name.startswith("inference "):
                precision = name.split()[1]
                if precision not in precisions:
                    continue
                step, what, _ = named[inference_name(precision, profiled_batch(defaults[precision]))]
            else:
                step, what, _ = named[name]
            share, listing = top_ops(step, calls, device)
            results.append(Measurement(BENCHMARK, f"{name}: self CPU time in matmul/attention kernels", share, "%",
                                       detail=f"1 thread, {calls} call(s) of {what}; top ops by self CPU time: {listing}"))
    for mode in compile_modes:
        for precision in precisions:
            results += compile_measurements(options, mode, precision, defaults[precision])
    return results


# ----------------------------------------------------------------------------------- torch.compile, in a child
def compile_in_this_process(preset: str, precision: str, mode: str, threads: int, batch: int, patches: int,
                            seconds: float) -> dict:
    """One child's work: compile the classifier (empty inductor cache), time it against eager, per pixel."""
    with tempfile.TemporaryDirectory(prefix="hsibench-inductor-", ignore_cleanup_errors=True) as cache:
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = cache  # empty: a first trial's compile
        return _compile_comparison(preset, precision, mode, threads, batch, patches, seconds)


def _compile_comparison(preset: str, precision: str, mode: str, threads: int, batch: int, patches: int,
                        seconds: float) -> dict:
    if mode == "freezing":
        import torch._inductor.config as inductor_config

        inductor_config.freezing = True
    elif mode != "default":
        raise ValueError(f"unknown compile mode {mode!r}; choose from {COMPILE_MODES}")
    torch.set_num_threads(threads)
    device = torch.device("cpu")
    torch.manual_seed(0)
    model = classifier(resolve_config("s2former", preset), BANDS).eval()
    compiled = torch.compile(model)
    data = torch.randn(patches, PATCH, PATCH, BANDS)
    tail = max(1, batch // 3)  # a scene's last, smaller batch: a second (dynamic-shape) graph

    def forward(module: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad(), autocast(device, precision):
            return module(x)

    first = [time.perf_counter()]
    forward(compiled, data[:batch])
    first.append(time.perf_counter())
    forward(compiled, data[:tail])
    first.append(time.perf_counter())
    eager_out, compiled_out = forward(model, data[:batch]), forward(compiled, data[:batch])
    steps_ = {"eager": inference_step(model, data, batch, precision, device),
              "compiled": inference_step(compiled, data, batch, precision, device)}
    times = interleaved(steps_, seconds, device, minimum_calls=3, lockstep=True)
    steady = {size: min(timed_call(lambda x=data[:size]: forward(compiled, x)) for _ in range(3)) for size in (batch, tail)}
    return {
        "compile_s": (first[1] - first[0] - steady[batch]) + (first[2] - first[1] - steady[tail]),
        "eager_px_s": statistics.median(times["eager"]) / patches,
        "compiled_px_s": statistics.median(times["compiled"]) / patches,
        "calls": len(times["eager"]), "batch": batch, "tail": tail,
        "max_abs_diff": float((eager_out.float() - compiled_out.float()).abs().max()),
        "argmax_agreement": float((eager_out.argmax(1) == compiled_out.argmax(1)).float().mean()),
    }


def timed_call(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def compile_measurements(options: BenchOptions, mode: str, precision: str, batch: int) -> list[Measurement]:
    """The compile figures of one mode and precision, measured in a fresh child process."""
    done = in_child("bench_hardware", {"preset": options.preset, "precision": precision, "mode": mode,
                                       "threads": options.threads, "batch": batch, "patches": COMPILE_PATCHES,
                                       "seconds": options.seconds})
    pixels = break_even_pixels(done["compile_s"], done["eager_px_s"], done["compiled_px_s"])
    ratio = done["compiled_px_s"] / done["eager_px_s"]
    where = f"torch.compile ({mode}) {precision}"
    setting = (f"preset {options.preset}, {options.threads} thread(s), batches of {done['batch']} (+ a last batch of "
               f"{done['tail']}), empty inductor cache")
    pays = ("never: the compiled model is not faster" if math.isinf(pixels) else
            f"{'within' if pixels <= PAVIA_CENTRE_PIXELS else 'beyond'} one Pavia Centre scene "
            f"({PAVIA_CENTRE_PIXELS:,} px)")
    return [
        Measurement(BENCHMARK, f"{where}: compile seconds", done["compile_s"], "s",
                    detail=f"first call of both graphs minus their steady time; {setting}"),
        Measurement(BENCHMARK, f"{where}: compiled / eager seconds per pixel", ratio, "×",
                    detail=f"{done['compiled_px_s'] * 1e3:.3f} vs {done['eager_px_s'] * 1e3:.3f} ms/px, medians of "
                           f"{done['calls']} interleaved calls of {COMPILE_PATCHES} patches; logits differ by ≤ "
                           f"{done['max_abs_diff']:.1e}, arg-max agrees on {100 * done['argmax_agreement']:.1f}%"),
        Measurement(BENCHMARK, f"{where}: break-even pixels", pixels, "px",
                    detail=f"compile seconds / (eager − compiled s/px); {pays}"),
    ]


def main() -> None:
    if len(sys.argv) == 2 and sys.argv[1].startswith("{"):  # a compile child: JSON arguments in, JSON out
        print(json.dumps(compile_in_this_process(**json.loads(sys.argv[1]))))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    defaults = BenchOptions()
    parser.add_argument("--preset", default=defaults.preset, help="s2former preset")
    parser.add_argument("--threads", type=int, default=defaults.threads)
    parser.add_argument("--seconds", type=float, default=defaults.seconds, help="minimum timed seconds per step")
    parser.add_argument("--device", default=defaults.device)
    parser.add_argument("--compile", default=",".join(COMPILE_MODES),
                        help="torch.compile modes to measure, comma-separated (default, freezing), or 'none'")
    args = parser.parse_args()
    options = BenchOptions(threads=args.threads, seconds=args.seconds, preset=args.preset, device=args.device)
    modes = () if args.compile == "none" else tuple(m for m in args.compile.split(",") if m)
    measured = run(options, compile_modes=modes)
    print(f"{BENCHMARK}: s2former preset {options.preset!r}, {options.threads} thread(s), device {options.device}")
    print(measurement_table([m for m in measured if "kernels" not in m.quantity]))
    for m in measured:
        if "kernels" in m.quantity:
            print(f"\n{m.quantity}: {m.value:.1f}%")
            for entry in m.detail.split(": ", 1)[1].split("; "):
                print(f"  {entry}")


if __name__ == "__main__":
    main()
