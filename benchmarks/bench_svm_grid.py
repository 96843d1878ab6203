"""The SVM's model selection: fits, fit time and accuracy of (C, γ) grids on real Salinas-A trials.

Run: ``python -m benchmarks.bench_svm_grid [--protocols sa_a_r2l,sa_a] [--grids NAME,...] [--threads 1]
[--repeats 1]``. Not a test. For every protocol and each of its published seeds, the trial's split and
task are built as the runner builds them (``make_split`` and ``build_task`` on the protocol's target
region), and each candidate grid fits on the support pixels only, as ``svm``'s ``adapt`` does; the
fitted estimator then predicts the trial's test pixels. Per grid it prints the number of SVM fits
(grid points × folds + 1 refit), the mean fit wall time (the search only: no data loading, no
prediction), the overall accuracy (mean ± sample std over seeds), the paired OA difference against
the grid ``svm`` searched before this benchmark was written (``previous-42``) with the two-sided
Wilcoxon signed-rank p over the seeds (``hsibench.report.statistics.paired_wilcoxon``), and how
often each (C, γ) was chosen; ``tied best points`` is the mean number of grid points that share the best CV
accuracy (the choice among them is only the tie-break).

The grids:

- ``previous-42``: ``svm`` as it was before: C ∈ 10^{−1…4} × γ ∈ 2^{−12, −10, …, 0} (42 points),
  searched by scikit-learn's ``GridSearchCV`` over the ``StandardScaler`` + ``SVC`` pipeline.
- ``default-gridsearchcv``: the grid :class:`methods.svm.SVMConfig` holds now, searched that old way.
- ``default``: ``svm`` as shipped: that grid, searched by ``fit_support_vector_machine`` (the same CV numbers,
  one scaler per fold instead of one per grid point). It must choose what ``default-gridsearchcv`` chooses on
  every trial; the benchmark prints whether it did.
- ``deephyperx-20``: DeepHyperX's ``SVM_grid`` reproduced with scikit-learn directly: ``GridSearchCV`` over
  its ``SVM_GRID_PARAMS`` (RBF γ {1e−1, 1e−2, 1e−3} × C {1, 10, 100, 1000}; linear C {0.1, …, 1000}; cubic
  polynomial γ {1e−1, 1e−2, 1e−3}: 20 points) with scikit-learn's default 5-fold stratified CV (no
  shuffle) and a bare ``SVC`` on the spectra as handed over (no ``StandardScaler``, as in DeepHyperX);
  ``n_jobs = 1`` here (DeepHyperX runs 4 jobs), so its time is comparable to the others'.
- ``deephyperx-rbf-12``: DeepHyperX's RBF part alone, behind hsibench's scaler and folds.
- ``rbf-9``: C {10, 100, 1000} × γ 2^{−9, −7, −5}, a smaller alternative.
- ``fixed``: no search (C = 100, γ = ``"scale"``, the fallback below ``min_per_class_for_search``): 1 fit.

The support sets are tiny (5 shots × 6 classes = 30 pixels, folds of 6), so a CV accuracy moves in
steps of 1/30 and many grid points tie at the best score; scikit-learn then takes the first of them
in grid order (smallest C, then smallest γ). Threads are limited to ``--threads`` (default 1: libsvm is
single-threaded anyway; this pins numpy's BLAS and torch). Needs ``HSIBENCH_MIRROR`` with Salinas-A.
"""

from __future__ import annotations

import argparse
import collections
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
from tabulate import tabulate

from benchmarks.common import Measurement, check_target, machine_line
from hsibench.methods.svm import SVMConfig, fit_support_vector_machine, search_fit_count, search_folds
from hsibench.protocol import build_task, load_protocol, make_split
from hsibench.protocol.regions import region_scene
from hsibench.protocol.task import class_index
from hsibench.report.statistics import paired_wilcoxon

PROTOCOLS = ("sa_a_r2l", "sa_a")
REFERENCE = "previous-42"

