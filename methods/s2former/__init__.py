"""S²Former (Chao et al., arXiv 2601.18088, 2026): the proposed method, registered with its ablation variants.

Files: band_alignment (§1), model (§2–§5, §8), fdc (§6), daft (§7), pretraining / finetuning
(the two loops), method (config, presets, variants, the Method class). See README.md.
"""

from hsibench.methods.s2former.method import ABLATIONS, S2FormerConfig, S2FormerMethod
from hsibench.methods.s2former.model import S2Former, S2FormerEncoder, S2FormerMaskedAutoencoder

__all__ = ["ABLATIONS", "S2Former", "S2FormerConfig", "S2FormerEncoder", "S2FormerMaskedAutoencoder", "S2FormerMethod"]
