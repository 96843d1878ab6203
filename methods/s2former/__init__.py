"""S²Former (Chao et al., arXiv 2601.18088, 2026): the proposed method, registered with its ablation variants.

Files: band_alignment (§1), model (§2–§5, §8), fdc (§6), daft (§7), config (every key, its default
and check), pretraining / finetuning (the two loops, both reading the config), method (presets,
variants, the Method class). Masking, position embeddings, the learning-rate schedule and the
optimiser step are the methods layer's shared blocks. See README.md.
"""

from hsibench.methods.s2former.config import S2FormerConfig
from hsibench.methods.s2former.method import ABLATIONS, S2FormerMethod
from hsibench.methods.s2former.model import S2Former, S2FormerEncoder, S2FormerMaskedAutoencoder

__all__ = ["ABLATIONS", "S2Former", "S2FormerConfig", "S2FormerEncoder", "S2FormerMaskedAutoencoder", "S2FormerMethod"]