#: DeepHyperX's main.py, ``SVM_GRID_PARAMS`` (read in nshaud/DeepHyperX), for ``GridSearchCV(SVC(), …)``
DEEPHYPERX_GRID = [
    {"kernel": ["rbf"], "gamma": [1e-1, 1e-2, 1e-3], "C": [1, 10, 100, 1000]},
    {"kernel": ["linear"], "C": [0.1, 1, 10, 100, 1000]},
    {"kernel": ["poly"], "degree": [3], "gamma": [1e-1, 1e-2, 1e-3]},
]


def _powers_of_two(*exponents: int) -> tuple[float, ...]:
    return tuple(2.0**k for k in exponents)


#: hsibench-style grids: overrides of SVMConfig (fitted by methods/svm.py itself)
HSIBENCH_GRIDS: dict[str, dict] = {
    REFERENCE: {"c_grid": (0.1, 1.0, 10.0, 100.0, 1000.0, 10000.0),
                "gamma_grid": _powers_of_two(-12, -10, -8, -6, -4, -2, 0)},
    "default": {},
    "default-gridsearchcv": {},
    "deephyperx-rbf-12": {"c_grid": (1.0, 10.0, 100.0, 1000.0), "gamma_grid": (1e-3, 1e-2, 1e-1)},
    "rbf-9": {"c_grid": (10.0, 100.0, 1000.0), "gamma_grid": _powers_of_two(-9, -7, -5)},
    "fixed": {"search": False},
}
#: grids searched the old way: GridSearchCV over the scaler + SVC pipeline (what methods/svm.py did before)
THROUGH_GRIDSEARCHCV = (REFERENCE, "default-gridsearchcv")
GRIDS = (REFERENCE, "default-gridsearchcv", "default", "deephyperx-20", "deephyperx-rbf-12", "rbf-9", "fixed")


@dataclass
class Trial:
    """One protocol × seed: support spectra and labels, test spectra and class indices."""

    protocol: str
    seed: int
    support: np.ndarray
    support_labels: np.ndarray
    test: np.ndarray
    test_labels: np.ndarray


@dataclass
class Fitted:
    estimator: object
    fits: int  # SVMs fitted: grid points × folds + the refit
    label: tuple  # (kernel, C, γ) chosen
    tied: int  # grid points tied at the best CV accuracy (1 without a search)


@dataclass
class GridResult:
    fits: list[int] = field(default_factory=list)
    tied: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    accuracy: dict[int, float] = field(default_factory=dict)  # seed → OA
    chosen: dict[int, tuple] = field(default_factory=dict)  # seed → (kernel, C, γ)


def load_trials(protocol_name: str) -> list[Trial]:
    """The protocol's trials as the runner builds them (hsibench/runner/trial.py): split, then task."""
    protocol = load_protocol(protocol_name)
    scene = region_scene(protocol.target)
    trials = []
    for seed in protocol.seeds:
        split = make_split(protocol, seed, ground_truth=scene.ground_truth)
        task = build_task(protocol, split, scene=scene)
        spectra = task.target.patches.spectra
        trials.append(Trial(protocol_name, seed, spectra(task.support_coords).numpy(), np.asarray(task.support_labels),
                            spectra(split.test.coords).numpy(), class_index(task.class_ids, split.test.labels)))
    return trials


def fit_hsibench(overrides: dict) -> Callable[[Trial], Fitted]:
    config = replace(SVMConfig(), **overrides)

    def fit(trial: Trial) -> Fitted:
        estimator, chosen = fit_support_vector_machine(trial.support, trial.support_labels, config, trial.seed)
        gamma = chosen["gamma"]
        label = ("rbf", chosen["C"], "scale" if gamma is None else _gamma_label(gamma))
        return Fitted(estimator, search_fit_count(trial.support_labels, config), label, chosen.get("cv_tied_points", 1))

    return fit


def fit_gridsearchcv(overrides: dict) -> Callable[[Trial], Fitted]:
    """The search methods/svm.py ran before: GridSearchCV over the scaler + SVC pipeline, the same folds."""
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    config = replace(SVMConfig(), **overrides)

    def fit(trial: Trial) -> Fitted:
        folds = StratifiedKFold(n_splits=search_folds(trial.support_labels, config), shuffle=True,
                                random_state=trial.seed % 2**32)
        search = GridSearchCV(make_pipeline(StandardScaler(), SVC(kernel="rbf")),
                              {"svc__C": list(config.c_grid), "svc__gamma": list(config.gamma_grid)}, cv=folds)
        search.fit(trial.support, trial.support_labels)
        label = ("rbf", search.best_params_["svc__C"], _gamma_label(search.best_params_["svc__gamma"]))
        return _from_search(search, label)

    return fit


