"""S²Former: a dual-branch spatial–spectral transformer with bidirectional cross-attention.

Component by component (numbers refer to docs/interpretation.md):

- Dual branch (§2, §3) — *paper*: a spatial and a spectral branch. *Ours*: spatial tokens are
  the S² pixels of a patch, ``t_i = W·a_i + p_i`` with a fixed 2-D sin-cos position embedding
  (MAE's choice: no parameters that depend on S; ``methods/position_embedding.py``, shared with
  ``mae``); spectral tokens are G contiguous groups of the C₀ aligned bands, each embedding its
  S×S×g sub-cube, plus a learned 1-D position embedding (one per band group).
- Random masking of the spatial branch (§2) — *paper*: yes. *Ours*: MAE's per-sample shuffle
  (``methods/masking.py``, shared with ``mae``); exactly round((1 − r)·S²) visible tokens are
  encoded. The spectral branch then must not see the masked pixels either, or cross-attention
  would hand the spatial branch the very spectra it must reconstruct: they are replaced by the mean
  spectrum of the patch's visible pixels (``spectral_mask_fill``, :data:`SPECTRAL_MASK_FILLS`), so
  its input keeps the scale it has at fine-tuning, where nothing is masked — zeros would halve the
  sum each spectral token embeds at r = 0.5. Optional spectral-token masking (``spectral_mask_ratio``).
- Bidirectional cross-attention (§4) — *paper*: the branches guide each other. *Ours*: each
  block runs timm's pre-norm self-attention block in each branch, then (simultaneously, both
  reading the post-self-attention states) ``H_spa ← H_spa + CA(H_spa → H_spe)`` and
  ``H_spe ← H_spe + CA(H_spe → H_spa)``, each pre-norm and followed by an MLP. The route is
  switchable (``cross_attention``, see :data:`CROSS_ATTENTION_ROUTES`); a disabled direction has
  no module at all, so with ``none`` nothing flows between the branches before pooling.
- Decoder and loss (§5) — *paper*: self-supervised pretraining without labels. *Ours*: a light
  MAE decoder over [spatial tokens with mask tokens ; visible spectral tokens] (so both branches
  are pretrained whatever the cross-attention route), a per-domain output head predicting each
  pixel's standardised spectrum in the source's own C bands, MSE on the masked pixels plus the
  FDC term (§6, :mod:`.fdc`).
- Readout (§8) — *ours*: mean-pooled tokens of each branch, concatenated (2·d) → linear head.

Inference on the CPU (eval mode, no autograd) takes a fused path through the same modules and
weights (:func:`fused_inference_dtype`): every linear layer that reads the model width d runs as one
oneDNN call with its bias — and, where one follows, its exact (erf) GELU or the residual add — fused
in (``torch.ops.mkldnn._linear_pointwise``), instead of ATen's addmm, which first copies the bias
into its output, then a GELU pass over the MLP's 4·d-wide activations. At fp32 the result is the
module path's, up to float rounding (on the AVX-512 CPU measured, bit for bit;
``tests/test_s2former_model.py`` holds it to the same arg-max and 1e-5); layers of other widths keep
ATen's kernels. Under bf16 autocast the fused path keeps autocast's dtypes (bf16 matrix products and
attention, fp32 residual stream). Training (autograd or train mode) and CUDA always
take the modules' own forward.

API like timm/MAE: :class:`S2Former` has ``forward_features`` / ``forward_head``;
:class:`S2FormerMaskedAutoencoder` has ``random_masking`` / ``forward_encoder`` /
``forward_decoder`` / ``forward_loss``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from timm.layers import DropPath, Mlp, trunc_normal_
from timm.models.vision_transformer import Block
from torch import nn

from hsibench.methods.masking import random_masking
from hsibench.methods.position_embedding import pixel_position_embedding
from hsibench.methods.s2former.fdc import frequency_domain_constraint


@dataclass(frozen=True)
class CrossAttentionRoute:
    spatial_reads_spectral: bool
    spectral_reads_spatial: bool


#: ``cross_attention`` → which branch attends to which. Ablation names (method.py) map onto these:
#: "spa2spe" = information flows spatial → spectral = the spectral branch reads the spatial one.
CROSS_ATTENTION_ROUTES: dict[str, CrossAttentionRoute] = {
    "bi": CrossAttentionRoute(spatial_reads_spectral=True, spectral_reads_spatial=True),
    "spatial_from_spectral": CrossAttentionRoute(spatial_reads_spectral=True, spectral_reads_spatial=False),
    "spectral_from_spatial": CrossAttentionRoute(spatial_reads_spectral=False, spectral_reads_spatial=True),
    "none": CrossAttentionRoute(spatial_reads_spectral=False, spectral_reads_spatial=False),
}


@dataclass(frozen=True)
class EncoderShape:
    """The sizes that fix an encoder's weights (and so must match between pretraining and fine-tuning)."""

    patch_size: int = 9
    aligned_bands: int = 100
    dim: int = 64
    depth: int = 4
    heads: int = 4
    mlp_ratio: float = 4.0
    drop_path: float = 0.1
    spectral_groups: int = 20
    cross_attention: str = "bi"

    @property
    def spatial_tokens(self) -> int:
        return self.patch_size ** 2

    @property
    def group_width(self) -> int:
        return self.aligned_bands // self.spectral_groups


