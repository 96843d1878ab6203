"""Protocols are checked like methods: every shipped one loads and splits, scenes are validated, identity is declared once."""

from __future__ import annotations

import dataclasses

import pytest
from test_protocols import write

from hsibench.data import get_scene_source
from hsibench.protocol import ProtocolError, load_protocol, make_split, protocol_names
from hsibench.protocol.protocol import IDENTITY_KEYS, SETTABLE_KEYS, Protocol, protocol_identity
from hsibench.protocol.regions import region_ground_truth
from hsibench.runner.spec import compute_run_id, resolve_config


def ground_truth_available(protocol: Protocol) -> bool:
    source = get_scene_source(protocol.target.scene)
    check = getattr(source, "ground_truth_available", None)
    return True if check is None else check()  # generated scenes are always there


@pytest.mark.parametrize("name", protocol_names())
def test_every_shipped_protocol_loads_and_splits_where_its_ground_truth_is_in_the_mirror(name: str) -> None:
    protocol = load_protocol(name)
    assert protocol.name == name and protocol.source.scene and protocol.target.scene
    if not ground_truth_available(protocol):
        pytest.skip(f"{protocol.target.scene}'s ground truth is not in the mirror")
    split = make_split(protocol, protocol.seeds[0], ground_truth=region_ground_truth(protocol.target))
    assert len(split.support) > 0 and len(split.test) > 0
    assert len(split.fingerprint) >= 16
    # the support of every class it kept has the protocol's shots (legacy: exactly k per class)
    if protocol.support_from == "labels":
        kept = set(split.support.labels.tolist())
        assert len(split.support) == protocol.shots * len(kept)


def test_a_protocol_naming_an_unknown_scene_is_refused_with_the_scene_and_a_suggestion(tmp_path) -> None:
    path = write(tmp_path, 'source = "pavia_u"\ntarget = "pc"\n')
    with pytest.raises(ProtocolError, match=r"mine\.toml: `source` names the unknown scene 'pavia_u'.*Registered scenes"):
        load_protocol(path)
    with pytest.raises(ProtocolError, match="Did you mean sa"):
        load_protocol(write(tmp_path, 'source = "pu"\ntarget = "SA"\n'))


def test_a_bare_name_never_resolves_to_a_folder_or_file_of_that_name(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "demo").mkdir()  # e.g. a results folder called demo
    (tmp_path / "pu2pc").write_text('source = "pu"\ntarget = "ip"\n')
    assert load_protocol("demo").path == "protocols/demo.toml"
    assert load_protocol("pu2pc").target.scene == "pc"
    with pytest.raises(ProtocolError, match="neither a shipped protocol name nor a path ending in .toml"):
        load_protocol("somewhere/demo")


def test_identity_and_settable_keys_are_declared_once_in_the_field_metadata() -> None:
    for item in dataclasses.fields(Protocol):
        assert set(item.metadata) == {"identity", "settable"}, item.name
    assert {"default_preset", "description", "notes", "seeds", "path"}.isdisjoint(IDENTITY_KEYS)
    assert {"shots", "patch_size", "split_mode", "normalisation", "source", "target"} <= set(IDENTITY_KEYS)
    assert {"name", "source", "target", "seeds", "default_preset"}.isdisjoint(SETTABLE_KEYS)
    assert set(protocol_identity(load_protocol("demo"))) == set(IDENTITY_KEYS)


def test_a_protocols_ui_default_preset_and_texts_leave_the_run_id() -> None:
    protocol = load_protocol("demo")
    config = resolve_config("svm", "smoke")
    run_id = compute_run_id("svm", config, protocol, 1330)
    changed = dataclasses.replace(protocol, default_preset="paper", description="other words", notes="n",
                                  seeds=(1, 2))
    assert compute_run_id("svm", config, changed, 1330) == run_id
    assert compute_run_id("svm", config, dataclasses.replace(protocol, shots=3), 1330) != run_id
