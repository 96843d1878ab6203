"""Real cross-scene and cross-sensor transfer: the seven protocols on the small real cubes, through the mirror.

Unlabeled scenes are sources for the methods that need no source labels; the others are refused
before anything runs. Scene options reach the scene's loader, a valid-pixel mask keeps its pixels out
of every batch, several sources pool, and every table built on derived labels says so.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hsibench.cli import main
from hsibench.data import get_scene_source, load_ground_truth
from hsibench.methods import RunContext, create_method
from hsibench.methods.base import source_content_digest
from hsibench.methods.mae import pretrain_masked_autoencoder
from hsibench.methods.pretraining_cache import domain_digest
from hsibench.methods.spectral_layers import WavelengthCoverageError
from hsibench.protocol import (
    PooledSource,
    PooledSourceRefused,
    ProtocolError,
    SceneRegion,
    SourceLabelsRefused,
    build_source_domain,
    load_protocol,
    make_split,
)
from hsibench.protocol.protocol import protocol_identity
from hsibench.runner import TrialSpec, resolve
from hsibench.runner.source_domains import source_domain

NEW_PROTOCOLS = ("jr2sa_a", "av2sa_a", "muufl2sa_a", "pusub2sa_a", "urban2sa_a", "multi2sa_a", "sa_a2jr")
LABELED_SOURCE = {"jr2sa_a", "sa_a2jr"}  # where dcfsl and finetune have source labels to use
EVERY_METHOD = ("s2former", "mae", "svm", "cnn3d", "ssftt", "dcfsl", "finetune")
JR_NOTE = get_scene_source("jr").info.label_note


def applicable_methods(protocol: str) -> list[str]:
    return [m for m in EVERY_METHOD if protocol in LABELED_SOURCE or m not in ("dcfsl", "finetune")]


def write_protocol(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "custom.toml"
    path.write_text(text)
    return path


# --- the protocols and their splits ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NEW_PROTOCOLS)
def test_new_protocols_build_their_split(real_data, name: str) -> None:
    protocol = load_protocol(name)
    assert (protocol.shots, protocol.patch_size, protocol.split_mode) == (5, 9, "legacy")
    assert protocol.seeds == (1330, 1220, 1336, 1337, 1224, 1236, 1226, 1235, 1233, 1229)
    split = make_split(protocol, 1330)
    classes = 4 if name == "sa_a2jr" else 6
    assert np.bincount(split.support.labels).max() == 5 and len(split.support) == 5 * classes
    assert len(split.test) > 1000 and not split.skipped_classes


def test_scene_options_reach_the_loader_and_stay_out_of_old_identities(real_data) -> None:
    protocol = load_protocol("sa_a2jr")
    assert protocol.target == SceneRegion("jr", options=(("purity", 0.8),))
    assert protocol_identity(protocol)["target"] == {"scene": "jr", "rows": None, "cols": None, "options": {"purity": 0.8}}
    looser = protocol.with_overrides(target=SceneRegion("jr", options=(("purity", 0.7),)))
    strict, loose = make_split(protocol, 1330), make_split(looser, 1330)
    assert len(loose.test) > len(strict.test) == 5853 - 20  # 1,830 + 3,070 + 626 + 327 labeled at purity 0.8
    assert len(loose.test) == sum(load_ground_truth("jr", purity=0.7).class_counts().values()) - 20
    # an existing protocol's regions carry no options key: its identity, and so its run ids, are as before
    assert protocol_identity(load_protocol("sa_a_r2l"))["source"] == {"scene": "sa_a_corrected", "rows": None,
                                                                      "cols": [43, 86]}
    assert "extra_sources" not in protocol_identity(load_protocol("jr2sa_a"))
    assert [r["scene"] for r in protocol_identity(load_protocol("multi2sa_a"))["extra_sources"]] == \
        ["av", "muufl", "pusub", "urban"]


# --- refused combinations -------------------------------------------------------------------------------------------


def test_a_target_without_labels_is_refused_on_load(tmp_path: Path) -> None:
    path = write_protocol(tmp_path, 'source = "sa_a_corrected"\ntarget = "av"\n')
    with pytest.raises(ProtocolError, match=rf"{path}: the target scene 'av' .* has no labels, and a target needs labels"):
        load_protocol(path)


@pytest.mark.parametrize("method, protocol, message", [
    ("dcfsl", "av2sa_a", r"method 'dcfsl' uses source labels, but the source scene 'av' of protocol 'av2sa_a'"),
    ("finetune", "muufl2sa_a", r"method 'finetune' uses source labels, but the source scene 'muufl'"),
    ("dcfsl", "multi2sa_a", r"method 'dcfsl' uses source labels and learns from one source scene, but protocol "
                            r"'multi2sa_a' pools 5 sources \(jr \+ av \+ muufl \+ pusub \+ urban\)"),
    ("finetune", "multi2sa_a", r"method 'finetune' uses source labels .* pools 5 sources"),
    ("dcfsl", "sa_a_same", r"source sa_a overlaps target sa_a, so source labels would be target labels"),
])
def test_source_label_methods_are_refused_at_planning_and_when_the_source_is_built(method: str, protocol: str,
                                                                                     message: str, tmp_path: Path) -> None:
    if protocol == "sa_a_same":  # one scene as source and target: planning sees the overlap from the regions alone
        protocol = str(write_protocol(tmp_path, 'source = "sa_a"\ntarget = "sa_a"\n'))
    with pytest.raises(SourceLabelsRefused, match=message):
        resolve(TrialSpec(method, protocol, 1330, preset="smoke"))  # planning: no file is read
    with pytest.raises(SourceLabelsRefused, match=message):
        build_source_domain(load_protocol(protocol), grant_labels=True, method=method)
    with pytest.raises(SourceLabelsRefused, match=message):
        source_domain(load_protocol(protocol), grant_labels=True, method=method)


def test_the_cli_refuses_before_running_anything(tmp_path: Path, capsys) -> None:
    assert main(["run", "--method", "dcfsl", "--protocol", "av2sa_a", "--preset", "smoke", "--seeds", "1330",
                 "--executor", "local", "--out", str(tmp_path)]) != 0
    assert "method 'dcfsl' uses source labels, but the source scene 'av'" in capsys.readouterr().err
    assert not list(tmp_path.rglob("*.json"))


def test_unknown_scenes_and_options_in_sources_are_refused_on_load(tmp_path: Path) -> None:
    path = write_protocol(tmp_path, 'sources = ["jr", "muufll"]\ntarget = "sa_a_corrected"\n')
    with pytest.raises(ProtocolError, match=r"`sources\[1\]` names the unknown scene 'muufll'. Did you mean muufl\?"):
        load_protocol(path)
    path = write_protocol(tmp_path, 'source = { scene = "av", options = { purity = 0.7 } }\ntarget = "sa_a_corrected"\n')
    with pytest.raises(ProtocolError, match=r"`source.options` gives 'purity', which scene 'av' does not have"):
        load_protocol(path)
    path = write_protocol(tmp_path, 'source = "jr"\nsources = ["av"]\ntarget = "sa_a_corrected"\n')
    with pytest.raises(ProtocolError, match="either `source`"):
        load_protocol(path)
    path = write_protocol(tmp_path, 'sources = ["av", "av"]\ntarget = "sa_a_corrected"\n')
    with pytest.raises(ProtocolError, match="lists av more than once"):
        load_protocol(path)


def test_a_method_that_pretrains_on_one_source_refuses_a_pool(real_data) -> None:
    pooled = source_domain(load_protocol("multi2sa_a"), grant_labels=False)
    assert isinstance(pooled, PooledSource) and [d.name for d in pooled.domains] == ["jr", "av", "muufl", "pusub", "urban"]
    finetune = create_method("finetune", RunContext(seed=0), "smoke")
    with pytest.raises(PooledSourceRefused, match="'finetune' uses source labels, but was given 5 pooled sources"):
        finetune.prepare(pooled)


def test_a_wavelength_grid_a_sensor_does_not_overlap_is_an_error(real_data, tmp_path: Path) -> None:
    source = source_domain(load_protocol("muufl2sa_a"), grant_labels=False)
    method = create_method("s2former", RunContext(seed=0, cache_dir=tmp_path), "smoke",
                           {"band_alignment": "wavelength", "wavelength_grid_nm": "1100,2500"})
    with pytest.raises(WavelengthCoverageError, match=r"muufl: its bands cover 367\.7–1043\.4 nm, which does not overlap"):
        method.prepare(source)


# --- valid-pixel masks ----------------------------------------------------------------------------------------------


class GatherSpy:
    """Wraps one domain's ``patches.gather`` and keeps every centre it was asked for."""

    def __init__(self, domain) -> None:
        self.original, self.centres = domain.patches.gather, []
        domain.patches.gather = self

    def __call__(self, coords):
        self.centres.append(np.asarray(coords).reshape(-1, 2).copy())
        return self.original(coords)

    def all(self) -> np.ndarray:
        return np.concatenate(self.centres)


