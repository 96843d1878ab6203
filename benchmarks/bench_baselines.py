"""Wall time of the baselines' trials at pu2pc size, per phase — the check that the ``cpu`` preset finishes in minutes.

Run: ``python benchmarks/bench_baselines.py [--preset cpu] [--methods svm,cnn3d,...] [--predict-pixels 148152]
[--device cpu|cuda]``. Not a test. Scenes are generated with Pavia University's and Pavia
Centre's sizes (source 610×340×103, target 1096×715×102, nine classes; real files are not
needed), the pu2pc protocol's settings (5-shot legacy split, 9×9 patches) apply, and each method
runs prepare → adapt → predict on ``--predict-pixels`` random target pixels; the prediction time
is also scaled linearly to Pavia Centre's 148,152 labelled pixels (about its test set), so a
quick run with fewer pixels still estimates a full trial. Accuracy on generated scenes says
nothing about real ones and is not printed.

Set ``OMP_NUM_THREADS`` to the cores you mean to measure (the ``cpu`` presets target 2).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from tabulate import tabulate

from hsibench.data.synthetic import SyntheticSpec, generate_scene
from hsibench.methods import RunContext, create_method, resolve_device
from hsibench.protocol import build_source_domain, build_task, load_protocol, make_split

BASELINES = ("svm", "cnn3d", "ssftt", "dcfsl", "finetune", "mae")
PAVIA_CENTRE_LABELLED = 148_152
SOURCE = SyntheticSpec(height=610, width=340, bands=103, num_classes=9, region_scale=15.0, library_seed=3,
                       layout_seed=1, material_contrast=0.4)
TARGET = SyntheticSpec(height=1096, width=715, bands=102, num_classes=9, region_scale=20.0, library_seed=3,
                       layout_seed=2, material_contrast=0.4, illumination=0.8, noise=0.02)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--methods", default=",".join(BASELINES))
    parser.add_argument("--predict-pixels", type=int, default=PAVIA_CENTRE_LABELLED)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    protocol = load_protocol("pu2pc")
    started = time.perf_counter()
    source_scene, target_scene = generate_scene("pu-sized", SOURCE), generate_scene("pc-sized", TARGET)
    split = make_split(protocol, protocol.seeds[0], target_scene.ground_truth)
    task = build_task(protocol, split, scene=target_scene)
    sources = {granted: build_source_domain(protocol, granted, scene=source_scene) for granted in (False, True)}
    coords = task.target.patches.all_coords()
    coords = coords[np.random.default_rng(0).choice(len(coords), min(args.predict_pixels, len(coords)), replace=False)]
    print(f"scenes generated and normalised in {time.perf_counter() - started:.0f} s; "
          f"predicting {len(coords):,} pixels, preset {args.preset!r}")

    rows = []
    with tempfile.TemporaryDirectory() as cache:
        for name in args.methods.split(","):
            context = RunContext(seed=split.seed, device=resolve_device(args.device), cache_dir=Path(cache))
            method = create_method(name, context, preset=args.preset)
            times = [time.perf_counter()]
            method.prepare(sources[method.info.uses_source_labels])
            times.append(time.perf_counter())
            method.adapt(task)
            times.append(time.perf_counter())
            method.predict(task.target, coords)
            times.append(time.perf_counter())
            prepare, adapt, predict = np.diff(times)
            full_predict = predict * PAVIA_CENTRE_LABELLED / len(coords)
            rows.append((name, f"{prepare:.1f}", f"{adapt:.1f}", f"{predict:.1f}", f"{full_predict:.0f}",
                         f"{(prepare + adapt + full_predict) / 60:.1f}"))
            print(tabulate([rows[-1]], tablefmt="plain"), flush=True)
    print(tabulate(rows, headers=("method", "prepare s", "adapt s", f"predict s ({len(coords):,} px)",
                                  f"predict s ({PAVIA_CENTRE_LABELLED:,} px)", "trial min"), tablefmt="github"))


if __name__ == "__main__":
    main()
