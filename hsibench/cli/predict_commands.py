"""``hsibench predict``: apply a trial's saved model (``hsibench run --save-model``) to a cube of one's own.

    hsibench predict --model results/demo/runs/ssftt-seed1330-<id>.model.pt --cube my.mat --key cube \\
        [--gt my_gt.mat --gt-key gt] --out predictions/

reads the cube (``.mat`` v5 or v7.3, ``.npy``, GeoTIFF with the optional ``tifffile``), z-scores it with the
model's saved statistics (``--statistics cube`` refits them on the cube), predicts it in row tiles of
``--batch-pixels`` pixels with a progress bar, and writes into DIR:

- ``<name>.labels.npz``: ``labels`` (H, W) class ids as the model's scene numbers them (0 = not classified: a
  pixel with a non-finite band), ``class_ids``, ``class_names``, and what made it (model, run id, statistics);
- ``<name>.labels.png``: the map with a legend of the classes;
- ``<name>.labels.tif``: the map as a GeoTIFF on the input's grid, when the input was a GeoTIFF;
- with ``--gt``: ``<name>.scores.json``, OA/AA/κ, per-class accuracy and the confusion matrix over the labeled
  pixels of the model's classes (also printed). Pixels labeled with a class the model does not know are counted
  and left out.

``--info`` prints what a model file holds (method, trial, bands, wavelengths, classes) and predicts nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from hsibench.cli.options import UsageError, positive_int


def _load_inputs(args: argparse.Namespace, model):
    from hsibench.runner.user_cube import read_user_cube, read_wavelengths

    wavelengths = read_wavelengths(args.wavelengths, args.wavelengths_key) if args.wavelengths else None
    cube = read_user_cube(args.cube, args.key, args.gt, args.gt_key, class_names=model.class_name_map(),
                          bands_first=args.bands_first, wavelengths_nm=wavelengths)
    scene = cube.scene
    if args.resample:
        scene = model.resampled(scene)
        print(f"resampled {cube.path.name} from {cube.scene.bands} bands onto the model's {model.bands} band centres",
              file=sys.stderr)
    else:
        model.check_bands(scene.bands, cube.path.name, tuple(scene.cube.shape), scene.wavelengths_nm)
        if wavelengths is not None and model.wavelengths_nm is not None:
            offset = float(abs(wavelengths - model.wavelengths_nm).max())
            if offset > 5.0:
                print(f"note: the cube's band centres differ from the model's by up to {offset:.1f} nm; --resample "
                      "interpolates the cube onto the model's", file=sys.stderr)
    return cube, scene


def _progress_bar(total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="px", unit_scale=True, desc="predict", file=sys.stderr,
                disable=None if enabled else True, dynamic_ncols=True)


def write_png(path: Path, labels, class_ids, class_names, title: str) -> Path:
    """The label map with a legend (only the classes that occur, plus "not classified" where a pixel is 0)."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    from hsibench.report.palette import class_colormap, class_colour  # the same colours as `hsibench figure maps`

    top = int(max(class_ids, default=0))
    colormap = class_colormap(top)
    height, width = labels.shape
    scale = 6.0 / max(height, width)
    figure = Figure(figsize=(max(3.0, width * scale) + 2.6, max(3.0, height * scale) + 0.6))
    FigureCanvasAgg(figure)
    axis = figure.add_subplot()
    axis.imshow(labels, cmap=colormap, vmin=0, vmax=max(top, 1), interpolation="nearest")
    axis.set_axis_off()
    axis.set_title(title, fontsize=9)
    present = set(np.unique(labels).tolist())
    handles = [Patch(facecolor=class_colour(c), edgecolor="none", label=f"{c} {n}")
               for c, n in zip(class_ids, class_names) if c in present]
    if 0 in present:
        handles.append(Patch(facecolor=class_colour(0), edgecolor="none", label="0 not classified"))
    axis.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, frameon=False)
    from hsibench.runner.records import atomic_file

    with atomic_file(path, ".png") as temporary:
        figure.savefig(temporary, dpi=150, bbox_inches="tight")
    return path


def write_geotiff(path: Path, labels, tags) -> Path:
    import tifffile

    from hsibench.runner.records import atomic_file

    with atomic_file(path, ".tif") as temporary:
        tifffile.imwrite(temporary, labels, photometric="minisblack", extratags=[(*tag, True) for tag in tags])
    return path