def muufl_mask() -> np.ndarray:
    from hsibench.data import load_scene

    mask = load_scene("muufl").valid_mask
    assert mask is not None and mask.sum() == 3884
    return mask


def test_muufl_domain_keeps_its_mask_and_zscores_over_valid_pixels(real_data) -> None:
    mask = muufl_mask()
    domain = build_source_domain(load_protocol("muufl2sa_a"), grant_labels=False)
    assert np.array_equal(domain.valid_mask, mask) and len(domain.valid_coords()) == 3884
    interior = domain.patches.interior().numpy()
    assert np.all(interior[~mask] == 0)  # fill values outside the mask read as zero padding does
    np.testing.assert_allclose(interior[mask].mean(axis=0), 0, atol=1e-3)  # z-score over the valid pixels
    np.testing.assert_allclose(interior[mask].std(axis=0), 1, atol=1e-3)


@pytest.mark.parametrize("protocol", ["muufl2sa_a", "multi2sa_a"])
@pytest.mark.parametrize("method, overrides", [
    ("s2former", {}), ("s2former", {"band_alignment": "wavelength"}), ("mae", {}), ("mae", {"band_alignment": "wavelength"}),
])
def test_masked_muufl_pixels_never_appear_in_a_pretraining_batch(real_data, tmp_path: Path, protocol: str, method: str,
                                                                 overrides: dict) -> None:
    mask = muufl_mask()
    source = build_source_domain(load_protocol(protocol), False) if protocol == "muufl2sa_a" else \
        PooledSource(tuple(build_source_domain(load_protocol(protocol), False, region=region)
                           for region in load_protocol(protocol).sources))
    muufl = next(d for d in (source.domains if isinstance(source, PooledSource) else (source,)) if d.name == "muufl")
    spy = GatherSpy(muufl)
    small = {"pretrain_samples": 3000, "pretrain_epochs": 1} if method == "s2former" else {"pretrain_steps": 20,
                                                                                           "pretrain_batch_size": 64}
    trainer = create_method(method, RunContext(seed=0, cache_dir=tmp_path), "smoke", {**small, **overrides})
    if method == "s2former":
        trainer.prepare(source)
    else:
        pretrain_masked_autoencoder(source, trainer.config, RunContext(seed=0))
    centres = spy.all()
    assert len(centres) > 0
    assert mask[centres[:, 0], centres[:, 1]].all(), "a pixel outside MUUFL's valid mask was a pretraining sample"


