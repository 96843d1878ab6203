"""Fixed 2-D sin-cos position embedding of a patch's pixel grid, shared by S²Former and MAE.

MAE's choice (He et al., CVPR 2022): no parameters, so nothing about position has to be learned
from a few labelled patches, and the same function serves the encoder and the (narrower)
decoder. The numbers are timm's ``build_sincos2d_pos_embed`` (rows then columns, sines then
cosines per axis); this only fixes the layout our tokens use.
"""

from __future__ import annotations

import torch
from timm.layers.pos_embed_sincos import build_sincos2d_pos_embed


def pixel_position_embedding(patch_size: int, dim: int) -> torch.Tensor:
    """``[1, S², dim]`` for the S×S pixels in row-major order (the order of ``patches.reshape(n, S * S, C)``).

    ``dim`` must be divisible by 4 (a sine and a cosine per axis).
    """
    if dim % 4:
        raise ValueError(f"a 2-D sin-cos position embedding needs a width divisible by 4, got {dim}")
    return build_sincos2d_pos_embed([patch_size, patch_size], dim).unsqueeze(0)
