"""Training input pipeline: the time per step with patches gathered on the fly vs one preloaded batch.

Run: ``python -m benchmarks.bench_input_pipeline [--preset cpu] [--threads 1] [--seconds 3] [--scale 1]``.

hsibench never materialises every patch: a training step draws a batch of coordinates and
gathers its patches from one padded copy of the scene (:class:`~hsibench.protocol.PatchSampler`).
This measures what that costs against the same steps on a batch that is already a tensor:

- **masked pretraining** (as :func:`hsibench.methods.s2former.pretraining.pretrain` runs it):
  seeded index batches over the pretraining coordinates (``minibatches``), ``gather``, forward
  with masking + FDC, backward, AdamW — vs the same model stepping on one preloaded batch;
- **DAFT fine-tuning** with ``daft_unlabeled`` (the only fine-tuning set-up that gathers per step,
  as :func:`hsibench.methods.s2former.finetuning.finetune` runs it): support patches indexed from
  the preloaded support tensor + a gather of ``finetune_batch_size`` unlabeled pixels — vs a
  preloaded unlabeled batch. Without ``daft_unlabeled`` fine-tuning gathers nothing per step.

The scene is Pavia University's real ground-truth map with generated spectra of its 103 bands
(``real_sized("pu")``), z-scored like the runner's source domain, 9×9 patches. The two variants
of a step alternate (A, B, A, B, …) on the same model, so a load change hits both; the ratio
is the median of the step-by-step ratios (robust to a stray slow step on a shared machine),
the ratios of the medians and of the means are in its detail. Target: gathered / preloaded ≤ 1.10.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from benchmarks.common import BenchOptions, Measurement, check_target, print_measurements, real_sized, scaled_shape
from hsibench.methods import resolve_config, resolve_device
from hsibench.methods.s2former.band_alignment import empty_adapter
from hsibench.methods.s2former.daft import DiffusionAlignment, EMATeacher
from hsibench.methods.s2former.method import S2FormerConfig, encoder_shape
from hsibench.methods.s2former.model import DecoderShape, S2Former, S2FormerEncoder, S2FormerMaskedAutoencoder
from hsibench.methods.s2former.pretraining import pretraining_coords
from hsibench.methods.training import minibatches, to_device
from hsibench.protocol import Domain, PatchSampler
from hsibench.protocol.normalise import normalise_cube

BENCHMARK = "input pipeline"
PATCH = 9
CLASSES = 9
SUPPORT_PIXELS = 45  # pu2pc: 5 shots × 9 classes
TARGET_RATIO = 1.10


# ---------------------------------------------------------------------------- shared with bench_hardware
@contextlib.contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """``torch.set_num_threads(count)`` for the block, the previous count restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def interleaved(steps: dict[str, Callable[[], object]], seconds: float, device: torch.device,
                warmup: int = 1, minimum_calls: int = 3, lockstep: bool = False) -> dict[str, list[float]]:
    """Seconds of every call of each step, the steps called in turn (round robin) so load changes hit all.

    Each step is called until it has run ``seconds`` in total and at least ``minimum_calls`` times;
    a step that is done drops out of the rotation while the others finish, unless ``lockstep``:
    then every round calls every step, so all have the same number of calls (paired comparisons),
    in reversed order every other round (A B, B A, …) so that going first or second favours none.
    """
    for step in steps.values():
        for _ in range(warmup):
            step()
    synchronize(device)
    times: dict[str, list[float]] = {name: [] for name in steps}
    for round_number in itertools.count():
        pending = [name for name in steps if sum(times[name]) < seconds or len(times[name]) < minimum_calls]
        if not pending:
            return times
        order = (list(steps) if round_number % 2 == 0 else list(steps)[::-1]) if lockstep else pending
        for name in order:
            start = time.perf_counter()
            steps[name]()
            synchronize(device)
            times[name].append(time.perf_counter() - start)


def pu_sized_domain(options: BenchOptions) -> Domain:
    """Pavia University's GT map with generated 103-band spectra, cropped to ``options.scale`` of its area, z-scored."""
    scene = real_sized("pu", options.mirror)
    height, width = scaled_shape(*scene.cube.shape[:2], min(options.scale, 1.0))
    cube = normalise_cube(scene.cube[:height, :width], "scene")  # the runner's source normalisation
    return Domain(scene.name, PatchSampler(cube, PATCH))


def adapter(config: S2FormerConfig, bands: int) -> torch.nn.Module:
    """The band adapter ``config`` asks for (a PCA one stays unfitted: it costs the same)."""
    return empty_adapter(config.band_alignment, bands, config.aligned_bands, config.adapter_norm)


def pretraining_model(config: S2FormerConfig, bands: int) -> S2FormerMaskedAutoencoder:
    """The masked autoencoder of ``config`` for a ``bands``-band source, as ``S2FormerMethod._pretrain`` builds it."""
    encoder = S2FormerEncoder(encoder_shape(config, PATCH))
    decoder = DecoderShape(config.decoder_dim, config.decoder_depth, config.decoder_heads)
    return S2FormerMaskedAutoencoder(adapter(config, bands), encoder, bands, decoder)


