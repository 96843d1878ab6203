"""`band_alignment = "wavelength"`: every scene on one common wavelength grid, checked on real sensors.

AVIRIS (Salinas-A, 204 kept bands, its four spectrometers overlapping) and CASI-1500 (MUUFL Gulfport,
72 bands, 368–1043 nm) are read through the mirror: the same physical band lands in the same
channel, channels a sensor does not cover are invalid and carry no data and no loss.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from hsibench.data import load_scene
from hsibench.methods.mae import MAEConfig
from hsibench.methods.s2former.band_alignment import empty_adapter, make_adapter
from hsibench.methods.s2former.config import S2FormerConfig, pretraining_config
from hsibench.methods.s2former.pretraining import masked_reconstruction_loss
from hsibench.methods.spectral_layers import (
    WavelengthCoverageError,
    WavelengthGrid,
    WavelengthResampling,
    covered_stretches,
    wavelength_resampling,
)
from hsibench.protocol import build_source_domain, load_protocol
from hsibench.runner.spec import config_identity

GRID = WavelengthGrid(400.0, 2500.0, 100)  # the default grid at the paper preset's C₀ = 100


@pytest.fixture
def aviris(real_data) -> np.ndarray:
    return load_scene("sa_a_corrected").wavelengths_nm


@pytest.fixture
def casi(real_data) -> np.ndarray:
    return load_scene("muufl").wavelengths_nm


def test_the_grid_is_channels_of_equal_width() -> None:
    assert GRID.step_nm == pytest.approx(21.0)
    assert GRID.centres()[0] == pytest.approx(410.5) and GRID.centres()[-1] == pytest.approx(2489.5)
    assert GRID.channel_of(400.0) == 0 and GRID.channel_of(2499.9) == 99 and GRID.channel_of(390.0) == -1
    with pytest.raises(ValueError, match="start < stop"):
        WavelengthGrid(900.0, 400.0, 10)


def test_aviris_band_30_lands_in_the_same_channel_as_the_nearest_casi_band(aviris: np.ndarray, casi: np.ndarray) -> None:
    band_30 = aviris[29]  # Salinas-A corrected keeps AVIRIS bands 1–107 first: band 30 is column 29
    assert band_30 == pytest.approx(647.96, abs=0.01)
    nearest_casi = int(np.argmin(np.abs(casi - band_30)))
    assert abs(casi[nearest_casi] - band_30) < 5  # MUUFL's 643.8 nm
    aviris_weights, aviris_valid = wavelength_resampling(aviris, GRID, "sa_a_corrected")
    casi_weights, casi_valid = wavelength_resampling(casi, GRID, "muufl")
    channel = GRID.channel_of(band_30)
    assert channel == GRID.channel_of(casi[nearest_casi]) == 11  # [631, 652) nm
    # the band feeds mostly that channel, in both sensors
    assert int(np.argmax(aviris_weights[:, 29])) == int(np.argmax(casi_weights[:, nearest_casi])) == channel
    assert aviris_valid[channel] and casi_valid[channel]


def test_casi_channels_above_its_range_are_masked(casi: np.ndarray) -> None:
    weights, valid = wavelength_resampling(casi, GRID, "muufl")
    centres = GRID.centres()
    assert casi.max() == pytest.approx(1043.4, abs=0.1)
    assert not valid[centres > 1045].any()  # CASI-1500 is VNIR only
    assert valid[centres < 1040].all()
    assert np.all(weights[~valid] == 0)
    np.testing.assert_allclose(weights[valid].sum(axis=1), 1.0)  # a valid channel is a weighted mean of bands


def test_removed_water_bands_leave_masked_channels_inside_the_aviris_range(aviris: np.ndarray) -> None:
    weights, valid = wavelength_resampling(aviris, GRID, "sa_a_corrected")
    masked = GRID.centres()[~valid]
    # Salinas-A corrected drops AVIRIS bands 108–112 (≈1.36–1.40 µm) and 154–167 (≈1.82–1.93 µm): gaps wider than a channel
    assert len(masked) == 8
    assert all(1360 < c < 1410 or 1810 < c < 1935 for c in masked)
    # AVIRIS' overlapping spectrometers (band 33 is bluer than band 32) are sorted, not treated as a gap
    assert valid[GRID.channel_of(660.0)] and len(covered_stretches(aviris, GRID.step_nm)) == 3
    np.testing.assert_allclose(weights[valid].sum(axis=1), 1.0)


def test_a_grid_a_sensor_does_not_overlap_is_an_error_naming_the_scene(casi: np.ndarray) -> None:
    with pytest.raises(WavelengthCoverageError, match=r"muufl: its bands cover 367\.7–1043\.4 nm.*1100–2500 nm"):
        wavelength_resampling(casi, WavelengthGrid(1100.0, 2500.0, 100), "muufl")


def test_the_adapter_is_fixed_and_zero_on_masked_channels(real_data) -> None:
    domain = build_source_domain(load_protocol("muufl2sa_a"), grant_labels=False)
    adapter = make_adapter("wavelength", domain, 100, "layer", seed=0)
    assert isinstance(adapter, WavelengthResampling) and not list(adapter.parameters())
    patches = domain.patches.gather(domain.valid_coords()[:16])
    aligned = adapter(patches)
    assert aligned.shape == (16, 9, 9, 100)
    assert torch.all(aligned[..., ~adapter.valid] == 0) and adapter.valid.sum() == 31
    with pytest.raises(WavelengthCoverageError, match="muufl"):
        make_adapter("wavelength", domain, 100, "layer", seed=0, wavelength_grid_nm=(1100.0, 2500.0))
    # a checkpoint carries the resampling: an empty adapter of the same shape takes it back
    restored = empty_adapter("wavelength", domain.bands, 100, "layer")
    restored.load_state_dict(adapter.state_dict())
    assert torch.equal(restored(patches), aligned)


def test_a_scene_without_wavelengths_is_refused(real_data) -> None:
    domain = build_source_domain(load_protocol("muufl2sa_a"), grant_labels=False)
    anonymous = dataclasses.replace(domain, wavelengths_nm=None)
    with pytest.raises(WavelengthCoverageError, match="no band wavelengths"):
        make_adapter("wavelength", anonymous, 100, "layer", seed=0)


@pytest.mark.parametrize("fdc_axes", ["spectral", "spatial"])
def test_masked_channels_get_no_gradient_from_either_loss(fdc_axes: str) -> None:
    generator = torch.Generator().manual_seed(0)
    valid = torch.tensor([True] * 12 + [False] * 4)
    target = torch.randn(3, 25, 16, generator=generator) * valid  # the truth is 0 on invalid channels
    predicted = torch.randn(3, 25, 16, generator=generator).requires_grad_()
    weights = (torch.rand(3, 25, generator=generator) < 0.5).float()
    total, count, fdc = masked_reconstruction_loss(predicted, target, weights, valid, 5, 0.1, 0.25, fdc_axes)
    (total / count + 0.1 * fdc).backward()
    assert torch.all(predicted.grad[..., ~valid] == 0) and predicted.grad[..., valid].abs().sum() > 0
    # with every channel valid the loss is the plain mean over channels (the original loss)
    plain, _, _ = masked_reconstruction_loss(predicted, target, weights, None, 5, 0.0, 0.25, fdc_axes)
    everything, _, _ = masked_reconstruction_loss(predicted, target, weights, torch.ones(16, dtype=torch.bool), 5,
                                                  0.0, 0.25, fdc_axes)
    assert torch.allclose(plain, everything)


def test_the_grid_enters_run_ids_and_pretraining_keys_only_where_it_is_used() -> None:
    default = S2FormerConfig()
    assert "wavelength_grid_nm" not in config_identity(default)
    assert "wavelength_grid_nm" not in pretraining_config(default)
    wavelength = S2FormerConfig(band_alignment="wavelength")
    assert pretraining_config(wavelength)["wavelength_grid_nm"] == (400.0, 2500.0)
    assert config_identity(S2FormerConfig(wavelength_grid_nm=(400.0, 1000.0)))["wavelength_grid_nm"] == [400.0, 1000.0]
    mae = config_identity(MAEConfig())
    assert "band_alignment" not in mae and "wavelength_grid_nm" not in mae
    assert config_identity(MAEConfig(band_alignment="wavelength"))["band_alignment"] == "wavelength"
