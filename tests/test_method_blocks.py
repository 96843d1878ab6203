"""The methods layer's shared blocks: optimiser step and AMP, learning-rate schedule, masking, positions, sklearn base."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.neighbors import KNeighborsClassifier

import hsibench.methods
from hsibench.methods import MethodInfo, RunContext, get_method_entry, resolve_config
from hsibench.methods.lr_schedule import warmup_cosine_factor, warmup_cosine_scheduler
from hsibench.methods.masking import kept_tokens, random_masking
from hsibench.methods.optimization import OptimizerStep, gradient_scaler, needs_loss_scaling
from hsibench.methods.position_embedding import pixel_position_embedding
from hsibench.methods.spectral_estimator import SpectralEstimatorMethod
from hsibench.methods.training import autocast_dtype
from hsibench.protocol import Domain, FewShotTask, PatchSampler

METHODS_ROOT = Path(hsibench.methods.__file__).parent


def learning_rates(scheduler: torch.optim.lr_scheduler.LRScheduler, updates: int) -> list[float]:
    """The learning rate each of ``updates`` updates runs at (the scheduler advanced after each, as OptimizerStep does)."""
    rates = []
    for _ in range(updates):
        rates.append(scheduler.optimizer.param_groups[0]["lr"])
        scheduler.optimizer.step()
        scheduler.step()
    return rates


def optimizer_at(lr: float) -> torch.optim.Optimizer:
    return torch.optim.AdamW([torch.nn.Parameter(torch.zeros(2))], lr=lr)


# --- mixed precision: one decision, followed by the step -------------------------------------------------------


def test_loss_scaling_is_needed_exactly_for_float16() -> None:
    assert needs_loss_scaling(torch.float16)
    assert not any(needs_loss_scaling(dtype) for dtype in (torch.bfloat16, torch.float32, None))


@pytest.mark.parametrize(("device", "precision", "expected"), [
    ("cpu", "fp32", None), ("cpu", "bf16", torch.bfloat16),
    ("cuda", "fp32", None), ("cuda", "bf16", torch.bfloat16),
    ("cuda", "fp16", torch.float16),  # e.g. a V100 / T4: the one case that needs a GradScaler
])
def test_the_step_scales_the_loss_exactly_where_autocast_runs_in_float16(
        device: str, precision: str, expected: torch.dtype | None) -> None:
    dtype = autocast_dtype(torch.device(device), precision)
    assert dtype == expected
    assert needs_loss_scaling(dtype) is (expected == torch.float16)


def test_on_the_cpu_the_scaler_is_a_pass_through() -> None:
    assert not gradient_scaler(torch.device("cpu"), precision="bf16").is_enabled()
    assert not OptimizerStep(optimizer_at(0.1), torch.device("cpu"), precision="bf16").scaler.is_enabled()


def test_one_step_is_zero_grad_backward_step_on_every_optimiser_and_counts_updates() -> None:
    torch.manual_seed(0)
    first, second = torch.nn.Linear(3, 2), torch.nn.Linear(2, 1)
    reference = [{name: value.clone() for name, value in module.state_dict().items()} for module in (first, second)]
    inputs = torch.randn(5, 3)
    step = OptimizerStep([torch.optim.SGD(first.parameters(), lr=0.1), torch.optim.SGD(second.parameters(), lr=0.1)],
                         torch.device("cpu"), precision="bf16")
    for _ in range(2):  # gradients of the first update must not leak into the second
        step(second(first(inputs)).pow(2).mean())
    assert step.updates == 2

    manual_first, manual_second = torch.nn.Linear(3, 2), torch.nn.Linear(2, 1)
    manual_first.load_state_dict(reference[0])
    manual_second.load_state_dict(reference[1])
    optimizer = torch.optim.SGD([*manual_first.parameters(), *manual_second.parameters()], lr=0.1)
    for _ in range(2):
        optimizer.zero_grad()
        manual_second(manual_first(inputs)).pow(2).mean().backward()
        optimizer.step()
    for module, manual in ((first, manual_first), (second, manual_second)):
        for name, value in module.state_dict().items():
            assert torch.equal(value, manual.state_dict()[name]), name


def test_the_step_advances_the_schedule_once_per_update() -> None:
    optimizer = optimizer_at(1.0)
    scheduler = warmup_cosine_scheduler(optimizer, total=10, warmup=4, start_factor=0.2)
    step = OptimizerStep(optimizer, torch.device("cpu"), precision="fp32", scheduler=scheduler)
    parameter = optimizer.param_groups[0]["params"][0]
    seen = []
    for _ in range(3):
        seen.append(optimizer.param_groups[0]["lr"])
        step(parameter.sum())
    assert seen == pytest.approx([0.2, 0.4, 0.6])


def test_clipping_bounds_the_gradient_norm_of_the_update() -> None:
    parameter = torch.nn.Parameter(torch.zeros(4))
    step = OptimizerStep(torch.optim.SGD([parameter], lr=1.0), torch.device("cpu"), precision="fp32", max_grad_norm=0.5)
    step((parameter * torch.tensor([30.0, -40.0, 0.0, 0.0])).sum())  # gradient norm 50
    assert float(parameter.detach().norm()) == pytest.approx(0.5)
    assert parameter.detach().tolist() == pytest.approx([-0.3, 0.4, 0.0, 0.0])


def test_every_training_loop_updates_through_the_shared_step() -> None:
    """No method file calls backward() or builds a GradScaler or a scheduler of its own."""
    shared = {"optimization.py", "lr_schedule.py"}
    for path in METHODS_ROOT.rglob("*.py"):
        if path.name in shared:
            continue
        text = path.read_text()
        for own in (".backward(", "GradScaler(", "LambdaLR(", "CosineLRScheduler"):
            assert own not in text, f"{path.relative_to(METHODS_ROOT)} uses {own} instead of the shared blocks"


# --- the learning-rate schedule ---------------------------------------------------------------------------------


@pytest.mark.parametrize("decay_start", ["whole run", "after warm-up"])
@pytest.mark.parametrize(("total", "warmup"), [(100, 10), (60, 3), (7, 1)])
def test_the_default_warm_up_starts_above_zero_rises_evenly_and_never_exceeds_the_peak(
        total: int, warmup: int, decay_start: str) -> None:
    peak = 3e-3
    start_of_decay = 0 if decay_start == "whole run" else warmup
    rates = learning_rates(warmup_cosine_scheduler(optimizer_at(peak), total, warmup, decay_start=start_of_decay), total)
    assert rates[0] == pytest.approx(peak / (warmup + 1)) and rates[0] > 0
    assert rates[:warmup] == pytest.approx([peak * (update + 1) / (warmup + 1) for update in range(warmup)])
    assert max(rates) <= peak
    if start_of_decay == warmup:
        assert rates[warmup] == peak  # the cosine starts from the peak itself
    else:  # one cosine over the run: the warm-up climbs to it, just under the peak
        assert rates[warmup] == pytest.approx(peak * 0.5 * (1 + math.cos(math.pi * warmup / total)))
    assert all(later <= earlier for earlier, later in zip(rates[warmup:], rates[warmup + 1:]))
    assert rates[-1] < 0.1 * peak


def test_start_factor_zero_reproduces_timms_warmup_from_zero() -> None:
    """``warmup_start_factor=0`` must give back S²Former's old schedule (timm, warmup_lr_init=0), to float32."""
    from timm.scheduler import CosineLRScheduler

    for total, fraction, peak in ((64, 0.05, 3e-3), (60, 0.05, 3e-3), (400, 0.05, 5e-4), (37, 0.3, 1e-3), (5, 0.0, 1e-3)):
        warmup = int(fraction * total)
        old_optimizer = optimizer_at(peak)
        old = CosineLRScheduler(old_optimizer, t_initial=max(total, 1), warmup_t=warmup, warmup_lr_init=0.0,
                                warmup_prefix=False, t_in_epochs=False)
        old_rates = []
        for update in range(total):
            old_rates.append(old_optimizer.param_groups[0]["lr"])
            old.step_update(update + 1)
        new_rates = learning_rates(warmup_cosine_scheduler(optimizer_at(peak), total, warmup, 0.0), total)
        assert np.array_equal(np.float32(old_rates), np.float32(new_rates)), (total, fraction)
        assert new_rates == pytest.approx(old_rates, rel=1e-12, abs=1e-18)