def fit_deephyperx(trial: Trial) -> Fitted:
    from sklearn.model_selection import GridSearchCV
    from sklearn.svm import SVC

    search = GridSearchCV(SVC(), DEEPHYPERX_GRID, n_jobs=1).fit(trial.support, trial.support_labels)
    params = search.best_params_
    label = (params["kernel"], params.get("C", 1.0), _gamma_label(params["gamma"]) if "gamma" in params else "-")
    return _from_search(search, label)


def _from_search(search: object, label: tuple) -> Fitted:
    results = search.cv_results_
    return Fitted(search.best_estimator_, len(results["params"]) * search.n_splits_ + 1, label,
                  int((results["rank_test_score"] == 1).sum()))


def _gamma_label(gamma: float) -> str:
    exponent = np.log2(gamma)
    return f"2^{exponent:.0f}" if abs(exponent - round(exponent)) < 1e-9 else f"{gamma:g}"


def grid_fitter(name: str) -> Callable[[Trial], Fitted]:
    if name == "deephyperx-20":
        return fit_deephyperx
    if name not in HSIBENCH_GRIDS:
        raise KeyError(f"no grid {name!r}; choose among {', '.join(GRIDS)}")
    if name in THROUGH_GRIDSEARCHCV:
        return fit_gridsearchcv(HSIBENCH_GRIDS[name])
    return fit_hsibench(HSIBENCH_GRIDS[name])


def measure(trials: list[Trial], names: list[str], repeats: int) -> dict[str, GridResult]:
    """Every grid on every trial; grids interleave per trial, so a slow spell of the machine hits them alike."""
    fitters = {name: grid_fitter(name) for name in names}
    results = {name: GridResult() for name in names}
    for trial in trials:
        for name, fit in fitters.items():
            result = results[name]
            for _ in range(repeats):
                start = time.perf_counter()
                fitted = fit(trial)
                result.seconds.append(time.perf_counter() - start)
            result.fits.append(fitted.fits)
            result.tied.append(fitted.tied)
            result.accuracy[trial.seed] = float((fitted.estimator.predict(trial.test) == trial.test_labels).mean())
            result.chosen[trial.seed] = fitted.label
    return results


def grid_table(results: dict[str, GridResult]) -> str:
    reference = results.get(REFERENCE)
    rows = []
    for name, result in results.items():
        oa = np.array(list(result.accuracy.values())) * 100
        fits = sorted(set(result.fits))
        row = [name, "/".join(map(str, fits)), f"{np.mean(result.seconds):.3f}", f"{np.mean(result.tied):.1f}",
               f"{oa.mean():.2f} ± {oa.std(ddof=1):.2f}"]
        if reference is not None and name != REFERENCE:
            seeds = sorted(set(reference.accuracy) & set(result.accuracy))
            differences = np.array([result.accuracy[s] - reference.accuracy[s] for s in seeds]) * 100
            p_value, _ = paired_wilcoxon(reference.accuracy, result.accuracy)
            row += [f"{differences.mean():+.2f} [{differences.min():+.2f}, {differences.max():+.2f}]",
                    f"{p_value:.3f}", f"{sum(differences > 0)}/{sum(differences < 0)}"]
        else:
            row += ["—", "—", "—"]
        rows.append(row)
    headers = ("grid", "fits", "mean fit s", "tied best points", "OA % (mean ± std)",
               f"ΔOA vs {REFERENCE} (mean [min, max])", "Wilcoxon p", "seeds better/worse")
    return tabulate(rows, headers=headers, tablefmt="github")


