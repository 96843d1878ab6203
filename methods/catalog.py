"""The built-in methods as data: which module registers each, and the facts ``hsibench methods list`` shows.

The registry imports a built-in method's module only when that method is looked up, and
``methods list`` prints these facts without importing torch. The modules' own
``register_method`` / ``register_variant`` calls remain the truth: a test checks that every entry
here says exactly what its module registers.
"""

from __future__ import annotations

from dataclasses import dataclass

from hsibench.methods.info import MethodInfo


@dataclass(frozen=True)
class BuiltinMethod:
    module: str  # the module whose import registers it
    info: MethodInfo
    base: str | None = None  # the method a variant derives from


# the order of `hsibench methods list` is by name
BUILTIN_METHODS: dict[str, BuiltinMethod] = {
    'cnn3d': BuiltinMethod('hsibench.methods.cnn3d', MethodInfo('cnn3d', 'supervised deep', False, False,
        'Roy et al., IEEE GRSL 2020, HybridSN: Exploring 3-D–2-D CNN Feature Hierarchy for Hyperspectral Image Classification',
        'HybridSN (3-D + 2-D CNN on PCA-reduced patches) trained from scratch on the target support set.')),
    'dcfsl': BuiltinMethod('hsibench.methods.dcfsl', MethodInfo('dcfsl', 'cross-domain few-shot', True, False,
        'Li et al., IEEE TGRS 2022, Deep Cross-Domain Few-Shot Learning for Hyperspectral Image Classification',
        'DCFSL: episodic few-shot learning on source and target classes with conditional adversarial alignment; 1-NN.')),
    'finetune': BuiltinMethod('hsibench.methods.finetune', MethodInfo('finetune', 'supervised transfer', True, True,
        'Yosinski et al., NeurIPS 2014, How transferable are features in deep neural networks?',
        'Supervised pretraining on the labelled source, then a new mapping layer and head fine-tuned on the target support.')),
    'mae': BuiltinMethod('hsibench.methods.mae', MethodInfo('mae', 'self-supervised', False, True,
        'He et al., CVPR 2022, Masked Autoencoders Are Scalable Vision Learners',
        'Single-branch masked-autoencoder pretraining on the unlabelled source (pixel tokens), then plain fine-tuning.')),
    's2former': BuiltinMethod('hsibench.methods.s2former', MethodInfo('s2former', 'proposed', False, True,
        'J. Chao, T. Lv, Q. Ma, Y. Qiu, L. Fang, H. Shen, W. Yao, "Cross-Domain Transfer with Self-Supervised Spectral-Spatial Modeling for Hyperspectral Image Classification", arXiv 2601.18088, 2026',
        'S²Former: dual-branch spatial-spectral transformer, masked pretraining + FDC, DAFT fine-tuning')),
    's2former-ema-cold': BuiltinMethod('hsibench.methods.s2former', MethodInfo('s2former-ema-cold', 'proposed', False, True,
        'J. Chao, T. Lv, Q. Ma, Y. Qiu, L. Fang, H. Shen, W. Yao, "Cross-Domain Transfer with Self-Supervised Spectral-Spatial Modeling for Hyperspectral Image Classification", arXiv 2601.18088, 2026',
        'S²Former whose DAFT teacher averages at 0.99 from its first update (no EMA warm-up)'), base='s2former'),
    's2former-lr0-warmup': BuiltinMethod('hsibench.methods.s2former', MethodInfo('s2former-lr0-warmup', 'proposed', False, True,
        'J. Chao, T. Lv, Q. Ma, Y. Qiu, L. Fang, H. Shen, W. Yao, "Cross-Domain Transfer with Self-Supervised Spectral-Spatial Modeling for Hyperspectral Image Classification", arXiv 2601.18088, 2026',
        'S²Former whose warm-ups start at learning rate 0 (the first update of each loop moves nothing)'), base='s2former'),
    's2former-mask-zero': BuiltinMethod('hsibench.methods.s2former', MethodInfo('s2former-mask-zero', 'proposed', False, True,
        'J. Chao, T. Lv, Q. Ma, Y. Qiu, L. Fang, H. Shen, W. Yao, "Cross-Domain Transfer with Self-Supervised Spectral-Spatial Modeling for Hyperspectral Image Classification", arXiv 2601.18088, 2026',
        'S²Former whose spectral branch sees masked pixels as zeros in pretraining (the old input)'), base='s2former'),
    's2former-no-daft': BuiltinMethod('hsibench.methods.s2former', MethodInfo('s2former-no-daft', 'proposed', False, True,
        'J. Chao, T. Lv, Q. Ma, Y. Qiu, L. Fang, H. Shen, W. Yao, "Cross-Domain Transfer with Self-Supervised Spectral-Spatial Modeling for Hyperspectral Image Classification", arXiv 2601.18088, 2026',
        'S²Former with plain fine-tuning instead of DAFT'), base='s2former'),
    's2former-no-fdc': BuiltinMethod('hsibench.methods.s2former', MethodInfo('s2former-no-fdc', 'proposed', False, True,
        'J. Chao, T. Lv, Q. Ma, Y. Qiu, L. Fang, H. Shen, W. Yao, "Cross-Domain Transfer with Self-Supervised Spectral-Spatial Modeling for Hyperspectral Image Classification", arXiv 2601.18088, 2026',
        'S²Former without the frequency-domain constraint'), base='s2former'),
    's2former-no-mask': BuiltinMethod('hsibench.methods.s2former', MethodInfo('s2former-no-mask', 'proposed', False, True,
        'J. Chao, T. Lv, Q. Ma, Y. Qiu, L. Fang, H. Shen, W. Yao, "Cross-Domain Transfer with Self-Supervised Spectral-Spatial Modeling for Hyperspectral Image Classification", arXiv 2601.18088, 2026',
        'S²Former pretrained without masking (plain autoencoder)'), base='s2former'),
    's2former-no-pretrain': BuiltinMethod('hsibench.methods.s2former', MethodInfo('s2former-no-pretrain', 'proposed', False, False,
        'J. Chao, T. Lv, Q. Ma, Y. Qiu, L. Fang, H. Shen, W. Yao, "Cross-Domain Transfer with Self-Supervised Spectral-Spatial Modeling for Hyperspectral Image Classification", arXiv 2601.18088, 2026',
        'S²Former from random initialisation (no source pretraining)'), base='s2former'),
    's2former-no-probe': BuiltinMethod('hsibench.methods.s2former', MethodInfo('s2former-no-probe', 'proposed', False, True,
        'J. Chao, T. Lv, Q. Ma, Y. Qiu, L. Fang, H. Shen, W. Yao, "Cross-Domain Transfer with Self-Supervised Spectral-Spatial Modeling for Hyperspectral Image Classification", arXiv 2601.18088, 2026',
        'S²Former fine-tuned without the linear probe (encoder moves from the first update)'), base='s2former'),
    's2former-no-xattn': BuiltinMethod('hsibench.methods.s2former', MethodInfo('s2former-no-xattn', 'proposed', False, True,
        'J. Chao, T. Lv, Q. Ma, Y. Qiu, L. Fang, H. Shen, W. Yao, "Cross-Domain Transfer with Self-Supervised Spectral-Spatial Modeling for Hyperspectral Image Classification", arXiv 2601.18088, 2026',
        'S²Former without cross-attention (branches meet only at pooling)'), base='s2former'),
    's2former-spa2spe': BuiltinMethod('hsibench.methods.s2former', MethodInfo('s2former-spa2spe', 'proposed', False, True,
        'J. Chao, T. Lv, Q. Ma, Y. Qiu, L. Fang, H. Shen, W. Yao, "Cross-Domain Transfer with Self-Supervised Spectral-Spatial Modeling for Hyperspectral Image Classification", arXiv 2601.18088, 2026',
        'S²Former, one-way spatial → spectral (the spectral branch attends to the spatial one)'), base='s2former'),
    's2former-spe2spa': BuiltinMethod('hsibench.methods.s2former', MethodInfo('s2former-spe2spa', 'proposed', False, True,
        'J. Chao, T. Lv, Q. Ma, Y. Qiu, L. Fang, H. Shen, W. Yao, "Cross-Domain Transfer with Self-Supervised Spectral-Spatial Modeling for Hyperspectral Image Classification", arXiv 2601.18088, 2026',
        'S²Former, one-way spectral → spatial (the spatial branch attends to the spectral one)'), base='s2former'),
    'ssftt': BuiltinMethod('hsibench.methods.ssftt', MethodInfo('ssftt', 'supervised deep', False, False,
        'Sun et al., IEEE TGRS 2022, Spectral–Spatial Feature Tokenization Transformer for Hyperspectral Image Classification',
        'SSFTT (3-D/2-D convolutions, Gaussian-weighted tokenizer, transformer) trained on the target support set.')),
    'svm': BuiltinMethod('hsibench.methods.svm', MethodInfo('svm', 'classical', False, False,
        'Melgani & Bruzzone, IEEE TGRS 2004, Classification of Hyperspectral Remote Sensing Images With Support Vector Machines',
        "RBF SVM on each support pixel's standardised spectrum; C and γ by cross-validation on the support set.")),
}