def test_maes_schedule_keeps_its_numbers() -> None:
    """MAE's (step + 1)/warmup ramp and cosine after the warm-up, as the code had them before the shared schedule."""
    from hsibench.methods.mae import pretraining_schedule

    def previous(step: int, total: int, warmup: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1.0 + math.cos(math.pi * min((step - warmup) / max(1, total - warmup), 1.0)))

    for total, warmup in ((30, 1), (300, 15), (10_000, 500), (12, 0), (9, 4)):
        rates = learning_rates(pretraining_schedule(optimizer_at(1e-3), total, warmup), total)
        expected = [1e-3 * previous(step, total, warmup) for step in range(total)]
        assert np.array_equal(np.float32(rates), np.float32(expected)), (total, warmup)
        assert rates == pytest.approx(expected, rel=1e-12)


def test_schedule_edges_and_refusals() -> None:
    assert warmup_cosine_factor(0, total=10, warmup=0, start_factor=0.0) == 1.0  # no warm-up: start at the peak
    assert warmup_cosine_factor(10, total=10, warmup=2, start_factor=0.5) == 0.0
    with pytest.raises(ValueError, match="start factor"):
        warmup_cosine_scheduler(optimizer_at(1.0), 10, 2, start_factor=1.5)
    with pytest.raises(ValueError, match=">= 0"):
        warmup_cosine_scheduler(optimizer_at(1.0), 10, -1)


