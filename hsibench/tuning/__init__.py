"""Tuning layer: choose a method's settings on a development protocol's *validation* pixels, through Ray Tune.

Between the runner and the reports: it builds trials the way the runner does (:mod:`.trainable`), samples
configs from the methods' search spaces (:mod:`.search_space`, from ``methods/search_spaces.py``), runs
the search (:mod:`.tuner`) and writes the winner as a preset file (:mod:`.preset_file`) that
``hsibench run --preset FILE.toml`` reads. Test pixels never enter: the trainable drops the split's test
subset before anything else sees it, and scores validation pixels only.

Names are imported on first use: reading a preset file (``hsibench run --preset``) needs neither torch nor Ray.
"""

from hsibench.lazy import lazy_exports

_NAMES = {
    "PresetFile": "preset_file", "PresetFileError": "errors", "TuningError": "errors",
    "load_preset_file": "preset_file", "write_preset_file": "preset_file", "preset_file_reference": "preset_file",
    "TuneRequest": "trainable", "evaluate_settings": "trainable",
    "TuningResult": "tuner", "tune_method": "tuner",
}

__getattr__ = lazy_exports(__name__, {name: f"hsibench.tuning.{module}" for name, module in _NAMES.items()})

__all__ = sorted(_NAMES)