# --- pooled sources: the cache key covers them all ------------------------------------------------------------------


def test_the_pretraining_key_covers_every_pooled_source(real_data) -> None:
    protocol = load_protocol("multi2sa_a")
    domains = [build_source_domain(protocol, False, region=region) for region in protocol.sources]
    jr = domains[0]
    assert source_content_digest(jr) == domain_digest(jr.patches.padded)  # one source, no mask: as before pools existed
    assert source_content_digest(domains[2]) != domain_digest(domains[2].patches.padded)  # MUUFL's mask enters
    method = create_method("s2former", RunContext(seed=0), "smoke")
    keys = {method.pretraining_key(PooledSource(tuple(domains))),
            method.pretraining_key(PooledSource(tuple(domains[:4]))),
            method.pretraining_key(PooledSource(tuple(reversed(domains)))),
            method.pretraining_key(jr)}
    assert len(keys) == 4
    mae = create_method("mae", RunContext(seed=0), "smoke")
    assert mae.pretraining_key(PooledSource(tuple(domains))) != mae.pretraining_key(PooledSource(tuple(domains[1:])))


# --- every applicable method on every new protocol, at the smoke preset ---------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("name", NEW_PROTOCOLS)
def test_every_applicable_method_runs_on_the_real_files(real_data, tmp_path: Path, capsys, name: str) -> None:
    methods = applicable_methods(name)
    common = ["--protocol", name, "--preset", "smoke", "--seeds", "1330", "--executor", "local", "--no-maps",
              "--out", str(tmp_path), "--cache", str(tmp_path / "cache")]
    assert main(["run", "--method", ",".join(methods), *common]) == 0
    if name in ("muufl2sa_a", "multi2sa_a"):  # the common wavelength grid, on the masked and the pooled source
        assert main(["run", "--method", "s2former,mae", "--set", "band_alignment=wavelength", *common]) == 0
    printed = capsys.readouterr().out  # the run's closing table (printed, never written)
    records = [json.loads(path.read_text()) for path in (tmp_path / name / "runs").glob("*.json")]
    assert sorted({r["method"] for r in records}) == sorted(methods)
    assert all(r["status"] == "ok" and 0 <= r["overall_accuracy"] <= 1 for r in records)
    caption = printed
    # a protocol that names a scene with derived labels (as target, or among its sources) says so in every caption
    assert (JR_NOTE in caption) is (name in ("jr2sa_a", "sa_a2jr", "multi2sa_a"))


# --- pooled sources in listings and in report grouping --------------------------------------------------------------


def test_protocol_listings_name_every_pooled_source(capsys) -> None:
    assert main(["protocols", "list"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("multi2sa_a"))
    sources = [region.scene for region in load_protocol("multi2sa_a").sources]
    assert "+".join(sources) in row and len(sources) == 5


def test_report_grouping_tells_pools_of_different_sources_apart() -> None:
    from hsibench.report.collect import identity_of

    pooled = json.loads(json.dumps(protocol_identity(load_protocol("multi2sa_a"))))
    fewer = {**pooled, "extra_sources": pooled["extra_sources"][:-1]}
    assert identity_of(pooled) != identity_of(fewer)
    assert "extra_sources" not in identity_of(json.loads(json.dumps(protocol_identity(load_protocol("jr2sa_a")))))