#: oneDNN's fused linear layers (what inductor's CPU fusions call) are available in this build
_HAS_FUSED_LINEAR = torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")


def fused_inference_dtype(x: torch.Tensor, module: nn.Module) -> torch.dtype | None:
    """The dtype of the fused CPU inference path for ``module`` on ``x``, or ``None``: take the modules' forward.

    Fused: eval mode, no autograd, a CPU tensor, oneDNN present, and fp32 or bf16 autocast (fp16 autocast and
    other input dtypes keep the module path). Training must see DropPath and autograd, so it never takes it;
    nor does ``torch.compile``, which fuses the modules' plain graph itself.
    """
    if (module.training or torch.is_grad_enabled() or x.device.type != "cpu" or not _HAS_FUSED_LINEAR
            or torch.compiler.is_compiling()):
        return None
    if torch.is_autocast_enabled("cpu"):
        return torch.bfloat16 if torch.get_autocast_dtype("cpu") == torch.bfloat16 and x.dtype in (
            torch.float32, torch.bfloat16) else None
    return torch.float32 if x.dtype == torch.float32 else None


def _fused_linear(x: torch.Tensor, layer: nn.Linear, dtype: torch.dtype, gelu: bool = False,
                  residual: torch.Tensor | None = None) -> torch.Tensor:
    """``layer(x)`` as one oneDNN call, bias fused, optionally followed by exact GELU or ``+ residual``.

    At fp32 ``residual`` is added inside the call (``(x·Wᵀ + b) + residual``, the module path's order); under bf16
    the output is bf16 and the residual is added after, in fp32 like autocast's ``x + y``.
    """
    weight, bias = layer.weight, layer.bias
    if dtype != torch.float32:
        x, weight = x.to(dtype), weight.to(dtype)
    if gelu:
        return torch.ops.mkldnn._linear_pointwise(x, weight, bias, "gelu", [], "none")  # "none": erf, nn.GELU()
    if residual is not None and dtype == torch.float32:
        return torch.ops.mkldnn._linear_pointwise.binary(x, residual, weight, bias, "add")
    out = torch.ops.mkldnn._linear_pointwise(x, weight, bias, "none", [], "")
    return out if residual is None else residual + out


