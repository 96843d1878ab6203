"""Plugins shipped to Ray workers through ``runtime_env``: what :func:`plugin_runtime_env` ships, and a real cluster.

The unit tests build plugin files and out-of-tree packages in temporary folders. The Ray test starts
two one-CPU nodes (as tests/test_ray_cluster.py does), ships a plugin file with ``ray.init``, deletes
the plugin's folder, and has a task on each node load the plugin by its original path and use the
method it registers: the only copy left is the one Ray shipped.
"""

from __future__ import annotations

import importlib
import shutil
import sys
from pathlib import Path

import pytest

from hsibench.errors import HsibenchError
from hsibench.methods.registry import METHODS
from hsibench.runner.plugin_shipping import PluginShippingError, plugin_runtime_env
from hsibench.runner.spec import load_plugins

SHIPPED_METHOD = "test-shipped-plugin-centroid"

#: a plugin registering a tiny method, plus a function to prove the module itself runs on the worker
PLUGIN_SOURCE = f'''
from dataclasses import dataclass

from hsibench.methods import Method, register_method


@dataclass
class Config:
    answer: int = 42


@register_method({SHIPPED_METHOD!r}, family="classical", uses_source_labels=False, pretrains=False,
                 reference="test only", config=Config)
class Shipped(Method):
    """A method that only exists in a plugin file."""


def answer() -> int:
    return Config().answer
'''


