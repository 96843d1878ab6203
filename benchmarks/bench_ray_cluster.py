"""Ray beyond one node: the same 8 trials on a one-node and a two-node cluster, and Ray's fixed start-up cost.

Both clusters are started on this machine with ``ray.cluster_utils.Cluster`` (separate raylets,
worker pools and object stores, as ``ray start --head`` / ``ray start --address`` give on two
machines), one CPU per node; ``hsibench run --address`` joins them from a fresh process, as a
user's command would. The ratio two-node / one-node wall time is the speed-up a second node
buys (0.5 is perfect; Ray's fixed cost and the driver's own work keep it above that). The
start-up figures compare how the Ray executor started its own cluster before (``num_cpus`` and a
``runtime_env``) and now (``address="local"``, Ray's own CPU count, no ``runtime_env``).

    python -m benchmarks.bench_ray_cluster
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_runner import _child_environment, hsibench_executable
from benchmarks.common import Measurement

BENCHMARK = "ray-cluster"
METHOD, PROTOCOL, PRESET = "ssftt", "demo", "smoke"
#: 400 epochs (the smoke preset has 40): ~10 s trials, so the trials and not Ray's start-up dominate the wall time
SETTINGS = ("epochs=400",)
SEEDS = (1330, 1220, 1336, 1337, 1224, 1236, 1226, 1235)

STARTUP_SCRIPT = """
import json, os, sys, time
clock = time.perf_counter()
import ray
from ray import tune  # noqa: F401
imported = time.perf_counter()
if sys.argv[1] == "before":
    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"HSIBENCH_OFFLINE": "1"}})
else:
    ray.init(address="local", include_dashboard=False, log_to_driver=False)
@ray.remote(num_cpus=1)
def first_task():
    return 1
ray.get(first_task.remote())  # a first worker has started and answered: what a first trial waits for
ready = time.perf_counter()
ray.shutdown()
print(json.dumps({"import_s": imported - clock, "init_and_first_task_s": ready - imported,
                  "shutdown_s": time.perf_counter() - ready}))
"""


def _campaign_wall(address: str, out: Path, seeds: tuple[int, ...] = SEEDS) -> float:
    arguments = ["run", "--method", METHOD, "--protocol", PROTOCOL, "--preset", PRESET, "--no-maps",
                 "--seeds", ",".join(map(str, seeds)), "--address", address, "--out", str(out)]
    arguments += [part for setting in SETTINGS for part in ("--set", setting)]
    clock = time.perf_counter()
    done = subprocess.run(hsibench_executable() + arguments, capture_output=True, text=True,
                          env=_child_environment(), timeout=1800)
    wall = time.perf_counter() - clock
    if done.returncode != 0:
        raise RuntimeError(f"`hsibench {' '.join(arguments)}` exited with {done.returncode}:\n{done.stderr[-4000:]}")
    return wall


def _nodes_used(out: Path) -> int:
    nodes = set()
    for path in (out / PROTOCOL / "runs").glob("*.json"):
        nodes.add(((json.loads(path.read_text()).get("machine") or {}).get("ray_node") or {}).get("node_id"))
    return len(nodes)


def _startup(variant: str) -> dict:
    done = subprocess.run([sys.executable, "-c", STARTUP_SCRIPT, variant], capture_output=True, text=True,
                          env=_child_environment(), timeout=600, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run() -> list[Measurement]:
    from ray.cluster_utils import Cluster

    walls, used = {}, {}
    with tempfile.TemporaryDirectory(prefix="hsibench-ray-cluster-") as scratch:
        cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
        try:
            _campaign_wall(cluster.address, Path(scratch) / "warm-up", SEEDS[:1])  # cold file and import caches
            for nodes in (1, 2):
                if nodes == 2:
                    cluster.add_node(num_cpus=1)
                    cluster.wait_for_nodes()
                out = Path(scratch) / f"{nodes}-node"
                walls[nodes] = _campaign_wall(cluster.address, out)
                used[nodes] = _nodes_used(out)
        finally:
            cluster.shutdown()
    before, after = _startup("before"), _startup("after")
    trials = f"{len(SEEDS)} {METHOD} trials ({PRESET} preset, {' '.join(SETTINGS)}, {PROTOCOL}), one CPU per trial, fresh `hsibench run --address`"
    return [
        Measurement(BENCHMARK, "8 trials on 1 one-CPU node", walls[1], "s", detail=f"{trials}; ran on {used[1]} node(s)"),
        Measurement(BENCHMARK, "8 trials on 2 one-CPU nodes", walls[2], "s", detail=f"{trials}; ran on {used[2]} node(s)"),
        Measurement(BENCHMARK, "two-node / one-node wall time", walls[2] / walls[1], "×", target="< 0.75",
                    met=walls[2] / walls[1] < 0.75, detail="0.5 would be a perfect second node"),
        Measurement(BENCHMARK, "Ray start + first task, before", before["init_and_first_task_s"], "s",
                    detail="ray.init(num_cpus=os.cpu_count(), runtime_env={env_vars}) then one 1-CPU task"),
        Measurement(BENCHMARK, "Ray start + first task, now", after["init_and_first_task_s"], "s",
                    detail="ray.init(address='local'), Ray's own CPU count, no runtime_env, then one 1-CPU task"),
    ]


if __name__ == "__main__":
    for row in run():
        print(f"{row.quantity:40s} {row.value:8.2f} {row.unit:3s} {row.target:8s} {row.detail}")
