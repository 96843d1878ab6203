"""S²Former's config: every setting of the method, its default (the ``paper`` preset) and its check.

One dataclass for both loops: pretraining (:mod:`.pretraining`) and fine-tuning
(:mod:`.finetuning`) read their keys straight from it, so a new key is added here and read
where it is used — nowhere else. Each field carries its documentation and whether it enters
the pretraining cache key (:func:`pretraining_config`). Defaults are our interpretation of the
paper (``docs/interpretation.md`` §1–§8).
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from typing import Any, Literal

from hsibench.methods.budget import BUDGETS
from hsibench.methods.registry import ConfigError
from hsibench.methods.s2former.model import EncoderShape, check_encoder_shape


def key(default: Any, doc: str, pretraining: bool = False, identity: bool | str = True) -> Any:
    """A config field with its documentation; ``pretraining=True`` puts it into the pretraining cache key,
    ``identity=False`` marks a key that changes how a trial runs, not what it computes (left out of run ids);
    ``identity="when_changed"``: a key added after records existed, in run ids only when set away from its default."""
    return field(default=default, metadata={"doc": doc, "pretraining": pretraining, "identity": identity})


@dataclass
class S2FormerConfig:
    """S²Former's settings; the defaults are the ``paper`` preset (our interpretation, docs/interpretation.md §1–§8)."""

    # §1 band alignment
    band_alignment: Literal["linear", "pca", "wavelength"] = key(
        "linear", "per-scene adapter C → C₀: learned 1×1 map + norm, fixed PCA, or resampling onto a common wavelength grid",
        True)
    aligned_bands: int = key(100, "C₀, the encoder's band count", True)
    adapter_norm: Literal["layer", "batch"] = key("layer", "norm after the linear adapter (LayerNorm per pixel, or BatchNorm)", True)
    wavelength_grid_nm: tuple[float, float] = key(
        (400.0, 2500.0), "span of the common grid of band_alignment=wavelength: C₀ channels of equal width", True,
        identity="when_changed")
    # §2–§4 encoder
    dim: int = key(64, "token width d of both branches", True)
    depth: int = key(4, "dual-branch blocks L", True)
    heads: int = key(4, "attention heads", True)
    mlp_ratio: float = key(4.0, "MLP hidden width / d", True)
    drop_path: float = key(0.1, "stochastic depth rate of the last block (linear from 0)", True)
    spectral_groups: int = key(20, "G spectral tokens (contiguous groups of C₀/G aligned bands)", True)
    cross_attention: Literal["bi", "spatial_from_spectral", "spectral_from_spatial", "none"] = key(
        "bi", "which branch attends to which (spatial_from_spectral: the spatial branch reads the spectral one)", True)
    # §2, §5 masked pretraining
    pretrain: bool = key(True, "pretrain on the source scene (off: random initialisation)")
    masking: bool = key(True, "mask spatial tokens in pretraining (off: a plain autoencoder on all pixels)", True)
    mask_ratio: float = key(0.5, "share r of the S² pixel tokens masked in pretraining", True)
    spectral_mask_ratio: float = key(0.0, "share of spectral tokens dropped in pretraining", True)
    spectral_mask_fill: Literal["visible_mean", "rescale", "zero"] = key(
        "visible_mean", "what the spectral branch sees at masked pixels in pretraining: the mean spectrum of the patch's "
        "visible pixels, zeros with the sum rescaled by S²/visible, or zeros (the old input, about half the scale "
        "fine-tuning gives it)", True, identity="when_changed")
    decoder_dim: int = key(64, "width of the light decoder", True)
    decoder_depth: int = key(2, "transformer blocks of the decoder", True)
    decoder_heads: int = key(4, "attention heads of the decoder", True)
    pretrain_steps: int | None = key(
        BUDGETS["paper"].pretrain_steps, "optimiser updates of pretraining (the shared budget, methods/budget.py); "
        "None = pretrain_epochs passes over the pixels", True, identity="when_changed")
    pretrain_epochs: int = key(50, "passes over the pretraining pixels when pretrain_steps is None", True)
    pretrain_samples: int | None = key(None, "source pixels used (seeded subsample); None = all pixels", True)
    pretrain_batch_size: int = key(BUDGETS["paper"].pretrain_batch_size, "pretraining batch size", True)
    pretrain_lr: float = key(1e-3, "AdamW peak learning rate of pretraining", True)
    pretrain_beta2: float = key(0.95, "AdamW β₂ of pretraining (MAE's 0.95; 0.999 = the old recipe)", True,
                                identity="when_changed")
    pretrain_seed: int = key(0, "seed of pretraining (initialisation, pixels, masks); not the trial seed", True)
    # §6 FDC
    fdc: bool = key(True, "add the frequency-domain constraint to the pretraining loss", True)
    fdc_weight: float = key(0.1, "λ_fdc", True)
    fdc_cutoff: float = key(0.25, "high frequencies: above this fraction of Nyquist", True)
    fdc_axes: Literal["spectral", "spatial", "both"] = key("spectral", "rFFT along the bands, over the S×S grid, or both", True)
    # §7 fine-tuning and DAFT
    daft: bool = key(True, "diffusion-aligned fine-tuning (off: plain cross-entropy fine-tuning)")
    daft_steps: int = key(10, "T, diffusion steps of the cosine schedule")
    daft_weight: float = key(1.0, "λ_daft")
    daft_momentum: float = key(0.99, "EMA momentum of the teacher")
    daft_ema_warmup: bool = key(True, "ramp the teacher's EMA decay up to daft_momentum (timm's EMA warm-up); "
                                "off: 0.99 from the first update", identity="when_changed")
    daft_align: Literal["cosine", "mse"] = key("cosine", "feature alignment loss")
    daft_unlabeled: bool = key(False, "also align on unlabeled target pixels (drawn from every valid target pixel: transductive)")
    finetune_epochs: int = key(BUDGETS["paper"].finetune_epochs,
                               "passes over the support set (fixed length unless validation selects)")
    finetune_batch_size: int = key(BUDGETS["paper"].finetune_batch_size, "fine-tuning batch size (support pixels)")
    finetune_lr: float = key(BUDGETS["paper"].finetune_learning_rate, "AdamW peak learning rate of fine-tuning")
    probe_fraction: float = key(0.1, "share of the fine-tuning epochs spent as a linear probe (adapter and head "
                                "only, encoder frozen, no DAFT) before everything trains; 0 = none",
                                identity="when_changed")
    select_on_validation: bool = key(True, "keep the epoch with the best validation accuracy when the task has validation pixels")
    validation_interval: int = key(10, "epochs between validation checks")
    # shared
    weight_decay: float = key(0.05, "AdamW weight decay (pretraining and fine-tuning)", True)
    weight_decay_on_norms: bool = key(False, "also decay norms, biases, mask tokens and position embeddings "
                                      "(the old recipe; off = MAE's and timm's groups)", True, identity="when_changed")
    warmup_fraction: float = key(0.05, "share of updates spent in linear learning-rate warmup", True)
    warmup_start_factor: float | None = key(
        None, "learning rate of the first warm-up update / the peak; None = 1/(warm-up updates + 1), 0 = the old start at 0",
        True)
    amp: bool = key(True, "follow the trial's --precision (bf16/fp16 autocast); False: fp32 whatever the trial asks", True)
    compile: bool = key(False, "torch.compile the model for fine-tuning and inference; measure first (benchmarks/gpu_check.py)",
                        identity=False)

    def __post_init__(self) -> None:
        check_config(self)


