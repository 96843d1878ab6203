"""MAE's per-sample random masking of a token sequence, shared by S²Former's and MAE's pretraining.

Reference: He et al., "Masked Autoencoders Are Scalable Vision Learners", CVPR 2022
(``random_masking`` in github.com/facebookresearch/mae, models_mae.py). Each sample gets its own
uniform noise; sorting it gives a random permutation whose first K tokens stay visible. The
encoder then sees a dense ``[N, K, D]`` batch (no mask tokens, no padding) and the decoder puts
its outputs back in token order with ``ids_restore``.
"""

from __future__ import annotations

from typing import NamedTuple

import torch


class Masking(NamedTuple):
    visible: torch.Tensor  # [N, K, D] the kept tokens, in shuffled order
    mask: torch.Tensor  # [N, L] 1 = masked, 0 = visible, in token order
    ids_restore: torch.Tensor  # [N, L] gathering [visible ; K..L-1 filler] with it restores token order
    ids_keep: torch.Tensor  # [N, K] token indices of ``visible``


def kept_tokens(length: int, mask_ratio: float) -> int:
    """K = round((1 − mask_ratio)·L), and at least one: an encoder cannot attend over nothing."""
    keep = round((1 - mask_ratio) * length)
    if not 1 <= keep <= length:
        raise ValueError(f"mask_ratio {mask_ratio} keeps {keep} of {length} tokens; it must keep at least one")
    return keep


def random_masking(tokens: torch.Tensor, mask_ratio: float, generator: torch.Generator | None = None) -> Masking:
    """Mask ``mask_ratio`` of each sample's tokens ``[N, L, D]`` at random (see :class:`Masking` for the parts).

    With a ``generator`` the masks depend on it alone (the noise is drawn on its device, then
    moved); without one they come from torch's global generator.
    """
    n, length, dim = tokens.shape
    keep = kept_tokens(length, mask_ratio)
    device = generator.device if generator is not None else tokens.device
    noise = torch.rand(n, length, generator=generator, device=device).to(tokens.device)  # [N, L]
    ids_shuffle = torch.argsort(noise, dim=1)  # ascending: small noise is kept
    ids_restore = torch.argsort(ids_shuffle, dim=1)
    ids_keep = ids_shuffle[:, :keep]  # [N, K]
    visible = torch.gather(tokens, 1, ids_keep.unsqueeze(-1).expand(-1, -1, dim))
    mask = torch.ones(n, length, device=tokens.device)
    mask[:, :keep] = 0
    mask = torch.gather(mask, 1, ids_restore)  # back to token order
    return Masking(visible, mask, ids_restore, ids_keep)
