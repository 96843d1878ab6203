"""S²Former's pieces on random tensors: shapes, masking, cross-attention routing, FDC, DAFT, adapters."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from hsibench.methods.s2former.band_alignment import LinearBandAdapter, make_adapter
from hsibench.methods.s2former.daft import DiffusionAlignment, EMATeacher, cosine_alpha_bar, diffuse
from hsibench.methods.s2former.fdc import frequency_domain_constraint, spectral_high_frequency_loss
from hsibench.methods.s2former.model import (
    DecoderShape,
    EncoderShape,
    S2Former,
    S2FormerEncoder,
    S2FormerMaskedAutoencoder,
)
from hsibench.protocol import Domain, PatchSampler

TINY = {"aligned_bands": 16, "dim": 16, "depth": 2, "heads": 2, "spectral_groups": 4, "drop_path": 0.0}


def tiny_encoder(patch_size: int = 5, cross_attention: str = "bi", **changes) -> S2FormerEncoder:
    torch.manual_seed(0)
    return S2FormerEncoder(EncoderShape(patch_size=patch_size, cross_attention=cross_attention, **{**TINY, **changes}))


def tiny_autoencoder(patch_size: int, bands: int, cross_attention: str = "bi") -> S2FormerMaskedAutoencoder:
    encoder = tiny_encoder(patch_size, cross_attention)
    return S2FormerMaskedAutoencoder(LinearBandAdapter(bands, 16), encoder, bands, DecoderShape(16, 1, 2))


@pytest.mark.parametrize("patch_size", [5, 7, 9])
@pytest.mark.parametrize("bands", [102, 103, 200, 224])
def test_shapes_for_odd_patches_and_band_counts(patch_size: int, bands: int) -> None:
    patches = torch.randn(3, patch_size, patch_size, bands)
    encoder = tiny_encoder(patch_size)
    model = S2Former(LinearBandAdapter(bands, 16), encoder, num_classes=7)
    tokens = model.forward_features(patches)
    assert tokens.shape == (3, patch_size ** 2 + 4, 16)
    assert model.forward_head(tokens, pre_logits=True).shape == (3, 32)
    assert model(patches).shape == (3, 7)
    out = S2FormerMaskedAutoencoder(LinearBandAdapter(bands, 16), encoder, bands, DecoderShape(16, 1, 2))(
        patches, mask_ratio=0.5, fdc_weight=0.1)
    assert out["predicted"].shape == (3, patch_size ** 2, bands)
    assert out["mask"].shape == (3, patch_size ** 2)
    assert torch.isfinite(out["loss"])


# masking itself (counts, restore order, generators) is tested with the shared block in test_method_blocks.py


# (cross_attention, spatial output depends on spectral input, spectral output depends on spatial input)
ROUTES = [("bi", True, True), ("spatial_from_spectral", True, False), ("spectral_from_spatial", False, True),
          ("none", False, False)]


@pytest.mark.parametrize(("mode", "spatial_reads_spectral", "spectral_reads_spatial"), ROUTES)
def test_cross_attention_routes_gradients_as_claimed(mode: str, spatial_reads_spectral: bool,
                                                     spectral_reads_spatial: bool) -> None:
    encoder = tiny_encoder(5, mode).eval()
    spatial_in = torch.randn(2, 25, 16, requires_grad=True)
    spectral_in = torch.randn(2, 4, 16, requires_grad=True)
    spatial_out, spectral_out = encoder.forward_branches(spatial_in, spectral_in)

    def depends(output: torch.Tensor, on: torch.Tensor) -> bool:
        (grad,) = torch.autograd.grad(output.sum(), on, retain_graph=True, allow_unused=True)
        return grad is not None and bool(grad.abs().sum() > 0)

    assert depends(spatial_out, spectral_in) is spatial_reads_spectral
    assert depends(spectral_out, spatial_in) is spectral_reads_spatial
    assert depends(spatial_out, spatial_in) and depends(spectral_out, spectral_in)


def test_no_cross_attention_keeps_pooled_features_separable() -> None:
    """With ``none`` each half of the pooled features depends only on its own branch's tokens."""
    model = S2Former(LinearBandAdapter(30, 16), tiny_encoder(5, "none"), 3).eval()
    spatial_in = torch.randn(2, 25, 16, requires_grad=True)
    spectral_in = torch.randn(2, 4, 16, requires_grad=True)
    spatial_out, spectral_out = model.encoder.forward_branches(spatial_in, spectral_in)
    pooled = model.forward_head(torch.cat([spatial_out, spectral_out], dim=1), pre_logits=True)  # [N, 2D]
    (grad,) = torch.autograd.grad(pooled[:, :16].sum(), spectral_in)
    assert grad.abs().sum() == 0
    (grad,) = torch.autograd.grad(pooled[:, 16:].sum(), spatial_in)
    assert grad.abs().sum() == 0