def chosen_lines(results: dict[str, GridResult]) -> list[str]:
    lines = []
    for name, result in results.items():
        counted = collections.Counter(result.chosen.values()).most_common()
        counts = ", ".join(f"{kernel} C={c:g} γ={gamma}: {n}" for (kernel, c, gamma), n in counted)
        lines.append(f"- {name}: {counts}")
    if "default" in results and "default-gridsearchcv" in results:
        ours, theirs = results["default"].chosen, results["default-gridsearchcv"].chosen
        same = sum(ours[seed] == theirs.get(seed) for seed in ours)
        lines.append(f"- default chose what default-gridsearchcv chose on {same}/{len(ours)} seeds")
    return lines


def sklearn_machine_line(threads: int) -> str:
    import sklearn

    return f"{machine_line(threads)}, scikit-learn {sklearn.__version__}"


def run(protocols: tuple[str, ...] = PROTOCOLS, repeats: int = 3) -> list[Measurement]:
    """run_all's rows: per protocol, the shipped grid against DeepHyperX's (fits, seconds, OA, paired difference)."""
    from threadpoolctl import threadpool_limits

    rows: list[Measurement] = []
    with threadpool_limits(1):
        for protocol in protocols:
            results = measure(load_trials(protocol), ["default", "deephyperx-20", REFERENCE], repeats)
            ours, theirs, before = results["default"], results["deephyperx-20"], results[REFERENCE]
            where = f"{protocol}, {len(ours.accuracy)} seeds, 1 thread; {sklearn_machine_line(1)}"
            fits = max(ours.fits)
            target, met = check_target(fits, at_most=max(theirs.fits))
            rows.append(Measurement("svm", f"{protocol}: SVM fits of the model selection", fits, "fits", target, met,
                                    detail=f"DeepHyperX's SVM_grid {max(theirs.fits)}, our earlier grid {max(before.fits)}"))
            rows.append(Measurement("svm", f"{protocol}: selection + fit time, ours / DeepHyperX's",
                                    float(np.mean(ours.seconds) / np.mean(theirs.seconds)), "×", *check_target(
                                        float(np.mean(ours.seconds) / np.mean(theirs.seconds)), at_most=1.0),
                                    detail=f"{np.mean(ours.seconds):.3f} vs {np.mean(theirs.seconds):.3f} s, mean of "
                                           f"{repeats} per seed, interleaved; {where}"))
            differences = [100 * (ours.accuracy[seed] - before.accuracy[seed]) for seed in ours.accuracy]
            p_value, _ = paired_wilcoxon(before.accuracy, ours.accuracy)
            rows.append(Measurement("svm", f"{protocol}: OA, our grid − the earlier 42-point grid", float(np.mean(differences)),
                                    "points", detail=f"paired Wilcoxon p = {p_value:.3f}; OA "
                                    f"{100 * np.mean(list(ours.accuracy.values())):.2f} vs "
                                    f"{100 * np.mean(list(before.accuracy.values())):.2f} (DeepHyperX's grid "
                                    f"{100 * np.mean(list(theirs.accuracy.values())):.2f})"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--protocols", default=",".join(PROTOCOLS))
    parser.add_argument("--grids", default=",".join(GRIDS))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=1,
                        help="fits per grid and trial for the timing (the OA is the same)")
    args = parser.parse_args()

    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(args.threads)
    names = args.grids.split(",")
    print(f"machine: {sklearn_machine_line(args.threads)}")
    print(f"default grid (SVMConfig): C {SVMConfig().c_grid} × γ {SVMConfig().gamma_grid}", flush=True)
    with threadpool_limits(args.threads):
        for protocol in args.protocols.split(","):
            started = time.perf_counter()
            trials = load_trials(protocol)
            print(f"\n## {protocol}: {len(trials)} seeds, support {len(trials[0].support_labels)} pixels "
                  f"({trials[0].support.shape[1]} bands), test {len(trials[0].test_labels):,} pixels "
                  f"(loaded in {time.perf_counter() - started:.1f} s)\n", flush=True)
            results = measure(trials, names, args.repeats)
            print(grid_table(results))
            print("\nchosen (kernel, C, γ) over seeds:")
            print("\n".join(chosen_lines(results)), flush=True)


if __name__ == "__main__":
    main()