def _fused_mlp_residual(mlp: Mlp, x: torch.Tensor, residual: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """``residual + mlp(x)``: fc1 with bias and GELU in one call, fc2 (4·d wide) on ATen's kernel, add in place."""
    hidden = _fused_linear(x, mlp.fc1, dtype, gelu=True)
    out = mlp.fc2(hidden)  # under bf16 autocast: bf16, as the module path
    if out.dtype != residual.dtype:
        return residual + out
    return out.add_(residual)  # out is fresh, and out + residual is exactly residual + out


def _fusable_self_block(block: Block) -> bool:
    """Whether a timm Block is the plain pre-norm block the fused path reproduces (ours always are)."""
    attn, mlp = block.attn, block.mlp
    identities = (block.ls1, block.ls2, attn.q_norm, attn.k_norm, attn.norm, mlp.norm, mlp.drop1, mlp.drop2,
                  attn.attn_drop, attn.proj_drop)
    return (all(isinstance(m, nn.Identity) or (isinstance(m, nn.Dropout) and m.p == 0) for m in identities)
            and getattr(attn, "gate", None) is None and attn.qkv.bias is not None
            and isinstance(mlp.act, nn.GELU) and mlp.act.approximate == "none")


def _fused_self_block(block: Block, x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """timm ``Block.forward`` at inference: ``x + attn(norm1(x))``, then ``x + mlp(norm2(x))``."""
    attn = block.attn
    n, length, dim = x.shape
    qkv = _fused_linear(block.norm1(x), attn.qkv, dtype).reshape(n, length, 3, attn.num_heads, attn.head_dim)
    q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each [N, H, L, hd]
    attended = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(n, length, dim)
    x = _fused_linear(attended, attn.proj, dtype, residual=x)
    return _fused_mlp_residual(block.mlp, block.norm2(x), x, dtype)


def _init_weights(module: nn.Module) -> None:
    """timm ViT initialisation: truncated normal (std 0.02) linear weights, zero biases."""
    if isinstance(module, nn.Linear):
        trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


class CrossAttention(nn.Module):
    """Multi-head attention whose queries come from one token set and keys/values from another.

    timm has no usable one (crossvit's lets only the CLS token query), so this is the small
    piece written here, on ``scaled_dot_product_attention``.
    """

    def __init__(self, dim: int, num_heads: int, qkv_bias: bool = True) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim ({dim}) must be divisible by heads ({num_heads})")
        self.num_heads, self.head_dim = num_heads, dim // num_heads
        self.query = nn.Linear(dim, dim, bias=qkv_bias)
        self.key_value = nn.Linear(dim, 2 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        n, query_length, dim = x.shape
        context_length = context.shape[1]
        q = self.query(x).reshape(n, query_length, self.num_heads, self.head_dim).transpose(1, 2)  # [N, H, Lq, hd]
        k, v = (self.key_value(context).reshape(n, context_length, 2, self.num_heads, self.head_dim)
                .permute(2, 0, 3, 1, 4).unbind(0))  # each [N, H, Lk, hd]
        attended = F.scaled_dot_product_attention(q, k, v)  # [N, H, Lq, hd]
        return self.proj(attended.transpose(1, 2).reshape(n, query_length, dim))


class CrossAttentionBlock(nn.Module):
    """Pre-norm ``x ← x + CA(norm(x), norm(context)); x ← x + MLP(norm(x))`` (timm Mlp, DropPath)."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float, drop_path: float) -> None:
        super().__init__()
        self.norm_query = nn.LayerNorm(dim)
        self.norm_context = nn.LayerNorm(dim)
        self.attn = CrossAttention(dim, num_heads)
        self.norm_mlp = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        dtype = fused_inference_dtype(x, self)
        if dtype is not None:
            return self.forward_fused(x, context, dtype)
        x = x + self.drop_path(self.attn(self.norm_query(x), self.norm_context(context)))
        return x + self.drop_path(self.mlp(self.norm_mlp(x)))

    def forward_fused(self, x: torch.Tensor, context: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """:meth:`forward` at inference (eval, no autograd) with fused linear layers (:func:`fused_inference_dtype`)."""
        attn = self.attn
        n, query_length, dim = x.shape
        context_length = context.shape[1]
        q = (_fused_linear(self.norm_query(x), attn.query, dtype)
             .reshape(n, query_length, attn.num_heads, attn.head_dim).transpose(1, 2))  # [N, H, Lq, hd]
        k, v = (_fused_linear(self.norm_context(context), attn.key_value, dtype)
                .reshape(n, context_length, 2, attn.num_heads, attn.head_dim).permute(2, 0, 3, 1, 4).unbind(0))
        attended = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(n, query_length, dim)
        x = _fused_linear(attended, attn.proj, dtype, residual=x)
        return _fused_mlp_residual(self.mlp, self.norm_mlp(x), x, dtype)


class DualBranchBlock(nn.Module):
    """Self-attention in each branch, then each branch attends to the other as ``route`` allows."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float, drop_path: float, route: CrossAttentionRoute) -> None:
        super().__init__()
        self.spatial_self = Block(dim, num_heads, mlp_ratio, qkv_bias=True, drop_path=drop_path)
        self.spectral_self = Block(dim, num_heads, mlp_ratio, qkv_bias=True, drop_path=drop_path)
        self.spatial_cross = CrossAttentionBlock(dim, num_heads, mlp_ratio, drop_path) if route.spatial_reads_spectral else None
        self.spectral_cross = CrossAttentionBlock(dim, num_heads, mlp_ratio, drop_path) if route.spectral_reads_spatial else None
        self.fusable = _fusable_self_block(self.spatial_self) and _fusable_self_block(self.spectral_self)

    def forward(self, spatial: torch.Tensor, spectral: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        dtype = fused_inference_dtype(spatial, self) if self.fusable else None
        if dtype is not None:
            spatial, spectral = _fused_self_block(self.spatial_self, spatial, dtype), _fused_self_block(
                self.spectral_self, spectral, dtype)
        else:
            spatial, spectral = self.spatial_self(spatial), self.spectral_self(spectral)
        # both directions read the post-self-attention states, so neither direction goes first
        new_spatial = self.spatial_cross(spatial, spectral) if self.spatial_cross is not None else spatial
        new_spectral = self.spectral_cross(spectral, spatial) if self.spectral_cross is not None else spectral
        return new_spatial, new_spectral


class S2FormerEncoder(nn.Module):
    """The part that transfers between scenes: token embeddings of both branches + dual-branch blocks.

    Input is an *aligned* patch [N, S, S, C₀] (see :mod:`.band_alignment`).
    """

    def __init__(self, shape: EncoderShape) -> None:
        super().__init__()
        check_encoder_shape(shape)
        self.shape = shape
        route = CROSS_ATTENTION_ROUTES[shape.cross_attention]
        self.spatial_embed = nn.Linear(shape.aligned_bands, shape.dim)
        self.register_buffer("spatial_pos", pixel_position_embedding(shape.patch_size, shape.dim), persistent=False)
        self.spectral_embed = nn.Linear(shape.spatial_tokens * shape.group_width, shape.dim)
        self.spectral_pos = nn.Parameter(torch.zeros(1, shape.spectral_groups, shape.dim))
        rates = torch.linspace(0, shape.drop_path, shape.depth).tolist()  # stochastic depth grows with depth (timm)
        self.blocks = nn.ModuleList(DualBranchBlock(shape.dim, shape.heads, shape.mlp_ratio, rate, route) for rate in rates)
        self.spatial_norm = nn.LayerNorm(shape.dim)
        self.spectral_norm = nn.LayerNorm(shape.dim)
        trunc_normal_(self.spectral_pos, std=0.02)
        self.apply(_init_weights)

    @property
    def feature_dim(self) -> int:
        return 2 * self.shape.dim

    def embed_spatial(self, aligned: torch.Tensor) -> torch.Tensor:
        n, s, _, c = aligned.shape
        return self.spatial_embed(aligned.reshape(n, s * s, c)) + self.spatial_pos  # [N, S², D]

    def embed_spectral(self, aligned: torch.Tensor) -> torch.Tensor:
        n, s, _, _ = aligned.shape
        groups, width = self.shape.spectral_groups, self.shape.group_width
        cubes = aligned.reshape(n, s, s, groups, width).permute(0, 3, 1, 2, 4)  # [N, G, S, S, g]
        return self.spectral_embed(cubes.reshape(n, groups, s * s * width)) + self.spectral_pos  # [N, G, D]

    def forward_branches(self, spatial: torch.Tensor, spectral: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the blocks on already-embedded tokens ([N, Ls, D], [N, Lg, D]); separate inputs make routing testable."""
        for block in self.blocks:
            spatial, spectral = block(spatial, spectral)
        return self.spatial_norm(spatial), self.spectral_norm(spectral)

    def forward(self, aligned: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.forward_branches(self.embed_spatial(aligned), self.embed_spectral(aligned))


def check_encoder_shape(shape: EncoderShape) -> None:
    """Clear errors for sizes that cannot make an encoder."""
    if shape.cross_attention not in CROSS_ATTENTION_ROUTES:
        raise ValueError(f"cross_attention must be one of {sorted(CROSS_ATTENTION_ROUTES)}, got {shape.cross_attention!r}")
    if shape.dim % shape.heads:
        raise ValueError(f"dim ({shape.dim}) must be divisible by heads ({shape.heads})")
    if shape.dim % 4:
        raise ValueError(f"dim ({shape.dim}) must be divisible by 4 (2-D sin-cos position embedding)")
    if shape.spectral_groups < 1 or shape.aligned_bands % shape.spectral_groups:
        raise ValueError(f"aligned_bands ({shape.aligned_bands}) must be divisible by spectral_groups "
                         f"({shape.spectral_groups}); e.g. 100 bands in 20 groups of 5")


class S2Former(nn.Module):
    """Classifier: per-scene band adapter → encoder → pooled features of both branches → linear head."""

    def __init__(self, adapter: nn.Module, encoder: S2FormerEncoder, num_classes: int) -> None:
        super().__init__()
        self.adapter, self.encoder = adapter, encoder
        self.num_spatial_tokens = encoder.shape.spatial_tokens
        self.head = nn.Linear(encoder.feature_dim, num_classes) if num_classes > 0 else nn.Identity()
        self.head.apply(_init_weights)

    def forward_features(self, patches: torch.Tensor) -> torch.Tensor:
        """[N, S, S, C] patches → [N, S² + G, D] tokens (spatial first, then spectral)."""
        spatial, spectral = self.encoder(self.adapter(patches))
        return torch.cat([spatial, spectral], dim=1)

    def forward_head(self, tokens: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        spatial, spectral = tokens[:, : self.num_spatial_tokens], tokens[:, self.num_spatial_tokens:]
        features = torch.cat([spatial.mean(dim=1), spectral.mean(dim=1)], dim=1)  # [N, 2D]
        return features if pre_logits else self.head(features)

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        # forward_head(forward_features(patches)) without concatenating the tokens only to split them again
        spatial, spectral = self.encoder(self.adapter(patches))
        return self.head(torch.cat([spatial.mean(dim=1), spectral.mean(dim=1)], dim=1))


def visible_mean_fill(aligned: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
    """Masked pixels replaced by the mean spectrum of the patch's visible ones (``aligned`` [N, S, S, C], ``visible``
    [N, S, S, 1] of 0/1)."""
    mean = (aligned * visible).sum(dim=(1, 2), keepdim=True) / visible.sum(dim=(1, 2), keepdim=True).clamp(min=1)
    return aligned * visible + mean * (1 - visible)


def rescaled_zero_fill(aligned: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
    """Masked pixels zeroed and the rest scaled by S² / visible pixels, so every sum over the patch keeps its scale."""
    pixels = visible.shape[1] * visible.shape[2]
    return aligned * visible * (pixels / visible.sum(dim=(1, 2), keepdim=True).clamp(min=1))


def zero_fill(aligned: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
    """Masked pixels zeroed (the input scale then shrinks with the mask ratio)."""
    return aligned * visible


#: ``spectral_mask_fill`` → what the spectral branch sees at the pixels masked in pretraining
SPECTRAL_MASK_FILLS = {"visible_mean": visible_mean_fill, "rescale": rescaled_zero_fill, "zero": zero_fill}


@dataclass(frozen=True)
class DecoderShape:
    dim: int = 64
    depth: int = 2
    heads: int = 4


class S2FormerMaskedAutoencoder(nn.Module):
    """Pretraining model (MAE-style): adapter + encoder with masking + light decoder + per-domain output head."""

    def __init__(self, adapter: nn.Module, encoder: S2FormerEncoder, bands: int, decoder: DecoderShape,
                 spectral_mask_fill: str = "visible_mean") -> None:
        super().__init__()
        if decoder.dim % decoder.heads or decoder.dim % 4:
            raise ValueError(f"decoder_dim ({decoder.dim}) must be divisible by decoder_heads ({decoder.heads}) and by 4")
        if spectral_mask_fill not in SPECTRAL_MASK_FILLS:
            raise ValueError(f"spectral_mask_fill must be one of {sorted(SPECTRAL_MASK_FILLS)}, got {spectral_mask_fill!r}")
        self.adapter, self.encoder = adapter, encoder
        self.fill_masked = SPECTRAL_MASK_FILLS[spectral_mask_fill]
        shape = encoder.shape
        self.decoder_embed_spatial = nn.Linear(shape.dim, decoder.dim)
        self.decoder_embed_spectral = nn.Linear(shape.dim, decoder.dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, decoder.dim))
        self.register_buffer("decoder_spatial_pos", pixel_position_embedding(shape.patch_size, decoder.dim),
                             persistent=False)
        self.decoder_spectral_pos = nn.Parameter(torch.zeros(1, shape.spectral_groups, decoder.dim))
        self.decoder_blocks = nn.ModuleList(Block(decoder.dim, decoder.heads, 4.0, qkv_bias=True)
                                            for _ in range(decoder.depth))
        self.decoder_norm = nn.LayerNorm(decoder.dim)
        self.reconstruction_head = nn.Linear(decoder.dim, bands)  # per domain: the source's own band count
        trunc_normal_(self.mask_token, std=0.02)
        trunc_normal_(self.decoder_spectral_pos, std=0.02)
        for module in (self.decoder_embed_spatial, self.decoder_embed_spectral, self.decoder_blocks, self.reconstruction_head):
            module.apply(_init_weights)

    #: MAE's per-sample random masking (``hsibench.methods.masking``), here as in MAE's model API
    random_masking = staticmethod(random_masking)

    def forward_encoder(self, patches: torch.Tensor, mask_ratio: float, spectral_mask_ratio: float = 0.0,
                        generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """Encode the visible pixels; the spectral branch sees the patch with its masked pixels filled (``fill_masked``)."""
        aligned = self.adapter(patches)  # [N, S, S, C0]
        n, s = aligned.shape[:2]
        spatial, mask, ids_restore, _ = self.random_masking(self.encoder.embed_spatial(aligned), mask_ratio, generator)
        visible_pixels = (1 - mask).reshape(n, s, s, 1).to(aligned.dtype)
        spectral_tokens = self.encoder.embed_spectral(self.fill_masked(aligned, visible_pixels))  # [N, G, D]
        spectral, _, _, spectral_keep = self.random_masking(spectral_tokens, spectral_mask_ratio, generator)
        spatial, spectral = self.encoder.forward_branches(spatial, spectral)
        return {"spatial": spatial, "spectral": spectral, "mask": mask, "ids_restore": ids_restore,
                "spectral_keep": spectral_keep}

    def forward_decoder(self, spatial: torch.Tensor, spectral: torch.Tensor, ids_restore: torch.Tensor,
                        spectral_keep: torch.Tensor) -> torch.Tensor:
        """Visible spatial tokens [N, K, D] + visible spectral tokens [N, Gv, D] → predicted spectra [N, S², C]."""
        n, length = ids_restore.shape
        x = self.decoder_embed_spatial(spatial)  # [N, K, Dd]
        mask_tokens = self.mask_token.expand(n, length - x.shape[1], -1)
        x = torch.cat([x, mask_tokens], dim=1)
        x = torch.gather(x, 1, ids_restore.unsqueeze(-1).expand(-1, -1, x.shape[2]))  # unshuffle: [N, S², Dd]
        x = x + self.decoder_spatial_pos
        spectral_pos = torch.gather(self.decoder_spectral_pos.expand(n, -1, -1), 1,
                                    spectral_keep.unsqueeze(-1).expand(-1, -1, x.shape[2]))  # [N, Gv, Dd]
        tokens = torch.cat([x, self.decoder_embed_spectral(spectral) + spectral_pos], dim=1)
        for block in self.decoder_blocks:
            tokens = block(tokens)
        return self.reconstruction_head(self.decoder_norm(tokens[:, :length]))  # [N, S², C]

    def forward_loss(self, patches: torch.Tensor, predicted: torch.Tensor, mask: torch.Tensor,
                     fdc_weight: float = 0.0, fdc_cutoff: float = 0.25, fdc_axes: str = "spectral") -> dict[str, torch.Tensor]:
        """L = L_rec + λ_fdc·L_fdc on the masked pixels (all pixels when nothing is masked), in float32."""
        n, s, _, c = patches.shape
        target = patches.reshape(n, s * s, c).float()  # [N, S², C]
        predicted = predicted.float()
        weights = mask if bool(mask.any()) else torch.ones_like(mask)  # no masking → plain autoencoder
        per_pixel = ((predicted - target) ** 2).mean(dim=-1)  # [N, S²]
        reconstruction = (per_pixel * weights).sum() / weights.sum()
        losses = {"reconstruction": reconstruction}
        if fdc_weight > 0:
            losses["fdc"] = frequency_domain_constraint(predicted, target, weights, s, fdc_cutoff, fdc_axes)
            losses["loss"] = reconstruction + fdc_weight * losses["fdc"]
        else:
            losses["loss"] = reconstruction
        return losses

    def forward(self, patches: torch.Tensor, mask_ratio: float, spectral_mask_ratio: float = 0.0,
                generator: torch.Generator | None = None, fdc_weight: float = 0.0, fdc_cutoff: float = 0.25,
                fdc_axes: str = "spectral") -> dict[str, torch.Tensor]:
        encoded = self.forward_encoder(patches, mask_ratio, spectral_mask_ratio, generator)
        predicted = self.forward_decoder(encoded["spatial"], encoded["spectral"], encoded["ids_restore"],
                                         encoded["spectral_keep"])
        losses = self.forward_loss(patches, predicted, encoded["mask"], fdc_weight, fdc_cutoff, fdc_axes)
        return {**losses, "predicted": predicted, "mask": encoded["mask"]}
