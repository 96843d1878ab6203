"""Start-up stays light: the CLI parser imports no heavy library, a local run imports only what its trial needs,
and Ray runs many trials in few worker processes (each imports torch and the methods once)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO_ROOT

#: libraries no command may import just to parse its arguments (`hsibench --help`, any sub-command's parser)
HEAVY_FOR_THE_PARSER = ("numpy", "scipy", "scipy.io", "h5py", "pandas", "matplotlib", "ray", "sklearn", "torch",
                        "timm", "torchvision", "tabulate", "tensorboardX", "mlflow")
#: libraries a local svm run has no use for before (or in) its first trial
NOT_FOR_A_LOCAL_SVM_RUN = ("ray", "timm", "torchvision", "matplotlib", "tensorboardX", "mlflow")


def _python(code: str, *args: str, env: dict[str, str] | None = None, timeout: float = 300) -> str:
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})}, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    return done.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize("call", ["build_parser()", "main(['run', '--help'])"], ids=["build parser", "run --help"])
def test_the_cli_parser_and_help_import_no_heavy_library(call: str) -> None:
    code = ("import json, sys\n"
            "from hsibench.cli import build_parser, main\n"
            f"try:\n    {call}\nexcept SystemExit:\n    pass\n"
            f"print(json.dumps(sorted(name for name in {list(HEAVY_FOR_THE_PARSER)!r} if name in sys.modules)))")
    assert json.loads(_python(code)) == []


UP_TO_THE_FIRST_TRIAL = """
import json, os, sys
import hsibench.runner.executors as executors
from hsibench.cli import main
from hsibench.methods.catalog import BUILTIN_METHODS

def first_trial(spec, progress=None, resolved=None):
    modules = {builtin.module for builtin in BUILTIN_METHODS.values()}
    print(json.dumps({"heavy": sorted(name for name in HEAVY if name in sys.modules),
                      "method_modules": sorted(m for m in modules if m in sys.modules), "label": spec.label}))
    sys.stdout.flush()
    os._exit(0)  # nothing after the first trial is under test

HEAVY = json.loads(sys.argv[1])
executors.execute_trial = first_trial
main(["run", "--executor", "local", "--method", "svm", "--protocol", "demo", "--runs", "1", "--out", sys.argv[2]])
raise SystemExit("the run never reached a trial")
"""


def test_a_local_svm_run_imports_neither_ray_nor_timm_nor_other_methods(tmp_path: Path) -> None:
    report = json.loads(_python(UP_TO_THE_FIRST_TRIAL, json.dumps(NOT_FOR_A_LOCAL_SVM_RUN), str(tmp_path),
                                env={"HSIBENCH_STARTUP_TRACE": "1"}))
    assert report["label"].startswith("svm/")
    assert report["heavy"] == []
    assert report["method_modules"] == ["hsibench.methods.svm"]  # the requested method's module, no other


def test_the_startup_trace_reports_seconds_since_process_start(monkeypatch, capsys) -> None:
    from hsibench.runner import executors

    seconds = executors.seconds_since_process_start()
    if seconds is None:
        pytest.skip("no /proc/self/stat here")
    assert 0 < seconds < 3600
    monkeypatch.setattr(executors, "_traced", set())
    monkeypatch.delenv(executors.STARTUP_TRACE_ENV, raising=False)
    executors.trace_startup("first trial", "quiet")
    assert capsys.readouterr().err == ""  # off unless asked for
    monkeypatch.setenv(executors.STARTUP_TRACE_ENV, "1")
    executors.trace_startup("first trial", "svm/seed 1")
    executors.trace_startup("first trial", "svm/seed 2")  # once per process
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{executors.STARTUP_MARKER} first trial at ")
    assert lines[0].endswith(" s since process start (svm/seed 1)")


@pytest.mark.slow  # starts Ray (~10 s) and runs three tiny trials
@pytest.mark.timeout(180)
def test_ray_runs_trials_in_reused_workers(tmp_path: Path) -> None:
    """On one CPU, three trials run one after another in the same trial actor: torch and the methods are imported
    once per worker process, not once per trial (Tune's reuse_actors)."""
    import ray
    from test_runner_fake_method import CENTROID, PLUGIN

    from hsibench.runner import ExecutorOptions, TrialSettings, create_executor, plan_trials, run_campaign

    names = ("HSIBENCH_OFFLINE", "HSIBENCH_MIRROR", "HSIBENCH_CACHE", "OMP_NUM_THREADS")
    env = {name: os.environ[name] for name in names if name in os.environ}
    ray.init(address="local", num_cpus=1, include_dashboard=False, log_to_driver=False, runtime_env={"env_vars": env})
    try:
        settings = TrialSettings(out_dir=tmp_path, cache_dir=tmp_path / "cache", preset="smoke", plugins=(PLUGIN,),
                                 threads=1)
        specs = plan_trials([CENTROID], "demo", [1330, 1220, 1], settings)
        executor = create_executor("ray", ExecutorOptions(results_dir=tmp_path, memory_per_trial_mb=0))
        result = run_campaign(specs, executor, stream=io.StringIO(), live=False)
    finally:
        ray.shutdown()
    assert result.exit_code == 0 and len(result.records) == 3
    pids = [trial.metrics["pid"] for trial in executor.result_grid]
    assert len(pids) == 3 and len(set(pids)) == 1, pids