def score_map(model, labels, truth) -> dict:
    """OA/AA/κ of a predicted id map against a ground-truth id map, over the pixels labeled with a model class."""
    import numpy as np

    from hsibench.runner.metrics import score_predictions

    index_of = {class_id: index for index, class_id in enumerate(model.class_ids)}
    labeled = (truth != 0) & (labels != 0)  # 0 in the prediction: not classified (a non-finite pixel)
    unknown_ids, unknown_counts = np.unique(truth[labeled & ~np.isin(truth, model.class_ids)], return_counts=True)
    scored = labeled & np.isin(truth, model.class_ids)
    if not scored.any():
        raise UsageError(f"the ground truth labels no classified pixel with one of the model's classes "
                         f"{list(model.class_ids)} (it holds {sorted(set(np.unique(truth).tolist()) - {0})}); "
                         "are its ids those of the model's scene?")
    lookup = np.vectorize(index_of.__getitem__, otypes=[np.int64])
    truth_index, predicted_index = lookup(truth[scored]), lookup(labels[scored])
    scores = score_predictions(truth_index, predicted_index, model.num_classes)
    counts = np.bincount(truth_index, minlength=model.num_classes)
    return {
        "pixels_scored": int(scored.sum()),
        "pixels_not_classified": int(((truth != 0) & (labels == 0)).sum()),
        "pixels_of_other_classes": {str(int(c)): int(n) for c, n in zip(unknown_ids, unknown_counts)},
        "overall_accuracy": scores.overall_accuracy, "average_accuracy": scores.average_accuracy,
        "kappa": scores.kappa,
        "per_class": [{"class_id": int(c), "name": n, "accuracy": a, "pixels": int(counts[i])}
                      for i, (c, n, a) in enumerate(zip(model.class_ids, model.class_names, scores.per_class_accuracy))],
        "confusion_matrix": np.asarray(scores.confusion).tolist(),
    }


def handle_predict(args: argparse.Namespace) -> int:
    from hsibench.runner.saved_models import load_saved_model

    model = load_saved_model(args.model)
    if args.info:
        print("\n".join(model.describe()))
        return 0
    if args.cube is None or args.out is None:
        raise UsageError("give --cube FILE and --out DIR (or --info to describe the model)")
    if args.gt_key and not args.gt:
        raise UsageError("--gt-key names a variable of --gt FILE; give --gt too")
    if args.wavelengths_key and not args.wavelengths:
        raise UsageError("--wavelengths-key names a variable of --wavelengths FILE; give --wavelengths too")
    if args.resample and not args.wavelengths:
        raise UsageError("--resample needs the cube's band centres: give --wavelengths FILE (nm, one per band)")
    if args.plugin:
        from hsibench.runner import load_plugins

        load_plugins(args.plugin)
    return _predict(args, model)


