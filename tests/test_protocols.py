"""Protocol files: every shipped one loads, bad files fail with the file and key named."""

from __future__ import annotations

import itertools

import pytest

from hsibench.protocol import PUBLISHED_SEEDS, ProtocolError, SceneRegion, load_protocol, protocol_names


def test_every_shipped_protocol_loads_with_literature_defaults() -> None:
    names = protocol_names()
    four = ["ip", "pu", "pc", "sa"]
    expected = {f"{s}2{t}" for s, t in itertools.permutations(four, 2)} | {"ch2ip", "ch2pu", "ch2sa", "hu13", "demo"}
    assert expected <= set(names)
    for name in expected - {"demo"}:
        protocol = load_protocol(name)
        assert (protocol.shots, protocol.patch_size, protocol.split_mode) == (5, 9, "legacy")
        assert protocol.seeds == PUBLISHED_SEEDS
    assert load_protocol("hu13").support_from == "official"


def write(tmp_path, text: str):
    path = tmp_path / "mine.toml"
    path.write_text(text)
    return path


def test_unknown_key_names_the_key_and_the_file(tmp_path) -> None:
    path = write(tmp_path, 'source = "pu"\ntarget = "pc"\nshot = 5\n')
    with pytest.raises(ProtocolError, match=r"mine\.toml.*`shot` \(did you mean `shots`\?\)"):
        load_protocol(path)


@pytest.mark.parametrize("patch_size", [8, 0, -1])
def test_even_or_non_positive_patch_size_is_an_error(tmp_path, patch_size: int) -> None:
    path = write(tmp_path, f'source = "pu"\ntarget = "pc"\npatch_size = {patch_size}\n')
    with pytest.raises(ProtocolError, match="patch_size must be an odd positive integer"):
        load_protocol(path)


@pytest.mark.parametrize("text, message", [
    ('target = "pc"\n', "missing required key `source`"),
    ('source = "pu"\ntarget = "pc"\nsplit_mode = "random"\n', "`split_mode` = 'random' is not one of"),
    ('source = "pu"\ntarget = "pc"\nspatial_buffer = 2\n', "legacy split has no validation carve-out or spatial buffer"),
    ('source = {scene = "sa_a", cols = [43]}\ntarget = "pc"\n', r"`source.cols` must be \[start, stop\)"),
    ('source = "pu"\ntarget = "pc"\nshots = = 5\n', "not valid TOML"),
])
def test_invalid_values_are_explained(tmp_path, text: str, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        load_protocol(write(tmp_path, text))


def test_unknown_protocol_name_lists_close_matches() -> None:
    with pytest.raises(ProtocolError, match="Did you mean pu2pc"):
        load_protocol("pu2pcc")


def test_overrides_are_validated() -> None:
    protocol = load_protocol("demo")
    assert protocol.with_overrides(shots=2).shots == 2
    with pytest.raises(ProtocolError, match="unknown protocol key"):
        protocol.with_overrides(shotz=2)
    with pytest.raises(ProtocolError, match="shots"):
        protocol.with_overrides(shots=0)


@pytest.mark.parametrize("a, b, overlap", [
    (SceneRegion("s", cols=(43, 86)), SceneRegion("s", cols=(0, 43)), False),
    (SceneRegion("s", cols=(42, 86)), SceneRegion("s", cols=(0, 43)), True),
    (SceneRegion("s"), SceneRegion("s", cols=(0, 43)), True),
    (SceneRegion("s", rows=(0, 10)), SceneRegion("s", rows=(10, 20), cols=(0, 5)), False),
    (SceneRegion("s"), SceneRegion("t"), False),
])
def test_region_overlap(a: SceneRegion, b: SceneRegion, overlap: bool) -> None:
    assert a.overlaps(b) is overlap and b.overlaps(a) is overlap


def test_default_preset_is_smoke_for_the_demo_and_paper_elsewhere(tmp_path) -> None:
    import argparse

    from hsibench.cli.run_commands import _preset

    assert _preset(argparse.Namespace(preset=None, protocol="demo")) == "smoke"
    assert _preset(argparse.Namespace(preset=None, protocol="pu2pc")) == "paper"
    assert _preset(argparse.Namespace(preset="cpu", protocol="demo")) == "cpu"
    with pytest.raises(ProtocolError, match="default_preset"):
        load_protocol(write(tmp_path, 'source = "pu"\ntarget = "pc"\ndefault_preset = ""\n'))