def test_s2formers_first_update_no_longer_runs_at_learning_rate_zero() -> None:
    from hsibench.methods.s2former.pretraining import learning_rate_schedule

    config = resolve_config("s2former", "smoke")
    assert config.warmup_start_factor is None  # the default: 1/(warm-up updates + 1)
    total = 60  # the smoke preset's fine-tuning on demo: 60 epochs of one batch
    rates = learning_rates(learning_rate_schedule(optimizer_at(config.finetune_lr), total, config), total)
    assert rates[0] == pytest.approx(config.finetune_lr / 4)  # warm-up of int(0.05 · 60) = 3 updates
    old = resolve_config("s2former", "smoke", {"warmup_start_factor": "0"})
    assert learning_rates(learning_rate_schedule(optimizer_at(config.finetune_lr), total, old), total)[0] == 0.0
    with pytest.raises(ValueError, match="warmup_start_factor"):
        resolve_config("s2former", "smoke", {"warmup_start_factor": "1.5"})


# --- random masking ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("patch_size", [3, 5, 7, 9])
@pytest.mark.parametrize("ratio", [0.0, 0.25, 0.5, 0.75])
def test_masking_keeps_round_one_minus_ratio_of_the_tokens_and_restore_inverts_the_shuffle(
        patch_size: int, ratio: float) -> None:
    length = patch_size ** 2
    tokens = torch.randn(4, length, 6)
    visible, mask, ids_restore, ids_keep = random_masking(tokens, ratio, torch.Generator().manual_seed(0))
    keep = round((1 - ratio) * length)
    assert visible.shape == (4, keep, 6) and ids_keep.shape == (4, keep)
    assert (mask.sum(dim=1) == length - keep).all()
    for sample in range(4):  # the visible tokens are exactly the unmasked ones
        assert torch.equal(visible[sample], tokens[sample, ids_keep[sample]])
        assert torch.equal(mask[sample, ids_keep[sample]], torch.zeros(keep))
    # what a decoder does: [visible ; fillers] gathered with ids_restore puts every visible token back in place
    filled = torch.cat([visible, torch.zeros(4, length - keep, 6)], dim=1)
    restored = torch.gather(filled, 1, ids_restore.unsqueeze(-1).expand(-1, -1, 6))
    assert torch.equal(restored, tokens * (1 - mask).unsqueeze(-1))


def test_masking_with_a_generator_repeats_differs_between_seeds_and_ignores_the_global_generator() -> None:
    tokens = torch.randn(8, 81, 4)

    def mask_of(seed: int) -> torch.Tensor:
        torch.manual_seed(seed + 100)  # the global generator must not matter
        return random_masking(tokens, 0.5, torch.Generator().manual_seed(seed)).mask

    assert torch.equal(mask_of(0), mask_of(0))
    assert not torch.equal(mask_of(0), mask_of(1))
    torch.manual_seed(3)
    first = random_masking(tokens, 0.5).mask
    torch.manual_seed(3)
    assert torch.equal(random_masking(tokens, 0.5).mask, first)  # without one: the (seeded) global generator


def test_masking_that_keeps_no_token_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        random_masking(torch.randn(1, 4, 2), 0.9)


def test_round_keeps_as_many_tokens_as_maes_int_at_its_ratio() -> None:
    """MAE used int(L·(1 − r)); at its 0.75 every square patch (L = S² ≡ 0, 1 mod 4) keeps the same count."""
    for patch_size in range(2, 32):
        length = patch_size ** 2
        assert kept_tokens(length, 0.75) == int(length * (1 - 0.75))


# --- position embedding -----------------------------------------------------------------------------------------


def test_pixel_positions_are_timms_sincos_in_row_major_order() -> None:
    from timm.layers import build_sincos2d_pos_embed

    positions = pixel_position_embedding(5, 16)
    assert positions.shape == (1, 25, 16)
    assert torch.equal(positions[0], build_sincos2d_pos_embed([5, 5], 16))
    grid = positions[0].reshape(5, 5, 16)  # [row, column, dim]
    assert torch.equal(grid[:, :1, :4].expand(-1, 5, -1), grid[:, :, :4])  # the row's sines: equal along a row
    assert not torch.equal(grid[:1, :, :4].expand(5, -1, -1), grid[:, :, :4])
    with pytest.raises(ValueError, match="divisible by 4"):
        pixel_position_embedding(5, 18)