def _in_unit_interval(value: float, name: str) -> None:
    if not 0 <= value < 1:
        raise ConfigError(f"{name} must lie in [0, 1), got {value}")


def check_config(config: S2FormerConfig) -> None:
    """Clear errors for values that cannot work, naming the key to change."""
    hints = typing.get_type_hints(S2FormerConfig)
    for item in dataclasses.fields(config):
        if typing.get_origin(hints[item.name]) is Literal and getattr(config, item.name) not in typing.get_args(hints[item.name]):
            raise ConfigError(f"{item.name}={getattr(config, item.name)!r}: must be one of {list(typing.get_args(hints[item.name]))}")
    for name in ("mask_ratio", "spectral_mask_ratio", "fdc_cutoff", "daft_momentum", "drop_path", "warmup_fraction",
                 "probe_fraction", "pretrain_beta2"):
        _in_unit_interval(getattr(config, name), name)
    positive = ("aligned_bands", "dim", "depth", "heads", "spectral_groups", "decoder_dim", "decoder_depth", "decoder_heads",
                "pretrain_batch_size", "daft_steps", "finetune_batch_size", "validation_interval")
    for name in positive:
        if getattr(config, name) < 1:
            raise ConfigError(f"{name} must be >= 1, got {getattr(config, name)}")
    for name in ("pretrain_epochs", "finetune_epochs"):
        if getattr(config, name) < 0:
            raise ConfigError(f"{name} must be >= 0, got {getattr(config, name)}")
    if config.warmup_start_factor is not None and not 0 <= config.warmup_start_factor <= 1:
        raise ConfigError(f"warmup_start_factor must lie in [0, 1] or be None (1/(warm-up updates + 1)), "
                          f"got {config.warmup_start_factor}")
    grid = config.wavelength_grid_nm
    if len(grid) != 2 or not 0 <= grid[0] < grid[1]:
        raise ConfigError(f"wavelength_grid_nm must be (start, stop) in nm with 0 <= start < stop, got {grid}")
    if config.pretrain_steps is not None and config.pretrain_steps < 1:
        raise ConfigError(f"pretrain_steps must be >= 1 or None (pretrain_epochs passes), got {config.pretrain_steps}")
    if config.pretrain_samples is not None and config.pretrain_samples < 1:
        raise ConfigError(f"pretrain_samples must be >= 1 or None (all pixels), got {config.pretrain_samples}")
    if config.decoder_dim % config.decoder_heads or config.decoder_dim % 4:
        raise ConfigError(f"decoder_dim ({config.decoder_dim}) must be divisible by decoder_heads ({config.decoder_heads}) and by 4")
    try:
        check_encoder_shape(encoder_shape(config, patch_size=1))
    except ValueError as error:
        raise ConfigError(str(error)) from None


def encoder_shape(config: S2FormerConfig, patch_size: int) -> EncoderShape:
    return EncoderShape(patch_size, config.aligned_bands, config.dim, config.depth, config.heads, config.mlp_ratio,
                        config.drop_path, config.spectral_groups, config.cross_attention)


def pretraining_config(config: S2FormerConfig) -> dict[str, Any]:
    """The config keys that change the pretrained encoder (and nothing else; the code enters the key as its fingerprint).

    The wavelength grid enters only where it is used (``band_alignment = "wavelength"``).
    """
    chosen = {item.name: getattr(config, item.name) for item in dataclasses.fields(config) if item.metadata["pretraining"]}
    if config.band_alignment != "wavelength":
        chosen.pop("wavelength_grid_nm")
    return chosen
