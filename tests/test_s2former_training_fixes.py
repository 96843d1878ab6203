"""S²Former's training fixes, each a config key with an ablation variant that switches it back.

- the spectral branch's input at masked pixels keeps fine-tuning's scale (``spectral_mask_fill``);
- DAFT's EMA teacher warms its decay up (``daft_ema_warmup``) and starts after the linear probe;
- a linear probe (``probe_fraction``) trains the new adapter and head before the encoder moves;
- warm-ups start above learning rate 0 (``warmup_start_factor``).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from hsibench.methods import RunContext, get_method_entry
from hsibench.methods.registry import resolve_config
from hsibench.methods.s2former import finetuning
from hsibench.methods.s2former.band_alignment import make_adapter
from hsibench.methods.s2former.config import encoder_shape
from hsibench.methods.s2former.daft import EMATeacher
from hsibench.methods.s2former.model import (
    DecoderShape,
    S2Former,
    S2FormerEncoder,
    S2FormerMaskedAutoencoder,
    rescaled_zero_fill,
    visible_mean_fill,
    zero_fill,
)
from hsibench.protocol import build_task, load_protocol, make_split


def masked_patch() -> tuple[torch.Tensor, torch.Tensor]:
    patch = torch.arange(2 * 3 * 3 * 4, dtype=torch.float32).reshape(2, 3, 3, 4) + 1
    visible = torch.ones(2, 3, 3, 1)
    visible[0, 0, :2] = 0  # sample 0: two of nine pixels masked
    visible[1, 1:] = 0  # sample 1: six of nine masked
    return patch, visible


def test_visible_mean_fill_puts_the_visible_pixels_mean_at_masked_pixels() -> None:
    patch, visible = masked_patch()
    filled = visible_mean_fill(patch, visible)
    for sample in range(2):
        keep = visible[sample, ..., 0].bool()
        mean = patch[sample][keep].mean(dim=0)
        torch.testing.assert_close(filled[sample][~keep], mean.expand(int((~keep).sum()), -1))
        torch.testing.assert_close(filled[sample][keep], patch[sample][keep])


def test_rescale_keeps_the_patch_sum_scale_and_zero_fill_shrinks_it() -> None:
    patch, visible = masked_patch()
    visible_sum = (patch * visible).sum(dim=(1, 2))
    torch.testing.assert_close(rescaled_zero_fill(patch, visible).sum(dim=(1, 2)),
                               visible_sum * 9 / visible.sum(dim=(1, 2)))
    torch.testing.assert_close(zero_fill(patch, visible).sum(dim=(1, 2)), visible_sum)


@pytest.mark.parametrize("fill", [visible_mean_fill, rescaled_zero_fill, zero_fill])
def test_every_fill_is_the_identity_without_masking(fill) -> None:
    patch, _ = masked_patch()
    torch.testing.assert_close(fill(patch, torch.ones(2, 3, 3, 1)), patch)


def test_the_fill_reaches_the_spectral_branch() -> None:
    torch.manual_seed(0)
    encoder = S2FormerEncoder(encoder_shape(resolve_config("s2former", "smoke"), patch_size=3))
    patches = torch.randn(4, 3, 3, 16)
    encoded = {}
    for fill in ("zero", "visible_mean"):
        model = S2FormerMaskedAutoencoder(torch.nn.Identity(), encoder, 16, DecoderShape(16, 1, 2), fill).eval()
        encoded[fill] = model.forward_encoder(patches, 0.5, generator=torch.Generator().manual_seed(1))["spectral"]
    assert not torch.allclose(encoded["zero"], encoded["visible_mean"])
    with pytest.raises(ValueError, match="spectral_mask_fill"):
        S2FormerMaskedAutoencoder(torch.nn.Identity(), encoder, 16, DecoderShape(16, 1, 2), "noise")


def test_ema_warmup_starts_from_the_student_and_ramps_its_decay() -> None:
    student = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        student.weight.fill_(0.0)
    warm, cold = EMATeacher(student, 0.99, warmup=True), EMATeacher(student, 0.99, warmup=False)
    with torch.no_grad():
        student.weight.fill_(1.0)
    warm.update(student)
    cold.update(student)
    assert warm.module.weight.item() == pytest.approx(1.0)  # the first update copies the student
    assert cold.module.weight.item() == pytest.approx(0.01)  # 0.99 of the starting copy stays
    with torch.no_grad():
        student.weight.fill_(2.0)
    warm.update(student)
    decay = 1 - 2 ** -EMATeacher.WARMUP_POWER
    assert warm.module.weight.item() == pytest.approx(decay * 1.0 + (1 - decay) * 2.0)
    assert not any(p.requires_grad for p in warm.module.parameters())


def demo_task(validation_per_class: int = 0):
    protocol = load_protocol("demo")
    return build_task(protocol, make_split(protocol, seed=protocol.seeds[0]))


def student_for(task, config) -> S2Former:
    torch.manual_seed(0)
    adapter = make_adapter(config.band_alignment, task.target, config.aligned_bands, config.adapter_norm, 0,
                           config.wavelength_grid_nm, coords=task.statistics_coords())
    return S2Former(adapter, S2FormerEncoder(encoder_shape(config, task.target.patches.patch_size)), task.num_classes)


def test_the_linear_probe_moves_only_the_adapter_and_head_and_the_teacher_starts_after_it(monkeypatch) -> None:
    task = demo_task()
    config = dataclasses.replace(resolve_config("s2former", "smoke"), finetune_epochs=6, probe_fraction=0.5)
    student = student_for(task, config)
    start = {name: value.clone() for name, value in student.state_dict().items()}
    snapshots: list[dict[str, torch.Tensor]] = []
    teachers: list[tuple[int, dict[str, torch.Tensor]]] = []

    class SpyTeacher(EMATeacher):
        def __init__(self, model, momentum, warmup=False):
            super().__init__(model, momentum, warmup)
            teachers.append((len(snapshots), {k: v.clone() for k, v in model.state_dict().items()}))

    monkeypatch.setattr(finetuning, "EMATeacher", SpyTeacher)
    context = RunContext(seed=0, progress=lambda **_: snapshots.append(
        {k: v.clone() for k, v in student.state_dict().items()}))
    result = finetuning.finetune(student, task, config, context, torch.Generator().manual_seed(0))
    assert result.probe_epochs == 3
    encoder_keys = [k for k in start if k.startswith("encoder.")]
    for epoch in range(3):  # the probe: the encoder as it was, the adapter and head moved
        assert all(torch.equal(snapshots[epoch][k], start[k]) for k in encoder_keys)
        assert not torch.equal(snapshots[epoch]["head.weight"], start["head.weight"])
    assert not all(torch.equal(snapshots[3][k], start[k]) for k in encoder_keys)  # then everything trains
    (epochs_done, teacher_start), = teachers  # one teacher, made from the student the probe left
    assert epochs_done == 3 and torch.equal(teacher_start["head.weight"], snapshots[2]["head.weight"])
    assert all(p.requires_grad for p in student.parameters())


def test_without_a_probe_the_encoder_moves_from_the_first_epoch() -> None:
    task = demo_task()
    config = dataclasses.replace(resolve_config("s2former", "smoke"), finetune_epochs=2, probe_fraction=0.0)
    student = student_for(task, config)
    start = student.encoder.spatial_embed.weight.detach().clone()
    snapshots = []
    context = RunContext(seed=0, progress=lambda **_: snapshots.append(student.encoder.spatial_embed.weight.detach().clone()))
    finetuning.finetune(student, task, config, context, torch.Generator().manual_seed(0))
    assert not torch.equal(snapshots[0], start)


@pytest.mark.parametrize(("variant", "key", "value"), [
    ("s2former-mask-zero", "spectral_mask_fill", "zero"),
    ("s2former-ema-cold", "daft_ema_warmup", False),
    ("s2former-no-probe", "probe_fraction", 0.0),
    ("s2former-lr0-warmup", "warmup_start_factor", 0.0),
])
def test_each_fix_is_on_in_s2former_and_an_ablation_switches_it_back(variant: str, key: str, value) -> None:
    assert get_method_entry(variant).base == "s2former"
    assert getattr(resolve_config(variant, "cpu"), key) == value
    assert getattr(resolve_config("s2former", "cpu"), key) != value


def test_probe_fraction_is_checked() -> None:
    with pytest.raises(Exception, match="probe_fraction"):
        resolve_config("s2former", "smoke", {"probe_fraction": 1.0})
    assert np.isclose(finetuning.probe_epochs(resolve_config("s2former", "cpu")), 10)