def classifier(config: S2FormerConfig, bands: int) -> S2Former:
    """The fine-tuned classifier of ``config`` (new adapter + encoder + head), untrained."""
    return S2Former(adapter(config, bands), S2FormerEncoder(encoder_shape(config, PATCH)), CLASSES)


def pretraining_step(model: S2FormerMaskedAutoencoder, config: S2FormerConfig) -> Callable[[torch.Tensor], None]:
    """One update of the pretraining loop on a batch of patches: masking + FDC loss, backward, AdamW."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.pretrain_lr, weight_decay=config.weight_decay)
    generator = torch.Generator().manual_seed(config.pretrain_seed + 1)
    fdc_weight = config.fdc_weight if config.fdc else 0.0
    mask_ratio, spectral_mask_ratio = (config.mask_ratio, config.spectral_mask_ratio) if config.masking else (0.0, 0.0)
    model.train()

    def step(patches: torch.Tensor) -> None:
        losses = model(patches, mask_ratio, spectral_mask_ratio, generator, fdc_weight, config.fdc_cutoff,
                       config.fdc_axes)
        optimizer.zero_grad(set_to_none=True)
        losses["loss"].backward()
        optimizer.step()

    return step


def daft_step(student: S2Former, config: S2FormerConfig) -> Callable[[torch.Tensor, torch.Tensor], None]:
    """One DAFT update of the fine-tuning loop: CE on the support batch + alignment on all patches, EMA update."""
    optimizer = torch.optim.AdamW(student.parameters(), lr=config.finetune_lr, weight_decay=config.weight_decay)
    teacher = EMATeacher(student, config.daft_momentum)
    alignment = DiffusionAlignment(config.daft_steps, config.daft_align)
    student.train()

    def step(patches: torch.Tensor, labels: torch.Tensor) -> None:
        """``patches``: the support batch first (``len(labels)`` of them), then any unlabeled ones."""
        loss = F.cross_entropy(student(patches[: len(labels)]).float(), labels)
        loss = loss + config.daft_weight * alignment(student, teacher, patches)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        teacher.update(student)

    return step


def endless(batches: Callable[[], Iterator[torch.Tensor]]) -> Iterator[torch.Tensor]:
    """The index batches of epoch after epoch (``minibatches`` reshuffles with its generator each time)."""
    while True:
        yield from batches()


# ---------------------------------------------------------------------------- the comparison
@dataclass
class PairedTimes:
    sampled: list[float]  # seconds of each step that gathered its patches
    gather: list[float]  # seconds of the gather inside each of those steps
    preloaded: list[float]  # seconds of each step on the preloaded batch


def paired(sampled_step: Callable[[], float], preloaded_step: Callable[[], None], seconds: float,
           device: torch.device) -> PairedTimes:
    """Alternate the two steps; ``sampled_step`` returns the seconds its gather took."""
    gathers: list[float] = []
    times = interleaved({"sampled": lambda: gathers.append(sampled_step()), "preloaded": preloaded_step},
                        seconds, device, lockstep=True)
    return PairedTimes(times["sampled"], gathers[-len(times["sampled"]):], times["preloaded"])


def gathered(sampler: PatchSampler, coords: np.ndarray, index: torch.Tensor, device: torch.device
             ) -> tuple[torch.Tensor, float]:
    """(patches of ``coords[index]`` on ``device``, seconds it took): the loops' ``to_device(gather(...))``."""
    start = time.perf_counter()
    patches = to_device(sampler.gather(coords[index.numpy()]), device)
    return patches, time.perf_counter() - start


def measurements(step_name: str, times: PairedTimes, batch: str, detail: str) -> list[Measurement]:
    """The figures of one paired comparison.

    The ratio is the median of the step-by-step ratios: the two steps of a pair ran back to back
    on equally sized batches, so neither a load change nor fine-tuning's alternating batch sizes
    (32, 13, 32, … support pixels) leans on it. The ms/step figures are medians.
    """
    sampled, preloaded = statistics.median(times.sampled), statistics.median(times.preloaded)
    gather = statistics.median(times.gather)
    ratio = statistics.median(a / b for a, b in zip(times.sampled, times.preloaded, strict=True))
    mean_ratio = statistics.fmean(times.sampled) / statistics.fmean(times.preloaded)
    target, met = check_target(ratio, at_most=TARGET_RATIO)
    counts = f"{len(times.sampled)} pairs of alternating steps, batch {batch}"
    return [
        Measurement(BENCHMARK, f"{step_name} step, patches gathered per step", sampled * 1e3, "ms/step",
                    detail=f"{counts}; {detail}"),
        Measurement(BENCHMARK, f"{step_name} step, preloaded batch", preloaded * 1e3, "ms/step", detail=counts),
        Measurement(BENCHMARK, f"{step_name} step: gathered / preloaded", ratio, "×", target, met,
                    detail=f"median of the {len(times.sampled)} step-by-step ratios; ratio of the medians "
                           f"{sampled / preloaded:.3f}, of the means {mean_ratio:.3f}"),
        Measurement(BENCHMARK, f"{step_name} step: gather share", 100 * gather / sampled, "%",
                    detail=f"gather {gather * 1e3:.2f} ms of {sampled * 1e3:.1f} ms (medians)"),
    ]


