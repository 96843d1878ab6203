"""The prepared GPU check: one short script a machine with a GPU runs as is (well under 8 minutes on an H100).

Run: ``bash benchmarks/gpu_check.sh OUT_DIR`` (or ``python -m benchmarks.gpu_check OUT_DIR``). It needs
neither Ray nor the network, and writes ``OUT_DIR/gpu_check.md`` and ``OUT_DIR/gpu_check.json``
after every section, so a run cut short still leaves what it measured. Steps:

1. device report (torch, CUDA, device name, capability, bf16); without CUDA it stops with exit
   code 2, unless ``--allow-cpu`` (then everything runs on the CPU, which is how it is tested);
2. agreement: S²Former (``cpu`` preset, seed 0, eval mode) on a fixed batch of scene patches,
   logits on the CPU in fp32 vs on the device in fp32 and in every reduced precision it offers (bf16, and fp16 on
   CUDA; relative error = max |Δlogit| / max |logit|, and the share of equal arg-maxes);
3. throughput (samples/s, ``paper`` preset, 9×9 patches of the PU-sized scene) of inference, a
   cross-entropy training step, a DAFT step and a masked pretraining step, at each precision the device offers
   (``--precision`` of a trial: fp32, bf16, fp16 on CUDA; bf16 on a CPU with amx_bf16/avx512_bf16), and each
   reduced precision's speed-up over fp32; inference through ``predict_in_batches`` (gather + pinned asynchronous
   copy + model);
4. one ``paper``-preset pretraining epoch on the Pavia-University-sized scene (every one of its
   207,400 pixels at batch 256), through the method's own ``prepare`` — the time a user gets;
5. ``torch.compile`` on/off for inference and a training step (compile time separately; a failed
   compile is a row, never a crash), as long as the time budget leaves room.

Exit code: 0 when every check with a target is met, 1 when one is not, 2 without CUDA.
``--tiny`` shrinks every measurement (a few steps, a 256-pixel "epoch") so the script itself can be
tested on the CPU in seconds.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tabulate import tabulate
from torch import nn

from benchmarks.common import Measurement, default_mirror, real_sized
from hsibench.data import Scene
from hsibench.data.synthetic import SyntheticSpec, generate_scene
from hsibench.methods import RunContext, create_method, resolve_config
from hsibench.methods.optimization import gradient_scaler
from hsibench.methods.s2former.band_alignment import LinearBandAdapter
from hsibench.methods.s2former.daft import DiffusionAlignment, EMATeacher
from hsibench.methods.s2former.method import encoder_shape
from hsibench.methods.s2former.model import DecoderShape, S2Former, S2FormerEncoder, S2FormerMaskedAutoencoder
from hsibench.methods.training import PrecisionError, autocast, check_precision, choose_precision, predict_in_batches
from hsibench.protocol import Domain, build_source_domain, load_protocol

#: the Pavia-University-sized scene: the real 610×340 map, 103 bands, 9 classes
PU_SHAPE, PU_CLASSES = (610, 340, 103), 9
#: the protocol whose source is Pavia University: patch size 9, zero padding, scene z-score
PROTOCOL = "pu2pc"
EXIT_FAILED_CHECK, EXIT_NO_CUDA = 1, 2


@dataclass(frozen=True)
class Settings:
    """Sizes of every measurement; ``full`` is the GPU run, ``tiny`` the seconds-long CPU test."""

    seconds: float  # timed seconds per throughput figure
    train_batch: int  # CE, DAFT and pretraining steps (the paper's pretraining batch)
    inference_batch: int  # RunContext.inference_batch_size
    agreement_pixels: int
    pretrain_overrides: tuple[tuple[str, object], ...]  # on top of the paper preset
    budget_s: float  # compile measurements start only while this much wall time is not spent
    compile_reserve_s: float  # ... and at least this much of it is left
    compile_backend: str  # "inductor" (torch's default), "eager" (tracing only) or "none"

    @staticmethod
    def full(budget_s: float, compile_backend: str) -> Settings:
        return Settings(3.0, 256, 1024, 512, (("pretrain_steps", None), ("pretrain_epochs", 1)), budget_s, 90.0,
                        compile_backend)

    @staticmethod
    def tiny(budget_s: float, compile_backend: str) -> Settings:
        overrides = (("pretrain_steps", None), ("pretrain_epochs", 1), ("pretrain_samples", 128),
                     ("pretrain_batch_size", 32))
        return Settings(0.1, 8, 16, 32, overrides, budget_s, 0.0, compile_backend)


class Report:
    """Rows of the check, written to ``gpu_check.md`` / ``gpu_check.json`` after every section."""

    def __init__(self, out_dir: Path, device_info: dict, settings: Settings) -> None:
        self.out_dir, self.device_info, self.settings = out_dir, device_info, settings
        self.rows: list[Measurement] = []
        self.notes: list[str] = []
        self.started = time.perf_counter()

    def add(self, section: str, quantity: str, value: float, unit: str = "", target: str = "",
            met: bool | None = None, detail: str = "") -> Measurement:
        row = Measurement(section, quantity, float(value), unit, target, met, detail)
        self.rows.append(row)
        print(f"  {section:<12} {quantity:<58} {format_value(row):>12} {unit:<10} {detail}", flush=True)
        return row

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"  note: {text}", flush=True)

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def failed(self) -> list[Measurement]:
        return [row for row in self.rows if row.met is False]

    def table(self) -> str:
        rows = [[row.benchmark, row.quantity, format_value(row), row.unit, row.target,
                 "" if row.met is None else ("yes" if row.met else "**NO**"), row.detail] for row in self.rows]
        return tabulate(rows, headers=["section", "quantity", "value", "unit", "target", "met", "detail"],
                        tablefmt="github", disable_numparse=True)

    def markdown(self) -> str:
        info = self.device_info
        lines = [f"# S²Former GPU check — {info['name']}", "",
                 f"{info['date']} · torch {info['torch']} · CUDA {info['cuda_version'] or '-'} · "
                 f"device `{info['device']}` · capability {info['capability']} · bf16 {info['bf16']} · "
                 f"precisions {info['precisions']} · fp32 matmul precision {info['float32_matmul_precision']} · "
                 f"{info['cpu_threads']} CPU thread(s) · {self.elapsed():.0f} s", ""]
        lines += [f"- {note}" for note in self.notes]
        return "\n".join([*lines, "", self.table(), ""])

    def write(self) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        (self.out_dir / "gpu_check.md").write_text(self.markdown())
        data = {"device": self.device_info, "settings": asdict(self.settings), "notes": self.notes,
                "elapsed_s": round(self.elapsed(), 2),
                "rows": [{**row.as_dict(), "value": None if math.isnan(row.value) else row.value} for row in self.rows]}
        (self.out_dir / "gpu_check.json").write_text(json.dumps(data, indent=2, default=str) + "\n")


def format_value(row: Measurement) -> str:
    if math.isnan(row.value):
        return "—"
    if row.unit in ("samples/s", "px/s", "MiB"):
        return f"{row.value:,.0f}"
    if row.unit == "relative":
        return f"{row.value:.2e}"
    if row.unit in ("s", "min", "%"):
        return f"{row.value:.2f}"
    return f"{row.value:g}"


# ---------------------------------------------------------------------------------------------- device
def device_report(device: torch.device) -> dict:
    info = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "torch": torch.__version__,
            "cuda_available": torch.cuda.is_available(), "cuda_version": torch.version.cuda, "device": str(device),
            "python": platform.python_version(), "cpu_threads": torch.get_num_threads(),
            "float32_matmul_precision": torch.get_float32_matmul_precision()}
    if device.type == "cuda":
        properties = torch.cuda.get_device_properties(device)
        bf16 = torch.cuda.is_bf16_supported()
        info.update(name=torch.cuda.get_device_name(device), capability=f"{properties.major}.{properties.minor}",
                    memory_gib=round(properties.total_memory / 2**30, 1), bf16=bf16,
                    precisions=", ".join(precisions(device)), device_count=torch.cuda.device_count())
    else:
        info.update(name=f"CPU ({platform.machine()}), {torch.get_num_threads()} thread(s)", capability="-",
                    bf16="bf16" in precisions(device), precisions=", ".join(precisions(device)))
    return info


def precisions(device: torch.device) -> tuple[str, ...]:
    """fp32 and every reduced precision a trial may ask for on ``device`` (the runner's own check decides)."""
    offered = []
    for precision in ("fp32", "bf16", "fp16"):
        try:
            check_precision(precision, device)
        except PrecisionError:
            continue
        offered.append(precision)
    return tuple(offered)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def throughput(step: Callable[[], object], items: int, seconds: float, device: torch.device, warmup: int = 2) -> float:
    """Items per second of ``step`` over at least ``seconds`` (and 2 calls), after ``warmup`` calls; CUDA-synchronised."""
    for _ in range(warmup):
        step()
    synchronize(device)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds or count < 2:
        step()
        count += 1
    synchronize(device)
    return count * items / (time.perf_counter() - start)


# ---------------------------------------------------------------------------------------------- data and models
def pu_sized_scene(report: Report) -> Scene:
    """Real PU ground truth (mirror files) with generated spectra; a generated 610×340×103 scene without the mirror."""
    mirror = default_mirror()
    if mirror.is_dir():
        try:
            scene = real_sized("pu", mirror)
            report.note(f"scene: the real Pavia University ground-truth map (610×340) from {mirror}, "
                        "generated 103-band spectra")
            return scene
        except Exception as error:  # a mirror without PaviaU_gt.mat, an unreadable file: measure anyway
            reason = f"{type(error).__name__}: {error}"
    else:
        reason = f"the mirror {mirror} does not exist (set HSIBENCH_MIRROR)"
    height, width, bands = PU_SHAPE
    spec = SyntheticSpec(height=height, width=width, bands=bands, num_classes=PU_CLASSES, layout_seed=9)
    report.note(f"scene: GENERATED 610×340×103 scene (hsibench.data.synthetic) because {reason}; "
                "sizes, and so timings, are those of Pavia University")
    return generate_scene("pu-sized-generated", spec)


def classifier(preset: str, domain: Domain, device: torch.device, seed: int = 0) -> S2Former:
    """S²Former of ``preset`` for ``domain``'s bands and patch size, initialised from ``seed``."""
    config = resolve_config("s2former", preset)
    torch.manual_seed(seed)
    encoder = S2FormerEncoder(encoder_shape(config, domain.patches.patch_size))
    return S2Former(LinearBandAdapter(domain.bands, config.aligned_bands), encoder, PU_CLASSES).to(device)


def seeded_patches(domain: Domain, count: int, seed: int) -> torch.Tensor:
    coords = domain.patches.all_coords()
    chosen = np.sort(np.random.default_rng(seed).choice(len(coords), count, replace=False))
    return domain.patches.gather(coords[chosen])


# ---------------------------------------------------------------------------------------------- sections
def check_agreement(report: Report, domain: Domain, device: torch.device, settings: Settings) -> None:
    """CPU fp32 logits vs device fp32 and device autocast logits, same weights, same batch."""
    model = classifier("cpu", domain, torch.device("cpu")).eval()
    patches = seeded_patches(domain, settings.agreement_pixels, seed=1)
    with torch.no_grad():
        reference = model(patches)
        on_device = copy.deepcopy(model).to(device)
        fp32 = on_device(patches.to(device)).float().cpu()
        reduced = {}
        for precision in precisions(device)[1:]:
            with autocast(device, precision):
                reduced[precision] = on_device(patches.to(device)).float().cpu()
    scale = reference.abs().max().clamp_min(1e-12)
    where = f"{len(patches)} patches, cpu preset, seed 0, eval"
    compared = [("fp32", fp32, 1e-3, 99.0)] + [(precision, logits, 5e-2, None) for precision, logits in reduced.items()]
    for label, logits, rel_bound, argmax_bound in compared:
        error = float((logits - reference).abs().max() / scale)
        agree = float((logits.argmax(1) == reference.argmax(1)).float().mean() * 100)
        report.add("agreement", f"CPU fp32 vs {device.type} {label}: max relative error of logits", error, "relative",
                   f"≤ {rel_bound:g}", error <= rel_bound, f"max|Δlogit| / max|logit|; {where}")
        report.add("agreement", f"CPU fp32 vs {device.type} {label}: equal arg-max", agree, "%",
                   f"≥ {argmax_bound:g}" if argmax_bound else "",
                   (agree >= argmax_bound) if argmax_bound else None,
                   f"random weights: near-tied logits may flip under {label}" if label != "fp32" else "")


def training_step(model: nn.Module, loss_of: Callable[[], torch.Tensor], device: torch.device, precision: str
                  ) -> Callable[[], None]:
    """One AdamW update as fine-tuning/pretraining do it: autocast, a GradScaler where fp16 needs one."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    scaler = gradient_scaler(device, precision)

    def step() -> None:
        with autocast(device, precision):
            loss = loss_of()
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()

    return step


def inference_step(model: nn.Module, patches: torch.Tensor, device: torch.device, precision: str) -> Callable[[], None]:
    @torch.no_grad()
    def step() -> None:
        with autocast(device, precision):
            model(patches)

    return step


def measure_throughput(report: Report, domain: Domain, device: torch.device, settings: Settings) -> dict[str, float]:
    """Eager samples/s per (step, precision); returns them for the compile speed-ups."""
    config = resolve_config("s2former", "paper")
    train_patches = seeded_patches(domain, settings.train_batch, seed=2).to(device)
    inference_patches = seeded_patches(domain, settings.inference_batch, seed=3).to(device)
    labels = torch.randint(PU_CLASSES, (settings.train_batch,), generator=torch.Generator().manual_seed(0)).to(device)
    alignment = DiffusionAlignment(config.daft_steps, config.daft_align)
    mask_generator = torch.Generator().manual_seed(1)
    coords = domain.patches.all_coords()[: settings.inference_batch * 8]
    rates: dict[str, float] = {}
    for precision in precisions(device):
        model = classifier("paper", domain, device)
        teacher = EMATeacher(model, config.daft_momentum)
        autoencoder = S2FormerMaskedAutoencoder(
            LinearBandAdapter(domain.bands, config.aligned_bands), S2FormerEncoder(encoder_shape(config, domain.patches.patch_size)), domain.bands,
            DecoderShape(config.decoder_dim, config.decoder_depth, config.decoder_heads)).to(device).train()

        def daft_loss(model: nn.Module = model, teacher: EMATeacher = teacher) -> torch.Tensor:
            loss = F.cross_entropy(model(train_patches).float(), labels) + config.daft_weight * alignment(
                model, teacher, train_patches)
            teacher.update(model)
            return loss

        def pretrain_loss(autoencoder: nn.Module = autoencoder) -> torch.Tensor:
            return autoencoder(train_patches, config.mask_ratio, config.spectral_mask_ratio, mask_generator,
                               config.fdc_weight, config.fdc_cutoff, config.fdc_axes)["loss"]

        model.eval()
        rates[f"inference {precision}"] = throughput(inference_step(model, inference_patches, device, precision),
                                                     settings.inference_batch, settings.seconds, device)
        end_to_end = lambda model=model, precision=precision: predict_in_batches(
            model, domain, coords, device, settings.inference_batch, precision)
        rates[f"predict_in_batches {precision}"] = throughput(end_to_end, len(coords), settings.seconds, device, warmup=1)
        model.train()
        ce_loss = lambda model=model: F.cross_entropy(model(train_patches).float(), labels)
        rates[f"CE training step {precision}"] = throughput(training_step(model, ce_loss, device, precision),
                                                            settings.train_batch, settings.seconds, device)
        rates[f"DAFT step {precision}"] = throughput(training_step(model, daft_loss, device, precision),
                                                     settings.train_batch, settings.seconds, device)
        rates[f"pretraining step {precision}"] = throughput(training_step(autoencoder, pretrain_loss, device, precision),
                                                            settings.train_batch, settings.seconds, device)
        batches = {"inference": settings.inference_batch, "predict_in_batches": settings.inference_batch}
        for name in ("inference", "predict_in_batches", "CE training step", "DAFT step", "pretraining step"):
            detail = f"batch {batches.get(name, settings.train_batch)}"
            if name == "predict_in_batches":
                detail += f"; {len(coords)} scene pixels: gather + pinned non-blocking copy + model"
            if name == "DAFT step":
                detail += "; CE + noised student pass + EMA teacher pass + teacher update"
            report.add("throughput", f"{name}, {precision}, eager", rates[f"{name} {precision}"], "samples/s",
                       detail=detail)
        report.write()
    for precision in precisions(device)[1:]:  # what a trial gains from --precision, per step
        for name in ("inference", "predict_in_batches", "CE training step", "DAFT step", "pretraining step"):
            report.add("throughput", f"{name}: {precision} / fp32", rates[f"{name} {precision}"] / rates[f"{name} fp32"],
                       "×", detail="eager, same model and batch")
    report.write()
    if device.type == "cuda":
        check_cuda_in_use(report, model, inference_patches, device)
    return rates


def check_cuda_in_use(report: Report, model: nn.Module, patches: torch.Tensor, device: torch.device) -> None:
    model.eval()
    with torch.no_grad():
        output = model(patches)
    parameters_on_cuda = all(parameter.is_cuda for parameter in model.parameters())
    peak = torch.cuda.max_memory_allocated(device) / 2**20
    used = parameters_on_cuda and output.is_cuda and peak > 0
    report.add("device", "CUDA in use: parameters and outputs on the GPU, peak memory", peak, "MiB", "on cuda", used,
               f"parameters on cuda: {parameters_on_cuda}; output on {output.device}")


def pretraining_epoch(report: Report, domain: Domain, device: torch.device, settings: Settings) -> None:
    """One paper-preset epoch through S2FormerMethod.prepare (cache in a temporary folder), timed end to end."""
    overrides = dict(settings.pretrain_overrides)
    config = resolve_config("s2former", "paper", overrides)
    pixels = len(domain.patches.all_coords()) if config.pretrain_samples is None else config.pretrain_samples
    epoch_ends: list[float] = []
    precision = choose_precision("auto", device.type)  # what a trial on this device computes in by default
    with tempfile.TemporaryDirectory(prefix="gpu-check-cache-") as cache:
        context = RunContext(seed=0, device=device, cache_dir=Path(cache), precision=precision,
                             progress=lambda **_: epoch_ends.append(time.perf_counter()))
        method = create_method("s2former", context, preset="paper", overrides=overrides)
        synchronize(device)
        start = time.perf_counter()
        method.prepare(domain)
        synchronize(device)
        seconds = time.perf_counter() - start
    record = method.pretrained["record"] if method.pretrained else {}
    steps = math.ceil(pixels / config.pretrain_batch_size)
    what = (f"paper preset, {pixels:,} px of the {domain.shape[0]}×{domain.shape[1]} scene, batch "
            f"{config.pretrain_batch_size} ({steps} updates), {precision}")
    report.add("pretraining", "one pretraining epoch: wall time of prepare()", seconds, "s",
               detail=f"{what}; includes model build, 2 evaluation passes and the cache write")
    report.add("pretraining", "pretraining throughput over that epoch", pixels / seconds, "px/s",
               detail=f"reconstruction loss {record.get('initial_loss', math.nan):.4f} → {record.get('final_loss', math.nan):.4f}")
    paper = resolve_config("s2former", "paper")  # its budget: pretrain_steps updates of pretrain_batch_size samples
    paper_samples = paper.pretrain_steps * paper.pretrain_batch_size
    report.add("pretraining", f"estimate: paper pretraining ({paper.pretrain_steps:,} updates × {paper.pretrain_batch_size})",
               seconds / pixels * paper_samples / 60, "min", detail="extrapolated from this epoch's time per sample" +
               ("" if pixels == len(domain.patches.all_coords()) else " (a --tiny sample: a rough figure)"))
    report.write()


def measure_compile(report: Report, domain: Domain, device: torch.device, settings: Settings,
                    eager: dict[str, float]) -> None:
    """torch.compile'd inference and CE training step, reduced precisions first; rows skipped once the budget runs short."""
    if settings.compile_backend == "none":
        report.note("torch.compile not measured (--compile-backend none)")
        return
    labels = torch.randint(PU_CLASSES, (settings.train_batch,), generator=torch.Generator().manual_seed(0)).to(device)
    train_patches = seeded_patches(domain, settings.train_batch, seed=2).to(device)
    inference_patches = seeded_patches(domain, settings.inference_batch, seed=3).to(device)
    for precision in precisions(device)[::-1]:  # reduced precisions first: what CUDA runs use by default
        for name in ("inference", "CE training step"):
            quantity = f"{name}, {precision}, torch.compile (backend {settings.compile_backend})"
            left = settings.budget_s - report.elapsed()
            if left < settings.compile_reserve_s:
                report.add("compile", quantity, math.nan, "samples/s",
                           detail=f"skipped: {left:.0f} s of the {settings.budget_s:.0f} s budget left")
                continue
            try:
                torch._dynamo.reset()  # every compile from scratch, and no recompile limit carried over
                model = classifier("paper", domain, device)
                compiled = torch.compile(model, backend=settings.compile_backend)
                if name == "inference":
                    model.eval()
                    step, items = inference_step(compiled, inference_patches, device, precision), settings.inference_batch
                else:
                    model.train()
                    loss = lambda compiled=compiled: F.cross_entropy(compiled(train_patches).float(), labels)
                    step, items = training_step(compiled, loss, device, precision), settings.train_batch
                synchronize(device)
                start = time.perf_counter()
                step()  # the first call compiles
                synchronize(device)
                compile_seconds = time.perf_counter() - start
                rate = throughput(step, items, settings.seconds, device)
            except Exception as error:  # a compiler missing or failing on this machine is a finding, not a crash
                message = " ".join(f"{type(error).__name__}: {error}".split())[:300]
                report.add("compile", quantity, math.nan, "samples/s", met=None, detail=f"FAILED: {message}")
                report.write()
                continue
            speedup = rate / eager[f"{name} {precision}"]
            report.add("compile", f"{quantity}: first call (compiles)", compile_seconds, "s")
            report.add("compile", quantity, rate, "samples/s", detail=f"×{speedup:.2f} vs eager")
            report.write()


# ---------------------------------------------------------------------------------------------- entry point
def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gpu_check", description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="folder for gpu_check.md and gpu_check.json")
    parser.add_argument("--allow-cpu", action="store_true", help="run on the CPU when CUDA is not available")
    parser.add_argument("--tiny", action="store_true", help="a few steps per measurement (tests the script itself)")
    parser.add_argument("--budget", type=float, default=420.0,
                        help="seconds after which no further torch.compile measurement starts (default 420)")
    parser.add_argument("--compile-backend", default="inductor", choices=["inductor", "eager", "none"],
                        help="torch.compile backend; eager only traces (fast), none skips the compile rows")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    os.environ.setdefault("HSIBENCH_OFFLINE", "1")  # nothing here may reach the network
    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    make = Settings.tiny if args.tiny else Settings.full
    report = Report(args.out_dir, device_report(device), make(args.budget, args.compile_backend))
    print(f"S²Former GPU check on {report.device_info['name']} (torch {torch.__version__}) → {args.out_dir}", flush=True)
    if not cuda:
        message = (f"CUDA is not available (torch {torch.__version__}, built for CUDA {torch.version.cuda or 'none'}): "
                   "this check needs a GPU")
        if not args.allow_cpu:
            report.add("device", "CUDA available", 0, target="yes", met=False, detail=message)
            report.write()
            print(f"FAIL: {message}; pass --allow-cpu to run it on the CPU anyway", file=sys.stderr)
            return EXIT_NO_CUDA
        report.note(f"{message}; running on the CPU because of --allow-cpu (precisions: {', '.join(precisions(device))})")
    report.write()
    scene = pu_sized_scene(report)
    domain = build_source_domain(load_protocol(PROTOCOL), grant_labels=False, scene=scene)
    check_agreement(report, domain, device, report.settings)
    report.write()
    eager = measure_throughput(report, domain, device, report.settings)
    pretraining_epoch(report, domain, device, report.settings)
    measure_compile(report, domain, device, report.settings, eager)
    report.write()
    print()
    print(report.markdown())
    failed = report.failed()
    if failed:
        print("FAILED: " + "; ".join(row.quantity for row in failed), file=sys.stderr)
        return EXIT_FAILED_CHECK
    print(f"all checks met; {report.elapsed():.0f} s; written {args.out_dir / 'gpu_check.md'} and gpu_check.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