@pytest.mark.parametrize("mode", ["bi", "spatial_from_spectral"])
def test_masked_pixels_do_not_reach_the_encoder(mode: str) -> None:
    """The spectral branch sees masked pixels zeroed: otherwise cross-attention would leak the targets."""
    model = tiny_autoencoder(5, 30, mode).eval()
    patches = torch.randn(2, 5, 5, 30, requires_grad=True)
    encoded = model.forward_encoder(patches, 0.5, generator=torch.Generator().manual_seed(3))
    (grad,) = torch.autograd.grad(encoded["spatial"].sum() + encoded["spectral"].sum(), patches)
    per_pixel = grad.abs().sum(dim=-1).reshape(2, 25)
    masked = encoded["mask"].bool()
    assert (per_pixel[masked] == 0).all()
    assert (per_pixel[~masked] > 0).all()


def _sinusoid(frequency_bin: int, length: int = 100) -> torch.Tensor:
    return torch.cos(2 * math.pi * frequency_bin * torch.arange(length) / length)


@pytest.mark.parametrize("axes", ["spectral", "spatial", "both"])
def test_fdc_is_zero_for_identical_inputs(axes: str) -> None:
    x = torch.randn(3, 25, 40)
    weights = (torch.rand(3, 25) > 0.5).float()
    assert frequency_domain_constraint(x, x.clone(), weights, 5, 0.25, axes) == 0


def test_fdc_penalises_high_frequency_more_than_low_frequency_of_equal_energy() -> None:
    spectra = torch.randn(16, 100)
    low, high = 0.5 * _sinusoid(3), 0.5 * _sinusoid(40)
    assert torch.allclose(low.norm(), high.norm())
    low_loss = spectral_high_frequency_loss(spectra + low, spectra, 0.25)
    high_loss = spectral_high_frequency_loss(spectra + high, spectra, 0.25)
    assert high_loss > 2 * low_loss
    assert high_loss > 0.01


def test_spatial_fdc_penalises_a_checkerboard_more_than_a_ramp_of_equal_energy() -> None:
    target = torch.randn(4, 81, 10)
    rows, cols = torch.meshgrid(torch.arange(9.0), torch.arange(9.0), indexing="ij")
    ramp = torch.cos(2 * math.pi * rows / 9)  # lowest spatial frequency
    checker = torch.cos(math.pi * (rows + cols))  # highest
    checker = checker * ramp.norm() / checker.norm()
    weights = torch.ones(4, 81)
    loss = lambda bump: frequency_domain_constraint(target + bump.reshape(1, 81, 1), target, weights, 9, 0.25, "spatial")
    assert loss(checker) > 2 * loss(ramp)


def test_fdc_rejects_unknown_axes_and_cutoffs() -> None:
    x = torch.randn(1, 25, 8)
    with pytest.raises(ValueError, match="fdc_axes"):
        frequency_domain_constraint(x, x, torch.ones(1, 25), 5, 0.25, "temporal")
    with pytest.raises(ValueError, match="fdc_cutoff"):
        frequency_domain_constraint(x, x, torch.ones(1, 25), 5, 1.5, "spectral")


