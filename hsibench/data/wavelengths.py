"""Band centres (nm) of the sensors behind the registered scenes, each table with its source beside it.

A scene's wavelengths come from its own file where the file carries them (the two GatorSense
files); otherwise from its sensor's nominal table here, indexed by the 1-based band numbers the
distributor kept. Nominal means "good to a few nanometres": the exact centres of a push-broom or
whisk-broom sensor move between flights (AVIRIS is recalibrated every season), which matters for
comparing band *positions* across scenes, not for reading one scene.

AVIRIS records its spectrum with four spectrometers whose ranges overlap slightly, so its table is
not monotonic at the joins (bands 32/33, 96/97, 160/161): sort by wavelength before interpolating.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

# --- AVIRIS (224 bands) ---------------------------------------------------------------------------

#: Band centres of one AVIRIS flight's spectral calibration: the ``wavelengths`` variable (224×1) of
#: ``demos/a_hsi_img_for_VI_demo.mat`` in GatorSense/hsi_toolkit_py at commit
#: 8c5a023bf2395c6bf88171aefcc3888b78c0d709 (MIT licence; Copyright (c) GatorSense, University of
#: Florida). Used as the nominal AVIRIS table for every AVIRIS scene but Indian Pines; a test checks
#: it against the file whenever the file is at hand.
AVIRIS_BAND_CENTRES_NM: tuple[float, ...] = (
    365.910004, 375.579987, 385.25, 394.920013, 404.600006, 414.279999, 423.959991, 433.649994,  # bands 1–8
    443.350006, 453.049988, 462.75, 472.459991, 482.170013, 491.890015, 501.609985, 511.339996,  # bands 9–16
    521.070007, 530.799988, 540.539978, 550.280029, 560.030029, 569.780029, 579.539978, 589.299988,  # bands 17–24
    599.070007, 608.840027, 618.609985, 628.390015, 638.169983, 647.960022, 657.75, 667.539978,  # bands 25–32
    655.47998, 665.280029, 675.080017, 684.880005, 694.669983, 704.460022, 714.23999, 724.02002,  # bands 33–40
    733.789978, 743.549988, 753.309998, 763.070007, 772.820007, 782.559998, 792.299988, 802.039978,  # bands 41–48
    811.76001, 821.48999, 831.210022, 840.919983, 850.630005, 860.330017, 870.030029, 879.719971,  # bands 49–56
    889.409973, 899.090027, 908.77002, 918.440002, 928.099976, 937.77002, 947.419983, 957.070007,  # bands 57–64
    966.719971, 976.359985, 985.98999, 995.619995, 1005.25, 1014.859985, 1024.47998, 1034.089966,  # bands 65–72
    1043.689941, 1053.290039, 1062.880005, 1072.469971, 1082.060059, 1091.630005, 1101.209961, 1110.77002,  # bands 73–80
    1120.339966, 1129.890015, 1139.439941, 1148.98999, 1158.530029, 1168.069946, 1177.599976, 1187.130005,  # bands 81–88
    1196.650024, 1206.160034, 1215.670044, 1225.180054, 1234.680054, 1244.170044, 1253.660034, 1263.140015,  # bands 89–96
    1253.349976, 1263.329956, 1273.300049, 1283.27002, 1293.23999, 1303.209961, 1313.189941, 1323.160034,  # bands 97–104
    1333.130005, 1343.099976, 1353.069946, 1363.040039, 1373.01001, 1382.97998, 1392.949951, 1402.920044,  # bands 105–112
    1412.890015, 1422.859985, 1432.829956, 1442.790039, 1452.76001, 1462.72998, 1472.699951, 1482.660034,  # bands 113–120
    1492.630005, 1502.599976, 1512.569946, 1522.530029, 1532.5, 1542.459961, 1552.430054, 1562.400024,  # bands 121–128
    1572.359985, 1582.329956, 1592.290039, 1602.26001, 1612.219971, 1622.180054, 1632.150024, 1642.109985,  # bands 129–136
    1652.069946, 1662.040039, 1672.0, 1681.959961, 1691.930054, 1701.890015, 1711.849976, 1721.810059,  # bands 137–144
    1731.77002, 1741.72998, 1751.689941, 1761.660034, 1771.619995, 1781.579956, 1791.540039, 1801.5,  # bands 145–152
    1811.449951, 1821.410034, 1831.369995, 1841.329956, 1851.290039, 1861.25, 1871.209961, 1872.359985,  # bands 153–160
    1866.839966, 1876.910034, 1886.959961, 1897.02002, 1907.079956, 1917.130005, 1927.180054, 1937.22998,  # bands 161–168
    1947.27002, 1957.310059, 1967.359985, 1977.390015, 1987.430054, 1997.459961, 2007.5, 2017.52002,  # bands 169–176
    2027.550049, 2037.579956, 2047.599976, 2057.620117, 2067.639893, 2077.649902, 2087.659912, 2097.679932,  # bands 177–184
    2107.679932, 2117.689941, 2127.689941, 2137.699951, 2147.689941, 2157.689941, 2167.689941, 2177.679932,  # bands 185–192
    2187.669922, 2197.659912, 2207.639893, 2217.629883, 2227.610107, 2237.580078, 2247.560059, 2257.530029,  # bands 193–200
    2267.51001, 2277.47998, 2287.439941, 2297.409912, 2307.370117, 2317.330078, 2327.290039, 2337.23999,  # bands 201–208
    2347.199951, 2357.149902, 2367.090088, 2377.040039, 2386.98999, 2396.929932, 2406.870117, 2416.800049,  # bands 209–216
    2426.73999, 2436.669922, 2446.600098, 2456.530029, 2466.449951, 2476.379883, 2486.300049, 2496.219971,  # bands 217–224
)
AVIRIS_TABLE_SOURCE = ("nominal AVIRIS band centres (one flight's calibration, `wavelengths` of "
                       "a_hsi_img_for_VI_demo.mat, GatorSense/hsi_toolkit_py, MIT)")

# --- Hyperion (242 bands) -------------------------------------------------------------------------

# EO-1 Hyperion's two spectrometers: VNIR bands 1–70 from 355.59 to 1057.68 nm and SWIR bands 71–242
# from 851.92 to 2577.08 nm, each evenly spaced (~10.2 and ~10.1 nm), as in the USGS Hyperion band
# table; the evenly spaced form matches that table to about 0.1 nm.
HYPERION_BAND_CENTRES_NM: tuple[float, ...] = (
    *np.linspace(355.59, 1057.68, 70).round(2).tolist(),
    *np.linspace(851.92, 2577.08, 172).round(2).tolist(),
)
HYPERION_TABLE_SOURCE = ("nominal EO-1 Hyperion band centres (VNIR 1–70: 355.59–1057.68 nm, "
                         "SWIR 71–242: 851.92–2577.08 nm, evenly spaced per spectrometer)")

# --- HYDICE (210 bands) ---------------------------------------------------------------------------

# The Urban scene's documentation gives 210 bands over 400–2500 nm at about 10 nm; evenly spaced.
HYDICE_BAND_CENTRES_NM: tuple[float, ...] = tuple(np.linspace(400.0, 2500.0, 210).round(3).tolist())
HYDICE_TABLE_SOURCE = "nominal HYDICE band centres (210 bands evenly spaced over 400–2500 nm)"


def evenly_spaced(first_nm: float, last_nm: float, count: int) -> tuple[float, ...]:
    """``count`` band centres from ``first_nm`` to ``last_nm`` inclusive (a sensor documented only by its range)."""
    return tuple(np.linspace(first_nm, last_nm, count).round(3).tolist())


def kept_band_numbers(total: int, dropped_1based: Iterable[int]) -> tuple[int, ...]:
    """The 1-based band numbers left of ``1..total`` after removing ``dropped_1based``."""
    dropped = set(dropped_1based)
    outside = sorted(band for band in dropped if not 1 <= band <= total)
    if outside:
        raise ValueError(f"bands {outside} are not among the sensor's bands 1–{total}")
    return tuple(band for band in range(1, total + 1) if band not in dropped)


def centres_of(table: Sequence[float], band_numbers_1based: Iterable[int]) -> tuple[float, ...]:
    """The centres of the given 1-based band numbers of a sensor ``table``."""
    numbers = list(band_numbers_1based)
    outside = [band for band in numbers if not 1 <= band <= len(table)]
    if outside:
        raise ValueError(f"band numbers {outside} are outside the table's 1–{len(table)}")
    return tuple(table[band - 1] for band in numbers)


def band_ranges(band_numbers_1based: Iterable[int]) -> str:
    """``(4, 5, 6, 9)`` → ``"4–6, 9"``: band lists as papers write them."""
    numbers = sorted(set(band_numbers_1based))
    runs: list[list[int]] = []
    for band in numbers:
        if runs and band == runs[-1][-1] + 1:
            runs[-1].append(band)
        else:
            runs.append([band])
    return ", ".join(f"{run[0]}–{run[-1]}" if len(run) > 1 else str(run[0]) for run in runs)


# --- how a registered scene gets its wavelengths ------------------------------------------------


@dataclass(frozen=True)
class NominalWavelengths:
    """Band centres known at registration: one per band *as loaded* (after any dropped bands)."""

    values_nm: tuple[float, ...]
    source: str

    @property
    def range_nm(self) -> tuple[float, float]:
        return (round(min(self.values_nm), 2), round(max(self.values_nm), 2))


@dataclass(frozen=True)
class FileWavelengths:
    """Band centres read from a variable of the cube file (one per band of the file, before dropping)."""

    key: str

    @property
    def source(self) -> str:
        return f"file key `{self.key}`"


def nominal_from_table(table: Sequence[float], band_numbers_1based: Iterable[int], table_source: str,
                       which: str = "") -> NominalWavelengths:
    """The nominal centres of the kept band numbers, with a source that says which bands they are."""
    numbers = tuple(band_numbers_1based)
    detail = which or f"bands {band_ranges(numbers)}"
    return NominalWavelengths(centres_of(table, numbers), f"{table_source}, {detail}")
