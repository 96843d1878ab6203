"""The fine-tuned model of a trial, kept in one file beside its record, and applied later to other cubes.

``hsibench run --save-model`` writes ``DIR/<protocol>/runs/<record name>.model.pt`` next to the trial's record
``<record name>.json`` (the record name holds the run id, so the two are found by name). The file is written to a
temporary name in the same folder and renamed (``os.replace``), so it is whole or absent, never half written.

**Format** (``torch.save`` of one dict; ``format = "hsibench-model"``, ``format_version = 1``):

- what the model is: ``method`` (registered name), ``method_base``, ``preset``, ``config`` (the resolved config
  as plain data), ``plugins`` (modules that register the method, if any);
- which trial made it: ``run_id``, ``record_name``, ``protocol_name``, ``protocol`` (its identity), ``seed``,
  ``split_fingerprint``, ``scene`` (the target scene it was adapted to);
- what its outputs mean: ``class_ids`` (the scene's own ids, in class-index order) and ``class_names``;
- what its input must be: ``bands``, ``wavelengths_nm`` (``None`` where the scene has none), ``patch_size``,
  ``padding``, and ``normalisation`` = ``{"mode", "mean", "std"}``: the per-band statistics the trial z-scored its
  target with (``mode`` is the protocol's: ``scene`` = every valid target pixel, ``train`` = the support pixels,
  ``none`` = no z-score, ``mean``/``std`` then ``None``);
- ``state``: the method's :meth:`~hsibench.methods.base.Method.state_dict` (weights, fitted estimators, PCA…);
- provenance: ``hsibench_version``, ``code`` (the fingerprint of the method's code, as in the record), ``saved_at``.

The state of a classical method is a pickled scikit-learn estimator, so loading runs pickle: load only model
files you trust (as with any ``torch.load(weights_only=False)``).

**Normalisation of a new cube.** By default (``statistics="model"``) a cube is z-scored with the *trained model's*
statistics: the input the weights were fitted to, and the only choice under which predicting the training scene
again gives the trial's own predictions. ``statistics="cube"`` refits mean and std on the new cube (every valid
pixel: the ``scene`` rule applied to it) — the transductive choice for a cube whose units or illumination differ
from the training scene's (another sensor, another flight). Either way what the method fitted itself on the
training target (a PCA, a band adapter) stays in its state, unchanged.

Prediction (:meth:`SavedModel.predict_scene`) reads the cube in row tiles of about ``batch_pixels`` pixels (with a
halo of ``patch_size // 2`` rows), so it never holds a normalised copy of a large cube; the labels equal those of
one whole-scene sampler (same padding at the scene's borders, same z-score), tile size aside.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hsibench import __version__
from hsibench.data import Scene
from hsibench.errors import HsibenchError
from hsibench.methods import RunContext, create_method, get_method_entry, resolve_device
from hsibench.methods.registry import UnknownMethodError
from hsibench.protocol import Domain, FewShotTask
from hsibench.protocol.normalise import band_statistics, normalisation_statistics
from hsibench.protocol.patches import PatchSampler
from hsibench.protocol.split import Split
from hsibench.provenance import code_fingerprint
from hsibench.runner.layout import ResultsLayout
from hsibench.runner.records import atomic_file
from hsibench.runner.spec import ResolvedTrial, config_dict, load_plugins, protocol_identity
from hsibench.runner.user_cube import resample_cube

log = logging.getLogger(__name__)

MODEL_FORMAT = "hsibench-model"
MODEL_FORMAT_VERSION = 1
MODEL_SUFFIX = ".model.pt"
#: how a new cube is z-scored: with the trained model's statistics, or with statistics refitted on the cube
STATISTICS_CHOICES = ("model", "cube")
#: pixels per prediction tile: ~52 MB of float32 patches source for a 200-band cube, whatever the scene size
DEFAULT_BATCH_PIXELS = 65_536
_REQUIRED = ("method", "preset", "config", "run_id", "record_name", "class_ids", "class_names", "bands",
             "patch_size", "padding", "normalisation", "state")


class SavedModelError(HsibenchError):
    """A model file that is missing, damaged, not an hsibench model, or made by code this one cannot load."""


class BandCountError(SavedModelError, ValueError):
    """A cube whose band count is not the model's; the message names both and what would make them agree."""