def test_cosine_schedule_goes_from_clean_to_noise() -> None:
    alpha_bar = cosine_alpha_bar(10)
    assert alpha_bar.shape == (11,)
    assert alpha_bar[0] == 1 and alpha_bar[-1] < 1e-3
    assert (alpha_bar[1:] < alpha_bar[:-1]).all()
    x, noise = torch.randn(4, 3), torch.randn(4, 3)
    assert torch.equal(diffuse(x, torch.zeros(4, dtype=torch.long), alpha_bar, noise), x)
    assert torch.allclose(diffuse(x, torch.full((4,), 10), alpha_bar, noise), noise, atol=0.05)


def test_daft_teacher_gets_no_gradients_and_follows_the_student_by_ema() -> None:
    student = S2Former(LinearBandAdapter(30, 16), tiny_encoder(5), 4)
    teacher = EMATeacher(student, momentum=0.9)
    assert not any(p.requires_grad for p in teacher.module.parameters())
    optimizer = torch.optim.SGD(student.parameters(), lr=0.5)
    patches, labels = torch.randn(6, 5, 5, 30), torch.randint(4, (6,))
    before = [p.detach().clone() for p in teacher.module.parameters()]
    loss = F.cross_entropy(student(patches), labels) + DiffusionAlignment(10, "cosine")(student, teacher, patches)
    loss.backward()
    assert all(p.grad is None for p in teacher.module.parameters())
    optimizer.step()
    teacher.update(student)
    moved = 0
    for old, new, current in zip(before, teacher.module.parameters(), student.parameters()):
        assert torch.allclose(new, 0.9 * old + 0.1 * current.detach(), atol=1e-6)
        moved += int(not torch.equal(new, old))
    assert moved > 0


@pytest.mark.parametrize("align", ["cosine", "mse"])
def test_alignment_loss_is_zero_when_student_equals_teacher_on_clean_inputs(align: str) -> None:
    student = S2Former(LinearBandAdapter(30, 16), tiny_encoder(5), 4).eval()
    teacher = EMATeacher(student, momentum=0.99)
    alignment = DiffusionAlignment(1, align)
    alignment.alpha_bar = torch.ones(2)  # no noise at any step: x_t = x_{t-1}
    assert alignment(student, teacher, torch.randn(3, 5, 5, 30)) < 1e-5


def test_pca_adapter_is_fitted_on_its_own_scene_and_whitens_it() -> None:
    rng = np.random.default_rng(0)
    spectra = rng.normal(size=(40 * 50, 6)) @ rng.normal(size=(6, 40))  # rank-6 scene of 40 bands
    cube = (spectra + rng.normal(scale=0.01, size=spectra.shape)).reshape(40, 50, 40).astype(np.float32)
    domain = Domain("scene", PatchSampler(cube, 3))
    adapter = make_adapter("pca", domain, 5, "layer", seed=0)
    aligned = adapter(torch.from_numpy(cube)).reshape(-1, 5)
    assert torch.allclose(aligned.std(dim=0), torch.ones(5), atol=0.05)
    with pytest.raises(ValueError, match="aligned_bands <= 40"):
        make_adapter("pca", domain, 100, "layer", seed=0)


@pytest.mark.parametrize(("kind", "norm"), [("linear", "layer"), ("linear", "batch"), ("pca", "layer")])
def test_every_adapter_maps_the_scene_bands_to_the_aligned_bands(kind: str, norm: str) -> None:
    domain = Domain("scene", PatchSampler(np.random.default_rng(0).normal(size=(12, 12, 30)).astype(np.float32), 5))
    adapter = make_adapter(kind, domain, 8, norm, seed=0)
    assert adapter.bands == 30
    assert adapter(domain.patches.gather(np.array([[0, 0], [5, 7]]))).shape == (2, 5, 5, 8)


@pytest.mark.parametrize(("changes", "message"), [({"heads": 3}, "divisible by heads"),
                                                  ({"spectral_groups": 5}, "divisible by spectral_groups"),
                                                  ({"cross_attention": "sideways"}, "cross_attention")])
def test_impossible_encoder_shapes_are_explained(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        tiny_encoder(5, **changes)
