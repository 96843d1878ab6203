"""The prepared GPU check (benchmarks/gpu_check.py) runs on the CPU with --allow-cpu --tiny, and S²Former's compile key.

The check itself is meant for a GPU machine; here it runs its CPU path in seconds, with ``torch.compile``
made to fail (a real inductor compile takes minutes on this CPU) so that the failure row is tested too.
"""

from __future__ import annotations

import functools
import importlib.abc
import json
import socket
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from benchmarks import gpu_check
from hsibench.methods import RunContext, create_method, resolve_config
from hsibench.methods.s2former.method import pretraining_config
from hsibench.protocol import build_task, load_protocol, make_split, protocol_names


class _RefuseRay(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path=None, target=None):
        if name == "ray" or name.startswith("ray."):
            raise ImportError(f"the GPU check imported {name}")
        return None


def _no_network(*args, **kwargs):
    raise AssertionError("the GPU check tried to open a network connection")


def test_tiny_cpu_run_writes_the_table_without_ray_or_network(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture) -> None:
    torch.set_num_threads(1)
    for name in [name for name in sys.modules if name == "ray" or name.startswith("ray.")]:
        monkeypatch.delitem(sys.modules, name)  # another test may have imported it: make any import here visible
    monkeypatch.setattr(sys, "meta_path", [_RefuseRay(), *sys.meta_path])
    monkeypatch.setattr(socket.socket, "connect", _no_network)
    monkeypatch.setattr(socket, "create_connection", _no_network)

    def failing_compile(*args, **kwargs):
        raise RuntimeError("no compiler on this test machine")

    monkeypatch.setattr(torch, "compile", failing_compile)
    assert gpu_check.main([str(tmp_path), "--allow-cpu", "--tiny"]) == 0
    printed = capsys.readouterr().out
    assert not any(name == "ray" or name.startswith("ray.") for name in sys.modules)

    markdown = (tmp_path / "gpu_check.md").read_text()
    assert "| agreement" in markdown and "one pretraining epoch" in markdown and markdown in printed
    data = json.loads((tmp_path / "gpu_check.json").read_text())
    assert data["device"]["device"] == "cpu" and data["device"]["torch"] == torch.__version__
    rows = {row["quantity"]: row for row in data["rows"]}
    error = rows["CPU fp32 vs cpu fp32: max relative error of logits"]
    assert error["value"] == pytest.approx(0.0, abs=1e-6) and error["met"] is True
    assert rows["CPU fp32 vs cpu fp32: equal arg-max"]["value"] == 100.0
    epoch = rows["one pretraining epoch: wall time of prepare()"]
    assert epoch["unit"] == "s" and epoch["value"] > 0 and "paper preset" in epoch["detail"]
    offered = gpu_check.precisions(torch.device("cpu"))  # fp32, and bf16 where this CPU has native bf16
    assert offered[0] == "fp32" and set(offered) <= {"fp32", "bf16"}
    for precision in offered:
        for name in ("inference", "CE training step", "DAFT step", "pretraining step"):
            assert rows[f"{name}, {precision}, eager"]["value"] > 0
    for precision in offered[1:]:  # the precision comparison: each reduced precision against fp32, same model
        assert rows[f"CPU fp32 vs cpu {precision}: equal arg-max"]["value"] > 50
        assert rows[f"inference: {precision} / fp32"]["unit"] == "×"
    compiled = [row for row in data["rows"] if row["benchmark"] == "compile"]
    assert len(compiled) == 2 * len(offered)
    assert all(row["value"] is None and "FAILED" in row["detail"] for row in compiled)


def test_without_cuda_it_fails_naming_cuda(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert gpu_check.main([str(tmp_path), "--tiny"]) == gpu_check.EXIT_NO_CUDA
    assert "CUDA is not available" in capsys.readouterr().err
    assert "CUDA is not available" in (tmp_path / "gpu_check.md").read_text()


def test_compile_is_an_off_by_default_key_outside_the_pretraining_cache_key() -> None:
    assert resolve_config("s2former", "paper").compile is False
    assert resolve_config("s2former", "smoke", {"compile": "on"}).compile is True
    assert "compile" not in pretraining_config(resolve_config("s2former", "paper"))


@pytest.mark.skipif("demo" not in protocol_names(), reason="the demo protocol is not available")
def test_a_compiled_smoke_model_fine_tunes_predicts_and_saves_like_an_uncompiled_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # inductor needs minutes on this CPU; the eager backend traces the same way (dynamo) and runs the same kernels,
    # so the compiled path (OptimizedModule in fine-tuning, the EMA teacher's copy, predictions, checkpoints) is tested
    torch.set_num_threads(1)
    monkeypatch.setattr(torch, "compile", functools.partial(torch.compile, backend="eager"))
    protocol = load_protocol("demo")
    split = make_split(protocol, protocol.seeds[0])
    task = build_task(protocol, split)
    coords = split.test.coords[:64]
    overrides = {"pretrain": False, "finetune_epochs": 2}
    methods, predictions = {}, {}
    for compile_model in (False, True):
        method = create_method("s2former", RunContext(seed=split.seed, cache_dir=tmp_path), "smoke",
                               {**overrides, "compile": compile_model})
        method.adapt(task)
        methods[compile_model], predictions[compile_model] = method, method.predict(task.target, coords)
    assert isinstance(methods[True]._compiled, torch._dynamo.eval_frame.OptimizedModule)
    assert methods[False]._compiled is None
    np.testing.assert_array_equal(predictions[True], predictions[False])
    state = methods[True].state_dict()["model"]
    assert state.keys() == methods[False].state_dict()["model"].keys()
    assert not any(key.startswith("_orig_mod.") for key in state)
    methods[True].save(tmp_path / "compiled.pt")
    reloaded = create_method("s2former", RunContext(seed=split.seed, cache_dir=tmp_path), "smoke",
                             {**overrides, "compile": True})
    reloaded.load(tmp_path / "compiled.pt")
    np.testing.assert_array_equal(reloaded.predict(task.target, coords), predictions[True])
