"""How a table shows methods and classes: display names, and the default order of the main table's columns.

Tables key their rows and columns by registry names (``s2former``, ``Brocoli_green_weeds_1``); only
their headers use these display names, so the CSV keeps the machine names beside them.

Method display names live here, in the report layer, because a method's registry entry
(:class:`~hsibench.methods.info.MethodInfo`) has no display field; a method missing from
:data:`METHOD_DISPLAY_NAMES` (a plugin) is shown by its registry name. An ablation variant is
shown as its base's display name and what the variant changes (:data:`VARIANT_CHANGES`), e.g.
"S²Former w/o FDC".

Column order of ``table main`` (:func:`method_order_key`): the proposed method first, then the
baselines grouped by family in :data:`FAMILY_ORDER` — the one that shares the proposed method's
recipe of self-supervised pretraining (MAE), then those trained on the target support set alone,
the classical before the deep (SVM; 3D-CNN, SSFTT), then those that also read source labels (†:
DCFSL, fine-tuning) — and by registry name within a family; families not listed come last, by name.
"""

from __future__ import annotations

import re

#: registry name → the name a paper table prints
METHOD_DISPLAY_NAMES = {
    "s2former": "S²Former",
    "mae": "MAE",
    "svm": "SVM",
    "cnn3d": "3D-CNN",  # HybridSN (Roy et al. 2020), a 3-D + 2-D CNN: the suite's 3-D CNN baseline
    "ssftt": "SSFTT",
    "dcfsl": "DCFSL",
    "finetune": "Fine-tune",
}

#: the suffix of an ablation variant's registry name → what it changes, as an ablation row says it
VARIANT_CHANGES = {
    "no-xattn": "w/o cross-attention",
    "spa2spe": "spatial → spectral only",
    "spe2spa": "spectral → spatial only",
    "no-fdc": "w/o FDC",
    "no-daft": "w/o DAFT",
    "no-pretrain": "w/o pretraining",
    "no-mask": "w/o masking",
    "mask-zero": "masked pixels as zeros",
    "ema-cold": "EMA without warm-up",
    "no-probe": "w/o linear probe",
    "lr0-warmup": "warm-up from lr 0",
}

#: family order of the main table's baselines (families as :class:`~hsibench.methods.info.MethodInfo` names them)
FAMILY_ORDER = ("proposed", "self-supervised", "classical", "supervised deep", "cross-domain few-shot",
                "supervised transfer")


def method_display_name(name: str, base: str | None = None) -> str:
    """``s2former`` → ``S²Former``; ``s2former-no-fdc`` (a variant of ``s2former``) → ``S²Former w/o FDC``;
    an unknown name → itself."""
    if name in METHOD_DISPLAY_NAMES:
        return METHOD_DISPLAY_NAMES[name]
    if base is None:
        base = next((known for known in sorted(METHOD_DISPLAY_NAMES, key=len, reverse=True)
                     if name.startswith(f"{known}-")), None)
    if base is not None and name.startswith(f"{base}-"):
        change = name[len(base) + 1:]
        return f"{method_display_name(base)} {VARIANT_CHANGES.get(change, f'({change})')}"
    return name


def class_display_name(name: str) -> str:
    """``Brocoli_green_weeds_1`` → ``Brocoli green weeds 1``: underscores to spaces, runs of spaces collapsed."""
    return re.sub(r"\s+", " ", name.replace("_", " ")).strip() or name


def method_order_key(method: str, family: str | None, proposed: str | None) -> tuple:
    """Sort key of the main table's default columns (see the module docstring)."""
    rank = FAMILY_ORDER.index(family) if family in FAMILY_ORDER else len(FAMILY_ORDER)
    return (method != proposed, rank, family or "", method)


def latex_label(kind: str, protocol: str, suffix: str = "") -> str:
    """``tab:main-sa_a_r2l`` (``tab:<kind>-<protocol>[-<suffix>]``), with any character a ``\\label`` or
    ``\\ref`` could trip on (anything but letters, digits, ``_ . : -``) replaced by ``-``."""
    text = "-".join(part for part in (kind, protocol, suffix) if part)
    return "tab:" + re.sub(r"[^A-Za-z0-9_.:-]", "-", text)