def model_path(out_dir: Path | str, protocol_name: str, record_name: str) -> Path:
    """``DIR/<protocol>/runs/<record name>.model.pt``: beside the record ``<record name>.json``."""
    return ResultsLayout(Path(out_dir)).runs_dir(protocol_name) / f"{record_name}{MODEL_SUFFIX}"


def target_statistics(resolved: ResolvedTrial, split: Split, scene: Scene) -> tuple[np.ndarray, np.ndarray] | None:
    """The (mean, std) :func:`~hsibench.protocol.build_task` z-scored the target with (the same rule and inputs)."""
    protocol = resolved.protocol
    train_coords = split.support.coords if protocol.normalisation == "train" else None
    return normalisation_statistics(scene.cube, protocol.normalisation, train_coords, valid_mask=scene.valid_mask)


def _check_statistics_match(task: FewShotTask, scene: Scene, statistics: tuple[np.ndarray, np.ndarray] | None) -> None:
    """The statistics saved must be the ones the trial's sampler used: checked on a few pixels, bit for bit."""
    coords = task.target.valid_coords()
    picks = coords[np.linspace(0, len(coords) - 1, min(len(coords), 64)).astype(np.int64)]
    raw = np.asarray(scene.cube[picks[:, 0], picks[:, 1]], np.float32)
    expected = raw if statistics is None else (raw - statistics[0]) / statistics[1]
    used = task.target.patches.spectra(picks).numpy()
    if not np.array_equal(expected, used):
        raise RuntimeError("the normalisation statistics recomputed for the saved model differ from those the "
                           "trial's target sampler used; save_trial_model's rule no longer matches build_task's")


def _write_atomically(path: Path, payload: dict[str, Any]) -> Path:
    with atomic_file(path) as temporary, open(temporary, "wb") as handle:
        torch.save(payload, handle)
        handle.flush()
        os.fsync(handle.fileno())
    return path