@pytest.fixture
def clean_imports(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """``sys.path``, the method registry and ``sys.modules`` (the test's own modules) are put back afterwards."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(METHODS, "_items", dict(METHODS._items))
    before = set(sys.modules)
    yield monkeypatch
    for name in set(sys.modules) - before:
        if str(getattr(sys.modules[name], "__file__", None) or "").startswith(str(tmp_path)):
            del sys.modules[name]
    importlib.invalidate_caches()


def _write(path: Path, text: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# ---- what plugin_runtime_env ships --------------------------------------------------------------------------------

def test_a_plugin_file_ships_as_that_file_alone(tmp_path: Path) -> None:
    plugin = _write(tmp_path / "folder" / "my_plugin.py")
    _write(tmp_path / "folder" / "big_unrelated_data.py", "# not shipped")
    assert plugin_runtime_env([str(plugin)]) == {"py_modules": [str(plugin.resolve())]}
    relative = Path("folder") / "my_plugin.py"
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path)
        assert plugin_runtime_env([str(relative), str(plugin)]) == {"py_modules": [str(plugin.resolve())]}, \
            "absolute paths, each once"


def test_two_plugin_files_of_one_name_are_refused(tmp_path: Path) -> None:
    one, two = _write(tmp_path / "a" / "methods_x.py"), _write(tmp_path / "b" / "methods_x.py")
    with pytest.raises(PluginShippingError, match="methods_x"):
        plugin_runtime_env([str(one), str(two)])


def test_an_out_of_tree_package_ships_its_top_level_folder(tmp_path: Path, clean_imports) -> None:
    source = tmp_path / "src"
    _write(source / "oot_plugins_pkg" / "__init__.py")
    _write(source / "oot_plugins_pkg" / "sub" / "__init__.py")
    _write(source / "oot_plugins_pkg" / "sub" / "methods.py")
    single = _write(source / "oot_single_plugin.py")
    clean_imports.syspath_prepend(str(source))
    package = str((source / "oot_plugins_pkg").resolve())
    assert plugin_runtime_env(["oot_plugins_pkg.sub.methods"]) == {"py_modules": [package]}
    assert plugin_runtime_env(["oot_plugins_pkg", "oot_single_plugin", "oot_plugins_pkg.sub"]) == \
        {"py_modules": [package, str(single.resolve())]}
    assert "oot_plugins_pkg" not in sys.modules, "finding what to ship imports nothing"


def test_installed_and_own_modules_need_nothing() -> None:
    assert plugin_runtime_env(["numpy", "json", "os.path", "ray.util", "hsibench.methods.svm", "hsibench"]) == {}
    assert plugin_runtime_env([]) == {}


def test_a_missing_plugin_is_named(tmp_path: Path, clean_imports) -> None:
    missing_file = str(tmp_path / "gone" / "plugin_gone.py")
    with pytest.raises(PluginShippingError, match="plugin_gone.py.*does not exist") as caught:
        plugin_runtime_env([missing_file])
    assert isinstance(caught.value, HsibenchError)
    with pytest.raises(PluginShippingError, match="'no_such_plugin_module_xyz.methods'.*no module named"):
        plugin_runtime_env(["no_such_plugin_module_xyz.methods"])
    _write(tmp_path / "src" / "oot_pkg_without_sub" / "__init__.py")
    clean_imports.syspath_prepend(str(tmp_path / "src"))
    with pytest.raises(PluginShippingError, match="no module 'oot_pkg_without_sub.missing'"):
        plugin_runtime_env(["oot_pkg_without_sub.missing.deeper"])


# ---- load_plugins where the file is not there ---------------------------------------------------------------------

def test_load_plugins_imports_a_shipped_copy_when_the_file_is_missing(tmp_path: Path, clean_imports) -> None:
    shipped = _write(tmp_path / "shipped" / "load_by_stem_plugin.py", PLUGIN_SOURCE)
    clean_imports.syspath_prepend(str(shipped.parent))  # where Ray's py_modules puts it: on the worker's path
    load_plugins([str(tmp_path / "driver-only" / "load_by_stem_plugin.py")])
    assert sys.modules["load_by_stem_plugin"].answer() == 42 and SHIPPED_METHOD in METHODS
    load_plugins([str(tmp_path / "driver-only" / "load_by_stem_plugin.py")])  # imported once, not re-registered


def test_load_plugins_still_refuses_a_missing_file_nothing_shipped(tmp_path: Path, clean_imports) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist.*check the path, or ship"):
        load_plugins([str(tmp_path / "nowhere_plugin_q.py")])
    with pytest.raises(FileNotFoundError, match="does not exist"):  # a module of that stem, but not that file
        load_plugins([str(tmp_path / "json.py")])
    _write(tmp_path / "src" / "stem_is_a_package" / "__init__.py")
    clean_imports.syspath_prepend(str(tmp_path / "src"))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_plugins([str(tmp_path / "stem_is_a_package.py")])


# ---- a real cluster -----------------------------------------------------------------------------------------------

@pytest.fixture
def two_nodes():
    """A head node and a worker node of one CPU each, shut down whatever the test does."""
    import ray
    from ray.cluster_utils import Cluster

    if ray.is_initialized():
        ray.shutdown()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    try:
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        yield cluster
    finally:
        ray.shutdown()
        cluster.shutdown()


@pytest.mark.slow  # starts two Ray nodes
def test_a_shipped_plugin_runs_on_every_node_after_its_folder_is_gone(two_nodes, tmp_path: Path,
                                                                     clean_imports) -> None:
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    folder = tmp_path / "user-plugins"
    plugin = _write(folder / "shipped_plugin_method.py", PLUGIN_SOURCE)
    _write(folder / "sibling_not_shipped.py", "VALUE = 1")
    load_plugins([str(plugin)])  # the driver imports it, as `hsibench run --plugin FILE` does
    assert SHIPPED_METHOD in METHODS
    ray.init(address=two_nodes.address, runtime_env=plugin_runtime_env([str(plugin)]), log_to_driver=False)
    shutil.rmtree(folder)  # ray.init uploaded it; no node can read the folder any more

    def use_plugin(path: str) -> dict:
        import importlib.util
        import sys
        from pathlib import Path

        import ray

        from hsibench.methods import get_method_entry
        from hsibench.runner.spec import load_plugins

        load_plugins([path])
        module = sys.modules[Path(path).stem]
        return {"node": ray.get_runtime_context().get_node_id(), "file": module.__file__, "answer": module.answer(),
                "method": get_method_entry(SHIPPED_METHOD).info.name,
                "sibling": importlib.util.find_spec("sibling_not_shipped") is not None}

    nodes = [node["NodeID"] for node in ray.nodes() if node["Alive"]]
    assert len(nodes) == 2
    results = ray.get([ray.remote(num_cpus=1, max_retries=0)(use_plugin).options(
        scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False)).remote(str(plugin)) for node in nodes],
        timeout=120)
    assert sorted(result["node"] for result in results) == sorted(nodes)
    for result in results:
        assert (result["answer"], result["method"]) == (42, SHIPPED_METHOD)
        assert Path(result["file"]).name == plugin.name and not result["file"].startswith(str(folder))
        assert not result["sibling"], "only the plugin file is shipped, not its folder"
