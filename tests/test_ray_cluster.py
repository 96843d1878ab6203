"""The Ray executor on a real multi-node cluster: two Ray nodes on this machine, joined with ``--address``.

``ray.cluster_utils.Cluster`` starts a head and a second node as separate raylets (their own
worker pools and object stores), the way ``ray start --head`` and ``ray start --address`` do on
two machines; nothing leaves this machine. The tests prove that trials land on both nodes, give
the local executor's records, name the node that ran them, and survive a worker killed mid-trial
(and mid-pretraining) with one whole record per trial, and that every node is checked to see the
results and cache folders before a trial starts.
"""

from __future__ import annotations

import builtins
import io
import os
from pathlib import Path

import pytest
import ray
from ray.cluster_utils import Cluster
from test_runner_fake_method import CENTROID, COMPUTATIONS_LOG, PLUGIN, PRETRAINED

from hsibench.runner import ExecutorOptions, TrialSettings, create_executor, plan_trials, run_campaign
from hsibench.runner.shared_folders import PROBE_NAME, check_shared_folders, read_probes, write_probes

pytestmark = pytest.mark.slow  # starts two Ray nodes

SEEDS = [1330, 1220, 1336, 1337]
ENV_NAMES = ("HSIBENCH_OFFLINE", "HSIBENCH_MIRROR", "HSIBENCH_CACHE", "OMP_NUM_THREADS")


@pytest.fixture(scope="module")
def two_nodes():
    """A head node and a worker node of one CPU each; yields the address a user would pass to ``--address``."""
    if ray.is_initialized():
        ray.shutdown()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    yield cluster
    ray.shutdown()
    cluster.shutdown()


def _run(executor: str, root: Path, methods=(CENTROID,), address: str | None = None, retries: int = 2,
         **overrides):
    settings = TrialSettings(out_dir=root, cache_dir=root / "cache", preset="smoke", plugins=(PLUGIN,), threads=1)
    specs = plan_trials(list(methods), "demo", SEEDS, settings, fixed=overrides)
    env = {name: os.environ[name] for name in ENV_NAMES if name in os.environ}
    options = ExecutorOptions(results_dir=root, cache_dir=root / "cache", address=address, worker_env=env,
                              retries=retries, plugins=settings.plugins)
    board = io.StringIO()
    result = run_campaign(specs, create_executor(executor, options), stream=board, live=False)
    return result, board.getvalue()


def _alive_node_ids(cluster: Cluster) -> set[str]:
    """Asked as a client of its own: the executor disconnects from the cluster when its campaign ends."""
    ray.init(address=cluster.address, log_to_driver=False)
    try:
        return {node["NodeID"] for node in ray.nodes() if node["Alive"]}
    finally:
        ray.shutdown()


def test_trials_land_on_both_nodes_and_match_the_local_executor(two_nodes, tmp_path: Path) -> None:
    local, _ = _run("local", tmp_path / "local", sleep_s=1.0)
    remote, _ = _run("ray", tmp_path / "ray", address=two_nodes.address, sleep_s=1.0)
    assert local.exit_code == remote.exit_code == 0 and len(remote.records) == len(SEEDS)
    by_seed = {record.seed: record for record in remote.records}
    for record in local.records:
        other = by_seed[record.seed]
        assert (other.predictions_sha256, other.run_id) == (record.predictions_sha256, record.run_id)
        assert record.machine.ray_node is None  # the local executor runs outside Ray
    nodes = {record.machine.ray_node["node_id"] for record in remote.records}
    assert nodes == _alive_node_ids(two_nodes) and len(nodes) == 2, "each one-CPU node ran some of the trials"
    assert all(record.machine.ray_node["address"] for record in remote.records)
    assert not list((tmp_path / "ray").rglob(PROBE_NAME)), "the shared-folder check cleans up after itself"


def test_a_worker_killed_mid_trial_is_run_again_and_leaves_one_whole_record(two_nodes, tmp_path: Path) -> None:
    marker = str(tmp_path / "died")
    result, progress = _run("ray", tmp_path / "out", methods=(CENTROID, PRETRAINED), address=two_nodes.address,
                            die_once=marker)
    assert result.exit_code == 0, progress
    assert len(result.records) == 2 * len(SEEDS) and all(record.ok for record in result.records)
    killed = sorted(path.name for path in tmp_path.glob("died-*"))  # the first trial of each seed died, once
    assert killed == sorted([f"died-adapt-{seed}" for seed in SEEDS] + ["died-prepare-1330"])
    assert progress.count("running it again") == len(SEEDS)
    runs = tmp_path / "out" / "demo" / "runs"
    assert len(list(runs.glob("*.json"))) == 2 * len(SEEDS) and not list(runs.glob(".*.tmp*")), "nothing torn"
    assert (tmp_path / "out" / "cache" / COMPUTATIONS_LOG).read_text().split() == ["1330"]  # killed before it wrote, then once
    # the driver heard of the lost workers; Ray's tqdm must not have replaced print (Tune pickles callbacks holding it)
    assert builtins.print.__module__ == "builtins"


def test_without_retries_a_lost_worker_leaves_a_failed_record_that_says_so(two_nodes, tmp_path: Path) -> None:
    result, _ = _run("ray", tmp_path / "out", address=two_nodes.address, die_once=str(tmp_path / "died"), retries=0)
    assert result.exit_code == 1 and len(result.records) == len(SEEDS)
    assert {record.error.type for record in result.records} == {"WorkerDied"}


def test_every_node_is_checked_to_see_the_results_and_cache_folders(two_nodes, tmp_path: Path) -> None:
    ray.init(address=two_nodes.address, log_to_driver=False)
    try:
        check_shared_folders({"--out": tmp_path / "out", "--cache": tmp_path / "cache"})  # one machine: both see them
    finally:
        ray.shutdown()
    assert not list(tmp_path.rglob(PROBE_NAME)), "the probe files are removed"


def test_a_node_that_reads_another_folder_or_none_is_reported(tmp_path: Path) -> None:
    (tmp_path / PROBE_NAME).write_text("token of another filesystem")
    missing = tmp_path / "not-mounted"
    assert read_probes([str(tmp_path), str(missing)], ["the driver's token", "x"]) == [str(tmp_path), str(missing)]
    (tmp_path / PROBE_NAME).write_text("the driver's token")
    assert read_probes([str(tmp_path)], ["the driver's token"]) == []


def test_one_folder_named_by_two_options_gets_one_probe(tmp_path: Path) -> None:
    probes = write_probes({"--out": tmp_path, "--cache": tmp_path / "." / ""})
    assert list(probes) == [str(tmp_path.resolve())] and probes[str(tmp_path.resolve())][0] == "--out and --cache"
    token = probes[str(tmp_path.resolve())][1]
    assert read_probes([str(tmp_path)], [token]) == []
