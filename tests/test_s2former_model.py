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
from hsibench.methods.training import cpu_bf16_support
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


# ----------------------------------------------------------------- the fused CPU inference path (model.py docstring)
def _layer_norm(x: torch.Tensor, norm: torch.nn.LayerNorm) -> torch.Tensor:
    return F.layer_norm(x, norm.normalized_shape, norm.weight, norm.bias, norm.eps)


def _reference_attention(q_in: torch.Tensor, kv_in: torch.Tensor, query, key, value, proj, heads: int) -> torch.Tensor:
    """Multi-head attention written out: softmax(q·kᵀ/√d_h)·v per head, then the output projection."""
    n, lq, dim = q_in.shape
    split = lambda t: t.reshape(n, t.shape[1], heads, dim // heads).transpose(1, 2)  # [N, H, L, hd]
    q, k, v = split(query(q_in)), split(key(kv_in)), split(value(kv_in))
    weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(dim // heads), dim=-1)
    return proj((weights @ v).transpose(1, 2).reshape(n, lq, dim))


def _reference_mlp(x: torch.Tensor, mlp) -> torch.Tensor:
    return F.linear(F.gelu(F.linear(x, mlp.fc1.weight, mlp.fc1.bias)), mlp.fc2.weight, mlp.fc2.bias)


def _rows(layer: torch.nn.Linear, start: int, stop: int):
    return lambda x: F.linear(x, layer.weight[start:stop], layer.bias[start:stop])


def _reference_self_block(block, x: torch.Tensor) -> torch.Tensor:
    """timm's pre-norm ViT block from its parameters (qkv split into its three row blocks)."""
    dim, heads = x.shape[-1], block.attn.num_heads
    h = _layer_norm(x, block.norm1)
    qkv = block.attn.qkv
    x = x + _reference_attention(h, h, _rows(qkv, 0, dim), _rows(qkv, dim, 2 * dim), _rows(qkv, 2 * dim, 3 * dim),
                                 _rows(block.attn.proj, 0, dim), heads)
    return x + _reference_mlp(_layer_norm(x, block.norm2), block.mlp)


def _reference_cross_block(block, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
    dim, attn = x.shape[-1], block.attn
    x = x + _reference_attention(_layer_norm(x, block.norm_query), _layer_norm(context, block.norm_context),
                                 _rows(attn.query, 0, dim), _rows(attn.key_value, 0, dim),
                                 _rows(attn.key_value, dim, 2 * dim), _rows(attn.proj, 0, dim), attn.num_heads)
    return x + _reference_mlp(_layer_norm(x, block.norm_mlp), block.mlp)


def reference_logits(model: S2Former, patches: torch.Tensor) -> torch.Tensor:
    """S²Former's classifier forward written out from its parameters with plain ops (no SDPA, no fused kernels)."""
    encoder, shape = model.encoder, model.encoder.shape
    aligned = _layer_norm(F.linear(patches, model.adapter.projection.weight, model.adapter.projection.bias),
                          model.adapter.norm)
    n, s, _, c = aligned.shape
    spatial = F.linear(aligned.reshape(n, s * s, c), encoder.spatial_embed.weight, encoder.spatial_embed.bias)
    spatial = spatial + encoder.spatial_pos
    cubes = aligned.reshape(n, s, s, shape.spectral_groups, shape.group_width).permute(0, 3, 1, 2, 4)
    spectral = F.linear(cubes.reshape(n, shape.spectral_groups, -1), encoder.spectral_embed.weight,
                        encoder.spectral_embed.bias) + encoder.spectral_pos
    for block in encoder.blocks:
        spatial, spectral = _reference_self_block(block.spatial_self, spatial), _reference_self_block(
            block.spectral_self, spectral)
        new_spatial = _reference_cross_block(block.spatial_cross, spatial, spectral) if block.spatial_cross else spatial
        new_spectral = (_reference_cross_block(block.spectral_cross, spectral, spatial) if block.spectral_cross
                        else spectral)
        spatial, spectral = new_spatial, new_spectral
    features = torch.cat([_layer_norm(spatial, encoder.spatial_norm).mean(dim=1),
                          _layer_norm(spectral, encoder.spectral_norm).mean(dim=1)], dim=1)
    return F.linear(features, model.head.weight, model.head.bias)


def spread_classifier(shape: EncoderShape, bands: int, classes: int = 9) -> S2Former:
    """A classifier whose weights are perturbed away from the near-constant outputs of the ViT initialisation."""
    torch.manual_seed(0)
    model = S2Former(LinearBandAdapter(bands, shape.aligned_bands), S2FormerEncoder(shape), classes).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    return model


#: the ``cpu`` preset's encoder (two dual-branch blocks of d=64, 4 heads, C0=100 in 20 groups) and Pavia's 103 bands
CPU_PRESET_SHAPE = EncoderShape(depth=2, drop_path=0.1)


def predicted_in_batches(model: S2Former, patches: torch.Tensor, batch: int) -> torch.Tensor:
    return torch.cat([model(patches[start: start + batch]) for start in range(0, len(patches), batch)])


def test_fused_inference_leaves_fp32_predictions_unchanged() -> None:
    """The fused CPU path (eval, no autograd) against the modules' own forward (autograd on: the path as it was) and
    a reference written out with plain ops: the same arg-max on every patch, logits within 1e-5."""
    model = spread_classifier(CPU_PRESET_SHAPE, 103)
    patches = torch.randn(600, 9, 9, 103, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        fused = predicted_in_batches(model, patches, 128)  # 4 full batches and a last one of 88
        reference = reference_logits(model, patches)
        single = model(patches[:3])  # the smallest batches (a scene's last) take the fused path too
    with torch.enable_grad():
        module_path = predicted_in_batches(model, patches, 128).detach()
    assert fused.dtype == torch.float32 and fused.shape == (600, 9)
    assert float(fused.std(dim=0).mean()) > 0.05  # logits that vary: an arg-max test with teeth
    for expected in (module_path, reference):
        assert torch.equal(fused.argmax(dim=1), expected.argmax(dim=1))
        torch.testing.assert_close(fused, expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(single, module_path[:3], atol=1e-5, rtol=1e-5)
    assert torch.equal(single.argmax(dim=1), module_path[:3].argmax(dim=1))


@pytest.mark.parametrize("mode", ["bi", "spatial_from_spectral", "spectral_from_spatial", "none"])
def test_fused_inference_follows_every_cross_attention_route(mode: str) -> None:
    model = spread_classifier(EncoderShape(patch_size=5, cross_attention=mode, **TINY), 30, classes=4)
    patches = torch.randn(40, 5, 5, 30, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        fused = model(patches)
    torch.testing.assert_close(fused, reference_logits(model, patches), atol=1e-5, rtol=1e-5)
    with torch.enable_grad():
        torch.testing.assert_close(fused, model(patches).detach(), atol=1e-5, rtol=1e-5)


def test_fused_path_only_at_inference(monkeypatch: pytest.MonkeyPatch) -> None:
    """Training (autograd or train mode, where DropPath acts) always takes the modules' forward."""
    from hsibench.methods.s2former import model as model_module

    calls = []
    fused_linear = model_module._fused_linear
    monkeypatch.setattr(model_module, "_fused_linear", lambda *a, **k: calls.append(1) or fused_linear(*a, **k))
    model = spread_classifier(EncoderShape(patch_size=5, **TINY), 30, classes=4)
    patches = torch.randn(6, 5, 5, 30)
    model(patches).sum().backward()  # eval, autograd on
    assert not calls and model.head.weight.grad is not None
    with torch.no_grad():
        model.train()(patches)
        assert not calls
        model.eval()(patches)
    assert len(calls) == 2 * (2 * 3 + 2 * 4)  # per block: 3 per self block (qkv, proj, fc1), 4 per cross block
    assert model_module.fused_inference_dtype(patches, model) is None  # autograd on here
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.float16):
        assert model_module.fused_inference_dtype(patches, model) is None  # fp16 autocast: the module path


def test_forward_equals_head_of_features_exactly() -> None:
    """``forward`` pools the branches without concatenating them first; same numbers as forward_head(forward_features)."""
    model = spread_classifier(EncoderShape(patch_size=5, **TINY), 30, classes=4)
    patches = torch.randn(7, 5, 5, 30)
    assert torch.equal(model(patches), model.forward_head(model.forward_features(patches)))


@pytest.mark.skipif(not cpu_bf16_support(), reason="this CPU has neither amx_bf16 nor avx512_bf16 (no oneDNN bf16 matmul)")
def test_fused_inference_under_bf16_autocast_stays_close_to_the_module_path() -> None:
    model = spread_classifier(CPU_PRESET_SHAPE, 103)
    patches = torch.randn(128, 9, 9, 103, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        exact = model(patches)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            fused = model(patches)
    with torch.enable_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        module_path = model(patches).detach()
    assert fused.dtype == module_path.dtype == torch.bfloat16
    torch.testing.assert_close(fused.float(), module_path.float(), atol=2e-2, rtol=2e-2)
    torch.testing.assert_close(fused.float(), exact, atol=2e-2, rtol=2e-2)
    assert (fused.argmax(dim=1) == exact.argmax(dim=1)).float().mean() >= 0.95