def _predict(args: argparse.Namespace, model) -> int:
    import numpy as np

    from hsibench.runner.records import save_map_atomically, write_json_atomically
    from hsibench.runner.saved_models import DEFAULT_BATCH_PIXELS

    cube, scene = _load_inputs(args, model)
    if args.statistics == "model":
        shift = model.statistics_shift(scene)
        if shift is not None and shift > 3.0:
            print(f"note: under the model's statistics this cube's bands sit {shift:.1f} std from the training "
                  f"scene's mean (median over bands): its units or illumination differ; --statistics cube refits "
                  "the z-score on the cube", file=sys.stderr)
    elif model.normalisation == "none":
        print("note: the model was trained on raw (not z-scored) values, so --statistics cube changes nothing",
              file=sys.stderr)
    method = model.build_method(args.device)
    valid = int(scene.valid_mask.sum()) if scene.valid_mask is not None else scene.cube.shape[0] * scene.cube.shape[1]
    height, width = scene.cube.shape[:2]
    with _progress_bar(height * width, not args.no_progress) as bar:
        labels = model.predict_scene(scene, args.statistics, args.batch_pixels or DEFAULT_BATCH_PIXELS, args.device,
                                     bar.update, method=method)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = args.name or cube.path.stem
    provenance = {"model": str(Path(args.model).resolve()), "run_id": model.run_id, "record_name": model.record_name,
                  "method": model.method, "cube": str(cube.path.resolve()), "key": cube.key,
                  "statistics": args.statistics, "resampled": bool(args.resample), "bands": int(scene.bands)}
    written = [save_map_atomically(out / f"{name}.labels.npz", labels=labels,
                                   class_ids=np.asarray(model.class_ids, np.int64),
                                   class_names=np.asarray(model.class_names), provenance=json.dumps(provenance))]
    title = f"{cube.path.name}: {model.method} (trial {model.record_name})"
    written.append(write_png(out / f"{name}.labels.png", labels, model.class_ids, model.class_names, title))
    if cube.is_geotiff:
        written.append(write_geotiff(out / f"{name}.labels.tif", labels, cube.geotiff_tags))
    print(f"{valid} of {height * width} pixels classified by {model.method} ({model.record_name}); "
          f"statistics: {args.statistics}")
    if cube.labeled:
        scores = {**provenance, "gt": str(cube.ground_truth_path.resolve()), "gt_key": args.gt_key,
                  **score_map(model, labels, scene.labels)}
        written.append(write_json_atomically(out / f"{name}.scores.json", scores))
        kappa = "–" if scores["kappa"] is None else f"{100 * scores['kappa']:.2f}"  # ×100, as every table prints it
        print(f"OA {100 * scores['overall_accuracy']:.2f}  AA {100 * scores['average_accuracy']:.2f}  κ ×100 {kappa}  "
              f"over {scores['pixels_scored']} labeled pixels")
        if scores["pixels_of_other_classes"]:
            print(f"  left out: pixels of classes the model does not know {scores['pixels_of_other_classes']}",
                  file=sys.stderr)
    print("wrote " + ", ".join(str(path) for path in written))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    predict = subparsers.add_parser(
        "predict", help="apply a saved trial model (run --save-model) to a cube of your own",
        description="Classify every pixel of a cube with the fine-tuned model of one trial (`hsibench run "
                    "--save-model` keeps it as DIR/<protocol>/runs/<record>.model.pt) and write the label map "
                    "(npz, PNG with legend, GeoTIFF for a GeoTIFF input) and, with --gt, its scores.")
    predict.add_argument("--model", required=True, type=Path, metavar="FILE", help="a .model.pt file of a trial")
    predict.add_argument("--info", action="store_true", help="describe the model (bands, classes, trial) and stop")
    cube = predict.add_argument_group("the cube")
    cube.add_argument("--cube", type=Path, metavar="FILE",
                      help="the cube: .mat (v5 or v7.3), .npy or .tif/.tiff (needs `tifffile`), (height, width, bands)")
    cube.add_argument("--key", help="the cube's variable in a .mat file (needed when the file holds several)")
    cube.add_argument("--bands-first", action="store_true",
                      help="the .mat/.npy cube is stored (bands, height, width)")
    cube.add_argument("--gt", type=Path, metavar="FILE",
                      help="ground truth (height, width) with the model's class ids, 0 = unlabeled: scores it")
    cube.add_argument("--gt-key", metavar="KEY", help="the ground truth's variable in a .mat file")
    cube.add_argument("--wavelengths", type=Path, metavar="FILE",
                      help="the cube's band centres in nm, one per band (.txt/.csv, .npy, or .mat with "
                           "--wavelengths-key)")
    cube.add_argument("--wavelengths-key", metavar="KEY", help="the band centres' variable in a .mat --wavelengths file")
    cube.add_argument("--resample", action="store_true",
                      help="interpolate the cube (linearly, per pixel) onto the model's band centres; needs "
                           "--wavelengths and a cube that covers the model's spectral range")
    how = predict.add_argument_group("how")
    how.add_argument("--statistics", choices=("model", "cube"), default="model",
                     help="z-score the cube with the trained model's statistics (default: the input the weights were "
                          "fitted to), or refit them on the cube's own pixels (for a cube in other units or "
                          "illumination)")
    how.add_argument("--batch-pixels", type=positive_int, default=None, metavar="N",
                     help="pixels per prediction tile (default 65536, at least one row): bounds the memory of a "
                          "large cube")
    how.add_argument("--device", default="auto", help="auto (CUDA when available), cpu or cuda")
    how.add_argument("--plugin", action="append", default=[], metavar="MODULE|FILE.py",
                     help="import a module that registers the model's method (repeatable)")
    how.add_argument("--no-progress", action="store_true", help="no progress bar")
    where = predict.add_argument_group("where")
    where.add_argument("--out", type=Path, metavar="DIR", help="folder for <name>.labels.npz|.png|.tif, <name>.scores.json")
    where.add_argument("--name", help="file stem of the outputs (default: the cube file's stem)")
    predict.set_defaults(handler=handle_predict)