def test_s2former_and_mae_use_the_same_positions() -> None:
    from hsibench.methods.mae import MAEConfig, PixelTokenEncoder
    from hsibench.methods.s2former.model import EncoderShape, S2FormerEncoder

    s2former = S2FormerEncoder(EncoderShape(patch_size=7, aligned_bands=16, dim=16, depth=1, heads=2, spectral_groups=4))
    mae = PixelTokenEncoder(16, 7, MAEConfig(embed_dim=16, depth=1, heads=2))
    assert torch.equal(s2former.spatial_pos, mae.position)
    assert torch.equal(mae.position, pixel_position_embedding(7, 16))


# --- the scikit-learn spectral base -----------------------------------------------------------------------------


@dataclasses.dataclass
class NearestSpectrumConfig:
    prediction_batch_size: int = 7


class NearestSpectrum(SpectralEstimatorMethod):
    """1-nearest-neighbour on spectra: the smallest estimator that exercises the base."""

    info = MethodInfo("nearest-spectrum", "classical", False, False, "a test")

    def fit_estimator(self, spectra: np.ndarray, labels: np.ndarray) -> tuple[KNeighborsClassifier, dict]:
        return KNeighborsClassifier(n_neighbors=1).fit(spectra, labels), {"neighbours": 1}


@pytest.fixture
def spectral_task() -> FewShotTask:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, size=(12, 14))
    cube = (rng.normal(size=(12, 14, 5)) * 0.3 + labels[..., None] * 2.0).astype(np.float32)
    target = Domain("scene", PatchSampler(cube, 3))
    support = np.array([[r, c] for r in range(0, 12, 3) for c in range(0, 14, 4)])
    return FewShotTask(target, support, labels[support[:, 0], support[:, 1]], np.zeros((0, 2), np.int64),
                       np.zeros(0, np.int64), (1, 2, 3), ("a", "b", "c"), seed=0)


def test_the_spectral_base_predicts_in_batches_and_round_trips_its_estimator(spectral_task: FewShotTask,
                                                                             tmp_path: Path) -> None:
    coords = spectral_task.target.patches.all_coords()
    method = NearestSpectrum(NearestSpectrumConfig(), RunContext(seed=0))
    method.adapt(spectral_task)
    predicted = method.predict(spectral_task.target, coords)
    whole = NearestSpectrum(NearestSpectrumConfig(prediction_batch_size=10_000), RunContext(seed=0))
    whole.adapt(spectral_task)
    assert np.array_equal(whole.predict(spectral_task.target, coords), predicted)  # batching changes nothing

    restored = NearestSpectrum(NearestSpectrumConfig(), RunContext(seed=0))
    restored.load_state_dict(method.state_dict())
    assert np.array_equal(restored.predict(spectral_task.target, coords), predicted)
    assert restored.fit_details == {"neighbours": 1} and restored.bands == 5
    method.save(tmp_path / "trial.pt")
    from_file = NearestSpectrum(NearestSpectrumConfig(), RunContext(seed=0))
    from_file.load(tmp_path / "trial.pt")
    assert np.array_equal(from_file.predict(spectral_task.target, coords), predicted)


def test_the_spectral_base_explains_misuse(spectral_task: FewShotTask) -> None:
    method = NearestSpectrum(NearestSpectrumConfig(), RunContext(seed=0))
    with pytest.raises(RuntimeError, match="nearest-spectrum: predict"):
        method.predict(spectral_task.target, np.zeros((1, 2), np.int64))
    with pytest.raises(RuntimeError, match="nothing to save"):
        method.state_dict()
    method.adapt(spectral_task)
    other = Domain("other", PatchSampler(np.zeros((4, 4, 6), np.float32), 3))
    with pytest.raises(ValueError, match="fitted on 5 bands"):
        method.predict(other, np.zeros((1, 2), np.int64))


def test_svm_keeps_its_name_keys_and_presets() -> None:
    from hsibench.methods.svm import SupportVectorMachine, SVMConfig

    entry = get_method_entry("svm")
    assert entry.method_class is SupportVectorMachine and issubclass(SupportVectorMachine, SpectralEstimatorMethod)
    assert [item.name for item in dataclasses.fields(SVMConfig)] == [
        "c", "gamma", "search", "min_per_class_for_search", "cv_folds", "c_grid", "gamma_grid", "prediction_batch_size"]
    assert entry.presets == {"paper": {}, "cpu": {}, "smoke": {"c_grid": (1.0, 100.0), "gamma_grid": (2.0**-8, 2.0**-4)}}