def save_trial_model(method: Any, task: FewShotTask, resolved: ResolvedTrial, scene: Scene, split: Split,
                     path: Path | None = None) -> Path:
    """Write the adapted ``method`` of a trial, with everything needed to apply it to another cube (see the module
    docstring); by default to :func:`model_path` of the trial. Returns the path."""
    spec, protocol = resolved.spec, resolved.protocol
    statistics = target_statistics(resolved, split, scene)
    _check_statistics_match(task, scene, statistics)
    module = resolved.entry.method_class.__module__
    fingerprint = code_fingerprint(module)
    wavelengths = task.target.wavelengths_nm
    payload = {
        "format": MODEL_FORMAT, "format_version": MODEL_FORMAT_VERSION,
        "method": spec.method, "method_base": resolved.entry.base, "preset": spec.preset,
        "config": config_dict(resolved.config), "plugins": list(spec.plugins),
        "run_id": resolved.run_id, "record_name": resolved.record_name, "protocol_name": protocol.name,
        "protocol": protocol_identity(protocol), "seed": spec.seed, "split_fingerprint": split.fingerprint,
        "scene": task.target.name,
        "class_ids": [int(c) for c in task.class_ids], "class_names": [str(n) for n in task.class_names],
        "bands": int(task.target.bands),
        "wavelengths_nm": None if wavelengths is None else np.asarray(wavelengths, np.float64).tolist(),
        "patch_size": int(task.target.patches.patch_size), "padding": protocol.padding,
        "normalisation": {"mode": protocol.normalisation,
                          "mean": None if statistics is None else np.asarray(statistics[0], np.float32),
                          "std": None if statistics is None else np.asarray(statistics[1], np.float32)},
        "state": method.state_dict(),
        "hsibench_version": __version__,
        "code": {"digest": fingerprint.digest, "shared_digest": fingerprint.shared_digest, "method_module": module,
                 "git_commit": fingerprint.git_commit, "git_dirty": fingerprint.git_dirty},
        "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    target = path or model_path(spec.out_dir, protocol.name, resolved.record_name)
    return _write_atomically(Path(target), payload)


# --- loading --------------------------------------------------------------------------------------------


def _tuple_fields(value: Any, annotation: Any) -> Any:
    """A config value read back from plain data (JSON lists) as its field's type declares it (tuples, nested)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        sequences = [a for a in typing.get_args(annotation) if typing.get_origin(a) in (tuple, list)]
        return _tuple_fields(value, sequences[0]) if sequences and isinstance(value, list | tuple) else value
    if origin not in (tuple, list) or not isinstance(value, list | tuple):
        return value
    args = typing.get_args(annotation)
    if origin is list or (len(args) == 2 and args[1] is Ellipsis):
        items = [_tuple_fields(item, args[0] if args else Any) for item in value]
    else:  # tuple[A, B, …]: one type per position
        items = [_tuple_fields(item, args[i] if i < len(args) else Any) for i, item in enumerate(value)]
    return tuple(items) if origin is tuple else items


def config_from_dict(method: str, data: dict[str, Any]) -> Any:
    """The method's config dataclass from the plain data a model file holds; refuses keys today's code lacks and
    checks the round trip (the config must come back exactly as saved)."""
    config_class = get_method_entry(method).config_class
    hints = typing.get_type_hints(config_class)
    fields = {item.name for item in dataclasses.fields(config_class)}
    unknown = sorted(set(data) - fields)
    if unknown:
        raise SavedModelError(f"the model's {method} config has key(s) {unknown} that today's {method} code does not "
                              "know; load it with the hsibench version that saved it")
    missing = sorted(fields - set(data))
    if missing:
        log.warning("the saved %s config lacks %s (added since): today's defaults are used", method, missing)
    config = config_class(**{key: _tuple_fields(value, hints[key]) for key, value in data.items()})
    if {k: v for k, v in config_dict(config).items() if k in data} != data:
        raise SavedModelError(f"the model's {method} config cannot be rebuilt exactly by today's code")
    return config


@dataclass(frozen=True)
class SavedModel:
    """A model file read back: its facts, and what rebuilds the method and applies it to a :class:`Scene`."""

    path: Path
    method: str
    method_base: str | None
    preset: str
    config: dict[str, Any]
    plugins: tuple[str, ...]
    run_id: str
    record_name: str
    protocol_name: str
    seed: int
    scene: str
    class_ids: tuple[int, ...]
    class_names: tuple[str, ...]
    bands: int
    wavelengths_nm: np.ndarray | None
    patch_size: int
    padding: str
    normalisation: str
    mean: np.ndarray | None
    std: np.ndarray | None
    state: dict
    hsibench_version: str
    code: dict[str, Any]
    saved_at: str | None
    split_fingerprint: str | None = None

    @property
    def num_classes(self) -> int:
        return len(self.class_ids)

    @property
    def record_path(self) -> Path:
        """Where the trial's record is, when the model file is still beside it."""
        return self.path.with_name(self.path.name.removesuffix(MODEL_SUFFIX) + ".json")

    def class_name_map(self) -> dict[int, str]:
        return dict(zip(self.class_ids, self.class_names))

    def describe(self) -> list[str]:
        """Lines for ``hsibench predict --info``."""
        wavelengths = ("none on record" if self.wavelengths_nm is None else
                       f"{self.wavelengths_nm.min():.1f}–{self.wavelengths_nm.max():.1f} nm")
        statistics = ("none (raw values)" if self.mean is None else
                      f"{self.normalisation} statistics of {self.scene} (per-band mean/std, saved)")
        return [
            f"model file   {self.path}",
            f"method       {self.method} (preset {self.preset})" + (f", variant of {self.method_base}"
                                                                   if self.method_base else ""),
            f"trial        {self.record_name} (protocol {self.protocol_name}, seed {self.seed}, run id {self.run_id})",
            f"adapted to   {self.scene}: {self.bands} bands ({wavelengths}), patch {self.patch_size}×{self.patch_size}, "
            f"{self.padding} padding",
            f"z-score      {statistics}",
            "classes      " + ", ".join(f"{i} {n}" for i, n in zip(self.class_ids, self.class_names)),
            f"saved by     hsibench {self.hsibench_version}, code {str(self.code.get('digest'))[:8]}"
            + (f", at {self.saved_at}" if self.saved_at else ""),
        ]

    # --- the method ---------------------------------------------------------------------------------

    def build_method(self, device: str = "auto", inference_batch_size: int = 0) -> Any:
        """The registered method, created with the saved config and loaded with the saved state."""
        try:
            get_method_entry(self.method)
        except UnknownMethodError:
            try:
                load_plugins(self.plugins)
            except (ImportError, FileNotFoundError) as error:
                raise SavedModelError(f"{self.path}: method {self.method!r} is not registered and its plugin(s) "
                                      f"{list(self.plugins)} cannot be imported here ({error}); give --plugin") from None
            try:
                get_method_entry(self.method)
            except UnknownMethodError:
                raise SavedModelError(f"{self.path}: method {self.method!r} is not registered here; import the "
                                      "module that registers it (--plugin MODULE|FILE.py)") from None
        config = config_from_dict(self.method, self.config)
        context = RunContext(seed=self.seed, device=resolve_device(device), inference_batch_size=inference_batch_size)
        method = create_method(self.method, context, self.preset, config=config)
        try:
            method.load_state_dict(self.state)
        except (KeyError, RuntimeError, ValueError, TypeError) as error:
            raise SavedModelError(f"{self.path}: the saved {self.method} state does not fit today's {self.method} "
                                  f"code ({type(error).__name__}: {error}); load it with hsibench "
                                  f"{self.hsibench_version}, which saved it") from error
        current = code_fingerprint(get_method_entry(self.method).method_class.__module__).digest
        if self.code.get("digest") and current != self.code["digest"]:
            log.warning("%s was saved by other code (%s, today %s): its labels may differ from the trial's record",
                        self.path.name, str(self.code["digest"])[:8], current[:8])
        return method

    # --- the input ----------------------------------------------------------------------------------

    def band_mismatch(self, bands: int, scene: str = "the cube", shape: tuple[int, ...] | None = None,
                      wavelengths_nm: np.ndarray | None = None) -> str | None:
        """Why a cube of ``bands`` bands cannot be given to this model and what would fix it (None: it can)."""
        if bands == self.bands:
            return None
        lines = [f"{scene} has {bands} bands, but the model ({self.method}, adapted to {self.scene}) takes "
                 f"{self.bands} bands."]
        if shape is not None and len(shape) == 3 and self.bands in (shape[0], shape[1]) and shape[2] != self.bands:
            lines.append(f"The cube's shape is {tuple(shape)}: if it is stored bands first (bands, height, width), "
                         "add --bands-first.")
        if self.wavelengths_nm is None:
            lines.append(f"The model's scene has no band centres on record, so no resampling can match them: give a "
                         f"cube with the same {self.bands} bands, in the same order.")
        else:
            low, high = float(self.wavelengths_nm.min()), float(self.wavelengths_nm.max())
            lines.append(f"The model's bands are centred at {low:.1f}–{high:.1f} nm. Give a cube with those {self.bands} "
                         "bands, or give this cube's band centres (--wavelengths FILE) with --resample to interpolate "
                         "it onto the model's band centres.")
            if wavelengths_nm is not None:
                covered = float(np.min(wavelengths_nm)) <= low + 1e-6 and float(np.max(wavelengths_nm)) >= high - 1e-6
                lines.append(f"This cube's bands cover {np.min(wavelengths_nm):.1f}–{np.max(wavelengths_nm):.1f} nm: "
                             + ("enough, so --resample can make the model's bands." if covered else
                                "not the model's whole range, so resampling cannot make every band the model needs."))
            if self.config.get("band_alignment") == "wavelength":
                lines.append("(This model's band_alignment=wavelength maps its input onto a common wavelength grid "
                             f"through the {self.bands} band centres of {self.scene}, so the cube must arrive on those "
                             "centres.)")
            lines.append("A cube from another sensor is in other units: consider --statistics cube as well.")
        return " ".join(lines)

    def check_bands(self, bands: int, scene: str = "the cube", shape: tuple[int, ...] | None = None,
                    wavelengths_nm: np.ndarray | None = None) -> None:
        problem = self.band_mismatch(bands, scene, shape, wavelengths_nm)
        if problem:
            raise BandCountError(problem)

    def resampled(self, scene: Scene) -> Scene:
        """``scene`` interpolated onto the model's band centres (needs both sets of centres)."""
        if self.wavelengths_nm is None:
            raise SavedModelError(f"--resample: the model's scene {self.scene} has no band centres on record, so "
                                  "there is nothing to resample onto")
        if scene.wavelengths_nm is None:
            raise SavedModelError("--resample needs the cube's band centres: give --wavelengths FILE (nm, one per band)")
        cube = resample_cube(scene.cube, scene.wavelengths_nm, self.wavelengths_nm, scene.name)
        return dataclasses.replace(scene, cube=cube, wavelengths_nm=np.asarray(self.wavelengths_nm, np.float64),
                                   metadata={**scene.metadata, "resampled_from_bands": scene.bands})

    def statistics_for(self, scene: Scene, mode: str = "model") -> tuple[np.ndarray, np.ndarray] | None:
        """The (mean, std) a cube is z-scored with: the model's (``model``) or refitted on it (``cube``)."""
        if mode not in STATISTICS_CHOICES:
            raise SavedModelError(f"statistics must be one of {STATISTICS_CHOICES}, got {mode!r}")
        if self.normalisation == "none":
            return None  # the model was trained on raw values: z-scoring its input would change what it sees
        if mode == "model":
            return self.mean, self.std
        cube = scene.cube
        pixels = cube.reshape(-1, cube.shape[-1]) if scene.valid_mask is None else cube[scene.valid_mask]
        return band_statistics(pixels)

    def statistics_shift(self, scene: Scene, sample: int = 20_000) -> float | None:
        """The median over bands of |mean z-score| of the cube under the model's statistics (on a sample of pixels):
        about 0 for a cube like the training scene; several units for one in other units or illumination."""
        if self.mean is None:
            return None
        height, width = scene.cube.shape[:2]
        flat = np.linspace(0, height * width - 1, min(sample, height * width)).astype(np.int64)
        rows, cols = np.divmod(flat, width)
        if scene.valid_mask is not None:
            keep = scene.valid_mask[rows, cols]
            rows, cols = rows[keep], cols[keep]
        spectra = np.asarray(scene.cube[rows, cols], np.float64)
        return float(np.median(np.abs(((spectra - self.mean) / self.std).mean(axis=0))))

    # --- prediction ---------------------------------------------------------------------------------

    def predict_scene(self, scene: Scene, statistics: str = "model", batch_pixels: int = DEFAULT_BATCH_PIXELS,
                      device: str = "auto", progress: Callable[[int], None] | None = None,
                      method: Any = None) -> np.ndarray:
        """The ``(H, W)`` map of class ids (the model's, e.g. 1…K; 0 = a pixel outside the scene's valid mask).

        Row tiles of about ``batch_pixels`` pixels (at least one row) are normalised and predicted one at a time;
        ``progress(n)`` is called with the number of pixels each tile finished.
        """
        self.check_bands(scene.bands, scene.name, tuple(scene.cube.shape), scene.wavelengths_nm)
        if batch_pixels < 1:
            raise SavedModelError(f"batch_pixels must be at least 1, got {batch_pixels}")
        method = method if method is not None else self.build_method(device)
        stats = self.statistics_for(scene, statistics)
        height, width = scene.cube.shape[:2]
        radius = self.patch_size // 2
        rows_per_tile = max(1, batch_pixels // width)
        ids = np.asarray(self.class_ids, np.int64)
        labels = np.zeros((height, width), label_dtype(self.class_ids))
        names = tuple(self.class_names)
        for top in range(0, height, rows_per_tile):
            bottom = min(height, top + rows_per_tile)
            low, high = max(0, top - radius), min(height, bottom + radius)  # the halo: real neighbours, not padding
            mask = None if scene.valid_mask is None else scene.valid_mask[low:high]
            rows, cols = np.mgrid[top - low: bottom - low, 0:width]
            coords = np.column_stack([rows.ravel(), cols.ravel()]).astype(np.int64)
            if mask is not None:
                coords = coords[mask[coords[:, 0], coords[:, 1]]]
            if len(coords):
                patches = PatchSampler(scene.cube[low:high], self.patch_size, self.padding, stats, valid_mask=mask)
                domain = Domain(scene.name, patches, names, wavelengths_nm=scene.wavelengths_nm)
                indices = np.asarray(method.predict(domain, coords), np.int64)
                labels[coords[:, 0] + low, coords[:, 1]] = ids[indices]
                del patches, domain
            if progress is not None:
                progress((bottom - top) * width)
        return labels


def label_dtype(class_ids: tuple[int, ...] | list[int]) -> np.dtype:
    """The smallest unsigned type holding every class id (uint8 for nearly every scene; GeoTIFF-friendly)."""
    top = max(class_ids, default=0)
    return np.dtype(np.uint8 if top <= np.iinfo(np.uint8).max else np.uint16 if top <= np.iinfo(np.uint16).max
                    else np.int64)


def load_saved_model(path: Path | str) -> SavedModel:
    """Read a model file written by :func:`save_trial_model`; a clear :class:`SavedModelError` for a missing,
    damaged or foreign file, or one of a newer format."""
    path = Path(path)
    if not path.is_file():
        raise SavedModelError(f"model file {path} does not exist (`hsibench run --save-model` writes "
                              f"DIR/<protocol>/runs/<record name>{MODEL_SUFFIX})")
    try:
        data = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:  # noqa: BLE001 — a truncated zip, a text file, a pickle of unknown classes…
        raise SavedModelError(f"{path} cannot be read as an hsibench model file ({type(error).__name__}: {error}); "
                              "it is damaged or not a model file") from None
    if not isinstance(data, dict) or data.get("format") != MODEL_FORMAT:
        hint = (" It is a bare Method.save checkpoint, which lacks the classes and normalisation; save the trial with "
                "`hsibench run --save-model`." if isinstance(data, dict) and {"method", "state"} <= set(data) else "")
        raise SavedModelError(f"{path} is not an hsibench model file (no format {MODEL_FORMAT!r}).{hint}")
    version = data.get("format_version")
    if not isinstance(version, int) or version > MODEL_FORMAT_VERSION:
        raise SavedModelError(f"{path} is a model file of format version {version}; this hsibench "
                              f"({__version__}) reads up to version {MODEL_FORMAT_VERSION}: upgrade hsibench")
    missing = [key for key in _REQUIRED if key not in data]
    if missing:
        raise SavedModelError(f"{path}: the model file lacks {missing}; it is damaged")
    normalisation = data["normalisation"]
    wavelengths = data.get("wavelengths_nm")
    return SavedModel(
        path=path, method=data["method"], method_base=data.get("method_base"), preset=data["preset"],
        config=dict(data["config"]), plugins=tuple(data.get("plugins", ())), run_id=data["run_id"],
        record_name=data["record_name"], protocol_name=data.get("protocol_name", ""), seed=int(data.get("seed", 0)),
        scene=data.get("scene", "?"), class_ids=tuple(int(c) for c in data["class_ids"]),
        class_names=tuple(str(n) for n in data["class_names"]), bands=int(data["bands"]),
        wavelengths_nm=None if wavelengths is None else np.asarray(wavelengths, np.float64),
        patch_size=int(data["patch_size"]), padding=str(data["padding"]), normalisation=normalisation["mode"],
        mean=None if normalisation.get("mean") is None else np.asarray(normalisation["mean"], np.float32),
        std=None if normalisation.get("std") is None else np.asarray(normalisation["std"], np.float32),
        state=data["state"], hsibench_version=str(data.get("hsibench_version", "?")), code=dict(data.get("code", {})),
        saved_at=data.get("saved_at"), split_fingerprint=data.get("split_fingerprint"))