def measure_pretraining(config: S2FormerConfig, source: Domain, options: BenchOptions,
                        device: torch.device) -> list[Measurement]:
    """Masked pretraining: minibatches over the pretraining coordinates + gather vs one preloaded batch."""
    coords = pretraining_coords(source, config.pretrain_samples, config.pretrain_seed)
    batch_generator = torch.Generator().manual_seed(config.pretrain_seed)
    indices = endless(lambda: minibatches(len(coords), config.pretrain_batch_size, batch_generator))
    model = pretraining_model(config, source.bands).to(device)
    step = pretraining_step(model, config)
    preloaded = to_device(source.patches.gather(coords[: config.pretrain_batch_size]), device)

    def sampled() -> float:
        index = next(indices)
        while len(index) != len(preloaded):  # an epoch's short last batch: keep both variants at one size
            index = next(indices)
        patches, seconds = gathered(source.patches, coords, index, device)
        step(patches)
        return seconds

    times = paired(sampled, lambda: step(preloaded), options.seconds, device)
    detail = (f"{len(coords):,} pretraining pixels of a {source.shape[0]}×{source.shape[1]}×{source.bands} scene, "
              f"mask {config.mask_ratio}, FDC {'on' if config.fdc else 'off'}")
    return measurements("pretraining", times, str(len(preloaded)), detail)


def support_batches(batch_size: int, seed: int) -> Iterator[torch.Tensor]:
    """Index batches over the support set, epoch after epoch, as the fine-tuning loop draws them."""
    generator = torch.Generator().manual_seed(seed)
    return endless(lambda: minibatches(SUPPORT_PIXELS, batch_size, generator))


def measure_daft(config: S2FormerConfig, target: Domain, options: BenchOptions, device: torch.device) -> list[Measurement]:
    """DAFT with unlabeled target pixels: support batch + gathered unlabeled batch vs a preloaded unlabeled batch."""
    rng = np.random.default_rng(0)
    all_coords = target.patches.all_coords()
    support_coords = all_coords[rng.choice(len(all_coords), SUPPORT_PIXELS, replace=False)]
    support = to_device(target.patches.gather(support_coords), device)  # small: preloaded in the real loop too
    labels = torch.as_tensor(np.arange(SUPPORT_PIXELS) % CLASSES, dtype=torch.long, device=device)
    step = daft_step(classifier(config, target.bands).to(device), config)
    unlabeled = config.finetune_batch_size
    preloaded_extra = to_device(target.patches.gather(all_coords[rng.choice(len(all_coords), unlabeled)]), device)
    streams = [support_batches(config.finetune_batch_size, seed=5) for _ in range(2)]  # the same batches in both
    draw_generator = torch.Generator().manual_seed(6)

    def sampled() -> float:
        index = next(streams[0]).to(device)
        drawn = torch.randint(len(all_coords), (unlabeled,), generator=draw_generator)
        extra, seconds = gathered(target.patches, all_coords, drawn, device)
        step(torch.cat([support[index], extra]), labels[index])
        return seconds

    def preloaded() -> None:
        index = next(streams[1]).to(device)
        step(torch.cat([support[index], preloaded_extra]), labels[index])

    times = paired(sampled, preloaded, options.seconds, device)
    detail = (f"daft_unlabeled: {SUPPORT_PIXELS} support pixels (batches of ≤ {config.finetune_batch_size}) "
              f"+ {unlabeled} unlabeled pixels gathered per step")
    return measurements("DAFT fine-tuning", times, f"≤ {config.finetune_batch_size} + {unlabeled}", detail)


def run(options: BenchOptions) -> list[Measurement]:
    device = resolve_device(options.device)
    config = resolve_config("s2former", options.preset)
    with torch_threads(options.threads):
        torch.manual_seed(0)
        domain = pu_sized_domain(options)
        return measure_pretraining(config, domain, options, device) + measure_daft(config, domain, options, device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    defaults = BenchOptions()
    parser.add_argument("--preset", default=defaults.preset, help="s2former preset")
    parser.add_argument("--threads", type=int, default=defaults.threads)
    parser.add_argument("--seconds", type=float, default=defaults.seconds, help="minimum timed seconds per variant")
    parser.add_argument("--scale", type=float, default=defaults.scale, help="share of the scene's area")
    parser.add_argument("--device", default=defaults.device)
    args = parser.parse_args()
    options = BenchOptions(threads=args.threads, scale=args.scale, seconds=args.seconds, preset=args.preset,
                           device=args.device)
    measured = run(options)
    print(f"{BENCHMARK}: s2former preset {options.preset!r}, {options.threads} thread(s), device {options.device}")
    print_measurements(measured)


if __name__ == "__main__":
    main()
