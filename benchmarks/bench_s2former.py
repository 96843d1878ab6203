"""Throughput of S²Former (``paper`` and ``cpu`` presets) next to a plain single-branch transformer.

Run: ``python benchmarks/bench_s2former.py [--device cpu|cuda] [--seconds 3]``. Not a test: it
prints samples/s on 9×9×103 patches (Pavia University's band count), batch 64, for

- S²Former: supervised step (cross-entropy, like fine-tuning without DAFT), DAFT step
  (cross-entropy + noised student pass + EMA teacher pass), masked pretraining step (decoder
  + FDC), inference;
- a plain transformer of equal width and depth: pixel tokens of the same band adapter through
  timm ViT blocks, mean-pooled, linear head — the same with one branch and no cross-attention.

The ratio column (plain / S²Former) is the price of the spectral branch and the cross-attention.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from tabulate import tabulate
from timm.models.vision_transformer import Block
from torch import nn

from hsibench.methods import resolve_config, resolve_device
from hsibench.methods.position_embedding import pixel_position_embedding
from hsibench.methods.s2former.band_alignment import LinearBandAdapter
from hsibench.methods.s2former.daft import DiffusionAlignment, EMATeacher
from hsibench.methods.s2former.method import encoder_shape
from hsibench.methods.s2former.model import (
    DecoderShape,
    S2Former,
    S2FormerEncoder,
    S2FormerMaskedAutoencoder,
)
from hsibench.methods.training import autocast

PATCH, BANDS, BATCH, CLASSES = 9, 103, 64, 9


class PlainTransformer(nn.Module):
    """Single-branch baseline: the S²Former spatial branch alone (adapter → pixel tokens → ViT blocks)."""

    def __init__(self, aligned_bands: int, dim: int, depth: int, heads: int, mlp_ratio: float) -> None:
        super().__init__()
        self.adapter = LinearBandAdapter(BANDS, aligned_bands)
        self.embed = nn.Linear(aligned_bands, dim)
        self.register_buffer("pos", pixel_position_embedding(PATCH, dim))
        self.blocks = nn.Sequential(*(Block(dim, heads, mlp_ratio, qkv_bias=True) for _ in range(depth)))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, CLASSES)

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        aligned = self.adapter(patches)
        n = aligned.shape[0]
        tokens = self.embed(aligned.reshape(n, PATCH * PATCH, -1)) + self.pos  # [N, S², D]
        return self.head(self.norm(self.blocks(tokens)).mean(dim=1))


def samples_per_second(step: Callable[[], None], device: torch.device, seconds: float) -> float:
    for _ in range(3):  # warm-up (allocator, kernels)
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        count += 1
    if device.type == "cuda":
        torch.cuda.synchronize()
    return count * BATCH / (time.perf_counter() - start)


def training_step(model: nn.Module, loss_of: Callable[[], torch.Tensor]) -> Callable[[], None]:
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        loss_of().backward()
        optimizer.step()

    return step


def measure(preset: str, device: torch.device, seconds: float, amp: bool) -> list[list]:
    config = resolve_config("s2former", preset)
    patches = torch.randn(BATCH, PATCH, PATCH, BANDS, device=device)
    labels = torch.randint(CLASSES, (BATCH,), device=device)
    encoder = S2FormerEncoder(encoder_shape(config, PATCH))
    s2former = S2Former(LinearBandAdapter(BANDS, config.aligned_bands), encoder, CLASSES).to(device).train()
    autoencoder = S2FormerMaskedAutoencoder(
        LinearBandAdapter(BANDS, config.aligned_bands), S2FormerEncoder(encoder_shape(config, PATCH)), BANDS,
        DecoderShape(config.decoder_dim, config.decoder_depth, config.decoder_heads)).to(device).train()
    plain = PlainTransformer(config.aligned_bands, config.dim, config.depth, config.heads, config.mlp_ratio).to(device).train()
    teacher = EMATeacher(s2former, config.daft_momentum)
    alignment = DiffusionAlignment(config.daft_steps, config.daft_align)

    def with_amp(loss: Callable[[], torch.Tensor]) -> Callable[[], torch.Tensor]:
        def run() -> torch.Tensor:
            with autocast(device, amp):
                return loss()
        return run

    def inference(model: nn.Module) -> Callable[[], None]:
        @torch.no_grad()
        def step() -> None:
            model.eval()
            with autocast(device, amp):
                model(patches)
            model.train()
        return step

    def daft_loss() -> torch.Tensor:
        loss = F.cross_entropy(s2former(patches).float(), labels) + config.daft_weight * alignment(s2former, teacher, patches)
        teacher.update(s2former)
        return loss

    generator = torch.Generator().manual_seed(0)
    pretrain_loss = lambda: autoencoder(patches, config.mask_ratio, config.spectral_mask_ratio, generator,
                                        config.fdc_weight, config.fdc_cutoff, config.fdc_axes)["loss"]
    rate = lambda step: samples_per_second(step, device, seconds)
    s2_train = rate(training_step(s2former, with_amp(lambda: F.cross_entropy(s2former(patches).float(), labels))))
    plain_train = rate(training_step(plain, with_amp(lambda: F.cross_entropy(plain(patches).float(), labels))))
    s2_infer, plain_infer = rate(inference(s2former)), rate(inference(plain))
    daft = rate(training_step(s2former, with_amp(daft_loss)))
    pretraining = rate(training_step(autoencoder, with_amp(pretrain_loss)))
    shape = f"d={config.dim} L={config.depth} h={config.heads} C0={config.aligned_bands} G={config.spectral_groups}"
    return [
        [preset, shape, "train (CE step)", f"{s2_train:,.0f}", f"{plain_train:,.0f}", f"{plain_train / s2_train:.2f}"],
        [preset, shape, "inference", f"{s2_infer:,.0f}", f"{plain_infer:,.0f}", f"{plain_infer / s2_infer:.2f}"],
        [preset, shape, "DAFT step", f"{daft:,.0f}", "", ""],
        [preset, shape, "pretrain step (mask+FDC)", f"{pretraining:,.0f}", "", ""],
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--seconds", type=float, default=3.0, help="timed seconds per measurement")
    parser.add_argument("--presets", default="paper,cpu", help="comma-separated s2former presets")
    parser.add_argument("--no-amp", action="store_true", help="disable bf16 autocast on CUDA")
    args = parser.parse_args()
    device = resolve_device(args.device)
    torch.manual_seed(0)
    rows = [row for preset in args.presets.split(",") for row in measure(preset, device, args.seconds, not args.no_amp)]
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} thread(s)"
    print(f"S²Former throughput, {PATCH}×{PATCH}×{BANDS} patches, batch {BATCH}, {where}")
    print(tabulate(rows, headers=["preset", "architecture", "step", "S²Former samples/s", "plain samples/s",
                                  "plain / S²Former"], tablefmt="github"))


if __name__ == "__main__":
    main()
