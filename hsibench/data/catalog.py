"""The real scenes: one registration per scene, facts only (each from its publisher, cited beside it).

Class tables are ``id: (name, labeled pixels)``; Houston 2013's are ``id: (name, train, test)``
pixels of its official maps. Counts of scenes marked ``counts_verified`` were read from the real
files and are checked against them by the tests; the others are as reported in public documentation.

Every scene has band centres: from its file where the file has them, otherwise from its sensor's
nominal table (``wavelengths.py``) at the band numbers the distributor kept; ``SceneInfo.
wavelength_source`` says which, and ``spectral_range_nm`` is the range of those centres.

The small real cubes at the end (Jasper Ridge, an AVIRIS-like scene, MUUFL Gulfport, a Pavia
University subset, an Urban crop) come from public GitHub repositories at pinned commits; only
Jasper Ridge has labels, and those are derived from unmixing abundances, not surveyed.
"""

from __future__ import annotations

from hsibench.data.files import LAYOUT_BANDS_BY_PIXELS, AbundanceLabels, FileScene, check_purity
from hsibench.data.registry import SceneInfo, register_scene
from hsibench.data.storage import RemoteFile, ehu_urls
from hsibench.data.wavelengths import (
    AVIRIS_BAND_CENTRES_NM,
    AVIRIS_TABLE_SOURCE,
    HYDICE_BAND_CENTRES_NM,
    HYDICE_TABLE_SOURCE,
    HYPERION_BAND_CENTRES_NM,
    HYPERION_TABLE_SOURCE,
    FileWavelengths,
    NominalWavelengths,
    band_ranges,
    evenly_spaced,
    kept_band_numbers,
    nominal_from_table,
)

EHU_SOURCE = 'EHU "Hyperspectral Remote Sensing Scenes" wiki (files as distributed there)'


def _ehu(name: str, sha256: str, size: int, key: str) -> RemoteFile:
    return RemoteFile(name, sha256, size, key, urls=ehu_urls(name))


def _github(repository: str, commit: str, path: str, sha256: str, size: int, key: str) -> RemoteFile:
    """A file of a public GitHub repository at a pinned commit (raw download, sha256-checked)."""
    return RemoteFile(path.rsplit("/", 1)[-1], sha256, size, key,
                      urls=(f"https://raw.githubusercontent.com/{repository}/{commit}/{path}",))


def _aviris(kept: tuple[int, ...]) -> NominalWavelengths:
    return nominal_from_table(AVIRIS_BAND_CENTRES_NM, kept, AVIRIS_TABLE_SOURCE)


def _rosis(bands: int) -> NominalWavelengths:
    # ROSIS-03 records 115 bands over 430–860 nm; the distributed scenes keep 103 (Pavia University) or
    # 102 (Pavia Centre) without saying which, so the kept bands are taken as evenly spread over the range
    return NominalWavelengths(evenly_spaced(430.0, 860.0, bands),
                              f"nominal ROSIS band centres ({bands} bands evenly spaced over 430–860 nm)")


def _names(table: dict[int, tuple]) -> dict[int, str]:
    return {class_id: row[0] for class_id, row in table.items()}


def _counts(table: dict[int, tuple], column: int = 1) -> dict[int, int]:
    return {class_id: row[column] for class_id, row in table.items()}


# --- Indian Pines ---------------------------------------------------------------------------------

# The 1992 flight's 220-band product numbers its bands its own way: its documentation (Purdue's
# MultiSpec "220 Channel AVIRIS Data Set" page) has band 1 empty and band 2 at 400.02 nm, ~9.8 nm apart,
# so the later flight's 224-entry table would be ~30 nm off at the blue end. Evenly spaced centres over
# the 220 bands are within 10 nm of the documented centres that were checked (bands 2–29).
INDIAN_PINES_KEPT_BANDS = kept_band_numbers(220, (*range(104, 109), *range(150, 164), 220))
INDIAN_PINES_WAVELENGTHS = NominalWavelengths(
    tuple(evenly_spaced(400.0, 2500.0, 220)[band - 1] for band in INDIAN_PINES_KEPT_BANDS),
    "nominal AVIRIS band centres of the 1992 220-band product (evenly spaced over 400–2500 nm), "
    f"bands {band_ranges(INDIAN_PINES_KEPT_BANDS)}; approximate (within 10 nm of the flight's own calibration "
    "where checked)",
)

INDIAN_PINES_CLASSES = {
    1: ("Alfalfa", 46), 2: ("Corn-notill", 1428), 3: ("Corn-mintill", 830), 4: ("Corn", 237),
    5: ("Grass-pasture", 483), 6: ("Grass-trees", 730), 7: ("Grass-pasture-mowed", 28),
    8: ("Hay-windrowed", 478), 9: ("Oats", 20), 10: ("Soybean-notill", 972), 11: ("Soybean-mintill", 2455),
    12: ("Soybean-clean", 593), 13: ("Wheat", 205), 14: ("Woods", 1265),
    15: ("Buildings-Grass-Trees-Drives", 386), 16: ("Stone-Steel-Towers", 93),
}
register_scene(FileScene(
    info=SceneInfo(
        name="ip", title="Indian Pines (corrected)", shape=(145, 145, 200), class_names=_names(INDIAN_PINES_CLASSES),
        sensor="AVIRIS", citation=EHU_SOURCE,
        notes="Water-absorption bands 104–108, 150–163 and 220 (1-based, of the 220-band Indian_pines.mat) "
              "removed by the distributor.",
    ),
    cube_files=(_ehu("Indian_pines_corrected.mat", "ec2f8808710919d566f70f0d4aa885aae1ddfd42b734aba71c5e12ca65450939",
                     5_953_527, "indian_pines_corrected"),),
    cube_dtype="uint16",
    wavelengths=INDIAN_PINES_WAVELENGTHS,
    ground_truth_files=(_ehu("Indian_pines_gt.mat", "65c4687a8ab04f6da4789799bc3bc4f6e88bccac3ed6a2e6ae367e5e6b9e429c",
                             1_125, "indian_pines_gt"),),
    documented_counts={"labels": _counts(INDIAN_PINES_CLASSES)}, counts_verified=True,
))

# --- Pavia University -----------------------------------------------------------------------------

PAVIA_UNIVERSITY_CLASSES = {
    1: ("Asphalt", 6631), 2: ("Meadows", 18649), 3: ("Gravel", 2099), 4: ("Trees", 3064),
    5: ("Painted metal sheets", 1345), 6: ("Bare Soil", 5029), 7: ("Bitumen", 1330),
    8: ("Self-Blocking Bricks", 3682), 9: ("Shadows", 947),
}
_PAVIA_SPLIT_HINT = ("the widely used fixed Pavia U train/test maps have no public download; "
                     "place your copy in the mirror's splits/ folder")
register_scene(FileScene(
    info=SceneInfo(
        name="pu", title="Pavia University", shape=(610, 340, 103), class_names=_names(PAVIA_UNIVERSITY_CLASSES),
        sensor="ROSIS", citation=EHU_SOURCE,
        notes="Optional official maps train/test from splits/TRpaviaU.mat and TSpaviaU.mat when present "
              "(1,147 training pixels lie where the ground truth is unlabeled).",
    ),
    cube_files=(_ehu("PaviaU.mat", "28447fa87f7a5797845e9a189c0da85e23b1d06a4ba7361e5ff44efbf834d2fb",
                     34_806_917, "paviaU"),),
    cube_dtype="uint16", wavelengths=_rosis(103),
    ground_truth_files=(_ehu("PaviaU_gt.mat", "23f6a426928f9b32984adffe659e29f554f9fb6c93b5a107528d308d5087a829",
                             11_005, "paviaU_gt"),),
    optional_official_maps={
        "train": RemoteFile("TRpaviaU.mat", "783bf32ee43172cb7cfe76ea381401af4b57dc1bd53ccdf49137976aa3ded77d",
                            2_368, "TRpaviaU", mirror_subdir="splits", how_to_get=_PAVIA_SPLIT_HINT),
        "test": RemoteFile("TSpaviaU.mat", "bea2b7592e27456c187cf57ed0cbf8ffeb45294e811da7516cb0d9ce7f073173",
                           11_145, "TSpaviaU", mirror_subdir="splits", how_to_get=_PAVIA_SPLIT_HINT),
    },
    documented_counts={"labels": _counts(PAVIA_UNIVERSITY_CLASSES)}, counts_verified=True,
))

# --- Pavia Centre ---------------------------------------------------------------------------------

PAVIA_CENTRE_CLASSES = {
    1: ("Water", 65971), 2: ("Trees", 7598), 3: ("Asphalt", 3090), 4: ("Self-Blocking Bricks", 2685),
    5: ("Bitumen", 6584), 6: ("Tiles", 9248), 7: ("Shadows", 7287), 8: ("Meadows", 42826), 9: ("Bare Soil", 2863),
}
register_scene(FileScene(
    info=SceneInfo(
        name="pc", title="Pavia Centre", shape=(1096, 715, 102), class_names=_names(PAVIA_CENTRE_CLASSES),
        sensor="ROSIS", citation=EHU_SOURCE,
        notes="Class counts as reported (148,152 px); the table on the EHU wiki page is wrong.",
    ),
    cube_files=(_ehu("Pavia.mat", "b60341da323fd271cd97dd6d7a69514d385ccd7fdfc5a60c4ff5994b047f152e",
                     129_624_657, "pavia"),),
    wavelengths=_rosis(102),
    ground_truth_files=(_ehu("Pavia_gt.mat", "7eb54ab81b404dd3ae572e6d0ec211595029e5a847bec2cfb8f9e72d07066b69",
                             34_887, "pavia_gt"),),
    documented_counts={"labels": _counts(PAVIA_CENTRE_CLASSES)},
))

# --- Salinas, Salinas-A ---------------------------------------------------------------------------

SALINAS_CLASSES = {
    1: ("Brocoli_green_weeds_1", 2009), 2: ("Brocoli_green_weeds_2", 3726), 3: ("Fallow", 1976),
    4: ("Fallow_rough_plow", 1394), 5: ("Fallow_smooth", 2678), 6: ("Stubble", 3959), 7: ("Celery", 3579),
    8: ("Grapes_untrained", 11271), 9: ("Soil_vinyard_develop", 6203), 10: ("Corn_senesced_green_weeds", 3278),
    11: ("Lettuce_romaine_4wk", 1068), 12: ("Lettuce_romaine_5wk", 1927), 13: ("Lettuce_romaine_6wk", 916),
    14: ("Lettuce_romaine_7wk", 1070), 15: ("Vinyard_untrained", 7268), 16: ("Vinyard_vertical_trellis", 1807),
}
SALINAS_A_COUNTS = {1: 391, 10: 1343, 11: 616, 12: 1525, 13: 674, 14: 799}
SALINAS_A_CLASS_NAMES = {class_id: SALINAS_CLASSES[class_id][0] for class_id in SALINAS_A_COUNTS}  # Salinas' ids kept
SALINAS_DROPPED_BANDS = (*range(108, 113), *range(154, 168), 224)  # 1-based, as "Salinas corrected" drops them
SALINAS_KEPT_BANDS = kept_band_numbers(224, SALINAS_DROPPED_BANDS)

SALINAS_GT = _ehu("Salinas_gt.mat", "ecfab4d31ef5553f097943235d8ea502038eb4a2067b2ad10b33e37c949955e2",
                  4_277, "salinas_gt")
SALINAS_A_CUBE = _ehu("SalinasA.mat", "9ee47a5fa61948bc5ec5e5754e9ab0976850f12f80ace2bf68449d7671e0935b",
                      1_599_885, "salinasA")
SALINAS_A_GT = _ehu("SalinasA_gt.mat", "17814c1d3296c0e29b27f320f2c4174d2a68adb87e376abe78f02923e2c2e454",
                    587, "salinasA_gt")

register_scene(FileScene(
    info=SceneInfo(
        name="sa", title="Salinas (corrected)", shape=(512, 217, 204), class_names=_names(SALINAS_CLASSES),
        sensor="AVIRIS", citation=EHU_SOURCE,
        notes="Bands 108–112, 154–167 and 224 (1-based) removed by the distributor.",
    ),
    cube_files=(_ehu("Salinas_corrected.mat", "5ec1c0d22f56d18ecd336f8e35735863c0f160682e04e0c18ef3f89a3334d87d",
                     26_552_770, "salinas_corrected"),),
    wavelengths=_aviris(SALINAS_KEPT_BANDS),
    ground_truth_files=(SALINAS_GT,),
    documented_counts={"labels": _counts(SALINAS_CLASSES)}, counts_verified=True,
))
register_scene(FileScene(
    info=SceneInfo(
        name="sa_a", title="Salinas-A (raw, 224 bands)", shape=(83, 86, 224), class_names=SALINAS_A_CLASS_NAMES,
        sensor="AVIRIS", citation=EHU_SOURCE,
        notes="Uncorrected AVIRIS radiance cube; class ids keep the Salinas numbering {1, 10–14}.",
    ),
    cube_files=(SALINAS_A_CUBE,),
    cube_dtype="int16", wavelengths=_aviris(tuple(range(1, 225))),
    ground_truth_files=(SALINAS_A_GT,),
    documented_counts={"labels": SALINAS_A_COUNTS}, counts_verified=True,
))
register_scene(FileScene(
    info=SceneInfo(
        name="sa_a_corrected", title="Salinas-A (204 bands, derived)", shape=(83, 86, 204),
        class_names=SALINAS_A_CLASS_NAMES, sensor="AVIRIS", citation=EHU_SOURCE,
        notes="DERIVED from SalinasA.mat by dropping bands 108–112, 154–167 and 224 (1-based), as Salinas "
              "corrected does; not checked against the distributor's SalinasA_corrected.mat (no published hash).",
    ),
    cube_files=(SALINAS_A_CUBE,),
    ground_truth_files=(SALINAS_A_GT,),
    dropped_bands=SALINAS_DROPPED_BANDS,
    cube_dtype="int16", wavelengths=_aviris(SALINAS_KEPT_BANDS),
    documented_counts={"labels": SALINAS_A_COUNTS}, counts_verified=True,
))

# --- Kennedy Space Center -------------------------------------------------------------------------

KSC_CLASSES = {
    1: ("Scrub", 761), 2: ("Willow swamp", 243), 3: ("Cabbage palm hammock", 256),
    4: ("Cabbage palm/oak hammock", 252), 5: ("Slash pine", 161), 6: ("Oak/broadleaf hammock", 229),
    7: ("Hardwood swamp", 105), 8: ("Graminoid marsh", 431), 9: ("Spartina marsh", 520), 10: ("Cattail marsh", 404),
    11: ("Salt marsh", 419), 12: ("Mud flats", 503), 13: ("Water", 927),
}
# The distributor says only that 48 water-absorption and low-SNR bands were removed, not which. ASSUMED
# here: the sensor's noisy ends and the two water windows, 1–4, 102–116, 151–172 and 218–224.
KSC_ASSUMED_DROPPED_BANDS = (*range(1, 5), *range(102, 117), *range(151, 173), *range(218, 225))
KSC_KEPT_BANDS = kept_band_numbers(224, KSC_ASSUMED_DROPPED_BANDS)
register_scene(FileScene(
    info=SceneInfo(
        name="ksc", title="Kennedy Space Center", shape=(512, 614, 176), class_names=_names(KSC_CLASSES),
        sensor="AVIRIS", citation=EHU_SOURCE,
        notes="176 of AVIRIS' 224 bands kept; which ones is not published (wavelengths assume a removal list).",
    ),
    wavelengths=nominal_from_table(AVIRIS_BAND_CENTRES_NM, KSC_KEPT_BANDS, AVIRIS_TABLE_SOURCE,
                                   f"ASSUMED kept bands {band_ranges(KSC_KEPT_BANDS)} (the distributor does not "
                                   "list them)"),
    cube_files=(_ehu("KSC.mat", "b1ad011cfdb65c853e4f9f6108ca4774467d87f90a5c23b74ff3a2984a3b4786",
                     56_824_624, "KSC"),),
    ground_truth_files=(_ehu("KSC_gt.mat", "a1d6ab9293691006bd4d9742d1a1e1c141b1aaa5fbc5fa128b33c1d09038510b",
                             3_240, "KSC_gt"),),
    documented_counts={"labels": _counts(KSC_CLASSES)}, counts_verified=True,
))

# --- Botswana -------------------------------------------------------------------------------------

BOTSWANA_CLASSES = {
    1: ("Water", 270), 2: ("Hippo grass", 101), 3: ("Floodplain grasses 1", 251), 4: ("Floodplain grasses 2", 215),
    5: ("Reeds", 269), 6: ("Riparian", 269), 7: ("Firescar", 259), 8: ("Island interior", 203),
    9: ("Acacia woodlands", 314), 10: ("Acacia shrublands", 248), 11: ("Acacia grasslands", 305),
    12: ("Short mopane", 181), 13: ("Mixed mopane", 268), 14: ("Exposed soils", 95),
}
# the distributor's list of the bands left after removing uncalibrated, noisy and water-absorption ones
BOTSWANA_KEPT_BANDS = (*range(10, 56), *range(82, 98), *range(102, 120), *range(134, 165), *range(187, 221))
register_scene(FileScene(
    info=SceneInfo(
        name="bo", title="Botswana", shape=(1476, 256, 145), class_names=_names(BOTSWANA_CLASSES),
        sensor="EO-1 Hyperion", citation=EHU_SOURCE,
        notes=f"145 of Hyperion's 242 bands kept: {band_ranges(BOTSWANA_KEPT_BANDS)} (1-based).",
    ),
    wavelengths=nominal_from_table(HYPERION_BAND_CENTRES_NM, BOTSWANA_KEPT_BANDS, HYPERION_TABLE_SOURCE),
    cube_files=(_ehu("Botswana.mat", "f1603903c844cdc2980550b0180688e8e1a72d4292595d1120e1dec2a80a91c7",
                     78_911_133, "Botswana"),),
    ground_truth_files=(_ehu("Botswana_gt.mat", "668394905e10e629c16584bfd02b0f533b96d6ba18a63274a94ff3a77126a887",
                             4_039, "Botswana_gt"),),
    documented_counts={"labels": _counts(BOTSWANA_CLASSES)},
))

# --- Houston 2013 (bring your own cube) ------------------------------------------------------------

HOUSTON_2013_CLASSES = {
    1: ("Healthy grass", 198, 1053), 2: ("Stressed grass", 190, 1064), 3: ("Synthetic grass", 192, 505),
    4: ("Trees", 188, 1056), 5: ("Soil", 186, 1056), 6: ("Water", 182, 143), 7: ("Residential", 196, 1072),
    8: ("Commercial", 191, 1053), 9: ("Road", 193, 1059), 10: ("Highway", 191, 1036), 11: ("Railway", 181, 1054),
    12: ("Parking Lot 1", 192, 1041), 13: ("Parking Lot 2", 184, 285), 14: ("Tennis Court", 181, 247),
    15: ("Running Track", 187, 473),
}
_HOUSTON_HOME = ("register on the University of Houston Hyperspectral Image Analysis lab's GRSS DFC 2013 page "
                 "and download 2013_DFTC.zip "
                 "(sha256 f4d619d5cbcb09d0301038f1b8fe83def6c2d484334b7b8127740a00ecf7e245)")
_HOUSTON_CUBE = "2013_IEEE_GRSS_DF_Contest_CASI"
_HOUSTON_CONVERTED = (f"your own conversion of {_HOUSTON_CUBE}.tif to an (H, W, bands) = (349, 1905, 144) array "
                      "(a .npy, or a .mat holding that one variable)")
HOUSTON_2013_TRAIN = RemoteFile("TRLabel.mat", "b0ea556a4a05176f4aeccadf3aee51fee35f70365fdaa810aab85190a41aa7fc",
                                None, "TRLabel", mirror_subdir="houston2013",
                                how_to_get="the official training map of the GRSS DFC 2013, as TRLabel.mat")
HOUSTON_2013_TEST = RemoteFile("TSLabel.mat", "43759d8fd94f0030800238eca04e097a22865b1b396ddb8116b635ade5c301ce",
                               None, "TSLabel", mirror_subdir="houston2013",
                               how_to_get="the official test map of the GRSS DFC 2013, as TSLabel.mat")
register_scene(FileScene(
    info=SceneInfo(
        name="hu13", title="Houston 2013 (GRSS DFC 2013)", shape=(349, 1905, 144),
        class_names=_names(HOUSTON_2013_CLASSES), sensor="ITRES CASI-1500",
        citation="2013 IEEE GRSS Data Fusion Contest", access="registration",
        notes="Bring your own cube (registration). Labels = official train ∪ test maps; official_maps holds both.",
    ),
    cube_files=(
        RemoteFile(f"{_HOUSTON_CUBE}.npy", None, None, None, mirror_subdir="houston2013", how_to_get=_HOUSTON_CONVERTED),
        RemoteFile(f"{_HOUSTON_CUBE}.mat", None, None, None, mirror_subdir="houston2013", how_to_get=_HOUSTON_CONVERTED),
        RemoteFile(f"{_HOUSTON_CUBE}.tif", "1440f38594e8e82cc1944c084fc138ef55a70af54122828e999c4fb438574c14", None,
                   None, mirror_subdir="houston2013", how_to_get=f"{_HOUSTON_HOME}; the file is inside the archive"),
    ),
    wavelengths=NominalWavelengths(evenly_spaced(364.0, 1046.0, 144),
                                   "nominal CASI-1500 band centres (144 bands evenly spaced over 364–1046 nm)"),
    ground_truth_files=(HOUSTON_2013_TRAIN, HOUSTON_2013_TEST),
    official_maps={"train": HOUSTON_2013_TRAIN, "test": HOUSTON_2013_TEST},
    documented_counts={"train": _counts(HOUSTON_2013_CLASSES, 1), "test": _counts(HOUSTON_2013_CLASSES, 2)},
    counts_verified=True,
))

# --- Chikusei (bring your own, MATLAB v7.3) -------------------------------------------------------

CHIKUSEI_CLASS_NAMES = dict(enumerate((
    "Water", "Bare soil (school)", "Bare soil (park)", "Bare soil (farmland)", "Natural plants",
    "Weeds in farmland", "Forest", "Grass", "Rice field (grown)", "Rice field (first stage)", "Row crops",
    "Plastic house", "Manmade (non-dark)", "Manmade (dark)", "Manmade (blue)", "Manmade (red)", "Manmade grass",
    "Asphalt", "Paved ground",
), start=1))
_CHIKUSEI_HOME = ("download Hyperspec_Chikusei_MATLAB.zip from https://naotoyokoya.com/Download.html "
                  "and extract it (no checksum is published)")
register_scene(FileScene(
    info=SceneInfo(
        name="ch", title="Chikusei", shape=(2517, 2335, 128), class_names=CHIKUSEI_CLASS_NAMES,
        sensor="Headwall Hyperspec-VNIR-C", licence="CC BY 3.0",
        citation="N. Yokoya and A. Iwasaki, Airborne hyperspectral data over Chikusei, tech. report SAL-2016-05-27",
        access="registration",
        notes="Bring your own files (MATLAB v7.3/HDF5). About 77,592 labeled px reported; "
              "no checksum published, so the files are not hash-checked.",
    ),
    cube_files=(RemoteFile("HyperspecVNIR_Chikusei_20140729.mat", None, None, "chikusei", mirror_subdir="chikusei",
                           how_to_get=_CHIKUSEI_HOME),),
    wavelengths=NominalWavelengths(evenly_spaced(363.0, 1018.0, 128),
                                   "nominal Hyperspec-VNIR-C band centres (128 bands evenly spaced over 363–1018 nm)"),
    ground_truth_files=(RemoteFile("HyperspecVNIR_Chikusei_20140729_Ground_Truth.mat", None, None, "GT",
                                   mirror_subdir="chikusei", how_to_get=_CHIKUSEI_HOME),),
))

# --- Small real cubes of other scenes and sensors (pinned GitHub files) ---------------------------

GATORSENSE_PY = ("GatorSense/hsi_toolkit_py", "8c5a023bf2395c6bf88171aefcc3888b78c0d709")
GATORSENSE_MIT = "MIT (GatorSense hsi_toolkit, University of Florida)"

# Jasper Ridge (AVIRIS), the 100×100 crop of the unmixing benchmark: labels DERIVED from its reference
# abundances, which are themselves estimates; every table built on them must say so.
JASPER_RIDGE_KEPT_BANDS = (*range(4, 108), *range(113, 154), *range(167, 220))  # the file's `SlectBands`
JASPER_RIDGE_COUNTS_AT_DEFAULT_PURITY = {1: 1830, 2: 3070, 3: 626, 4: 327}
JASPER_RIDGE_LABEL_NOTE = ("Jasper Ridge labels are derived from unmixing reference abundances "
                           "(arg-max, purity ≥ {purity:g}), not from a field survey.")
register_scene(FileScene(
    info=SceneInfo(
        name="jr", title="Jasper Ridge (100×100 unmixing crop)", shape=(100, 100, 198),
        class_names={1: "Tree", 2: "Water", 3: "Dirt", 4: "Road"}, sensor="AVIRIS",
        licence="not stated (widely redistributed unmixing benchmark)",
        citation="F. Zhu, Hyperspectral unmixing: ground truth labeling, datasets, benchmark performances and "
                 "survey, arXiv:1708.05125 (2017); file from MeiShaohui/Spectral-Variability-Augmented-Sparse-Unmixing",
        labels="derived", label_note=JASPER_RIDGE_LABEL_NOTE.format(purity=0.8), options={"purity": 0.8},
        notes="Crop x 269–368, y 105–204 of the 512×614 scene. Labels: class of the largest reference abundance "
              "(tree, water, dirt, road) where it is at least the option `purity` (default 0.8), else unlabeled. "
              "At purity 0.8: 1,830 / 3,070 / 626 / 327 px; plain arg-max: 3,493 / 3,326 / 2,428 / 753.",
    ),
    cube_files=(_github("MeiShaohui/Spectral-Variability-Augmented-Sparse-Unmixing",
                        "9e3e2264f0b4547780d6da79f69973f93599bb45", "data/jasperRidge2_R198.mat",
                        "7dd702f9958510f35c7fee35f7f18ecfca393c9eebd39bddf6c9b7d147754caa", 3_165_367, "Y"),),
    cube_layout=LAYOUT_BANDS_BY_PIXELS, cube_dtype="uint16",
    wavelengths=nominal_from_table(AVIRIS_BAND_CENTRES_NM, JASPER_RIDGE_KEPT_BANDS, AVIRIS_TABLE_SOURCE,
                                   f"bands {band_ranges(JASPER_RIDGE_KEPT_BANDS)} (the file's `SlectBands`)"),
    band_numbers_key="SlectBands", band_numbers=JASPER_RIDGE_KEPT_BANDS,
    abundance_labels=AbundanceLabels(key="A", layout=LAYOUT_BANDS_BY_PIXELS),
    label_note_template=JASPER_RIDGE_LABEL_NOTE,
    option_checks={"purity": check_purity},
    documented_counts={"labels": JASPER_RIDGE_COUNTS_AT_DEFAULT_PURITY}, counts_verified=True,
))

# An AVIRIS-like scene the GatorSense toolkit ships for its vegetation-index demo (not identified: no pixel
# matches Salinas-A or Jasper Ridge). Its 43 all-zero bands (1–2 and the three water-absorption windows)
# are dropped: they carry nothing, and interpolating across them onto another grid would invent zeros.
AV_ZERO_BANDS = (1, 2, *range(97, 117), *range(154, 172), 222, 223, 224)
register_scene(FileScene(
    info=SceneInfo(
        name="av", title="AVIRIS-like demo scene (unidentified, 181 of 224 bands)", shape=(90, 90, 181),
        class_names={}, sensor="AVIRIS", spectral_range_nm=(385.25, 2466.45), licence=GATORSENSE_MIT,
        citation="GatorSense hsi_toolkit_py, demos/a_hsi_img_for_VI_demo.mat", labels="none",
        notes=f"Unlabeled. The file's all-zero bands {band_ranges(AV_ZERO_BANDS)} (1-based, of 224) are dropped; "
              "the file's own wavelengths follow.",
    ),
    cube_files=(_github(*GATORSENSE_PY, "demos/a_hsi_img_for_VI_demo.mat",
                        "ea49881e412413604eed0c0342c58ea58b9d9c4027087f9e4069183d5027cc0c", 2_335_001, "hsi_img"),),
    cube_dtype="int16", dropped_bands=AV_ZERO_BANDS, wavelengths=FileWavelengths("wavelengths"),
))

register_scene(FileScene(
    info=SceneInfo(
        name="muufl", title="MUUFL Gulfport (51×88 subset)", shape=(51, 88, 72), class_names={},
        sensor="ITRES CASI-1500", spectral_range_nm=(367.7, 1043.4), licence=GATORSENSE_MIT,
        citation="P. Gader, A. Zare, R. Close, J. Aitken and G. Tuell, MUUFL Gulfport hyperspectral and LiDAR "
                 "airborne data set, University of Florida, tech. report REP-2013-570 (2013); subset from "
                 "GatorSense hsi_toolkit_py",
        labels="none",
        notes="Unlabeled reflectance (VNIR only). valid_mask = the file's `mask_sub` (3,884 of 4,488 pixels).",
    ),
    cube_files=(_github(*GATORSENSE_PY, "demos/an_hsi_image_sub_for_demo.mat",
                        "c002ca55801c2cafe968c214d773c30b02b2ae1bd132ab875a2ba13246be0a11", 949_584, "hsi_img_sub"),),
    cube_dtype="float32", wavelengths=FileWavelengths("wavelengths"), valid_mask_key="mask_sub",
))

register_scene(FileScene(
    info=SceneInfo(
        name="pusub", title="Pavia University (50×50 subset)", shape=(50, 50, 103), class_names={},
        sensor="ROSIS", licence=GATORSENSE_MIT,
        citation="GatorSense hsi_toolkit (MATLAB), unmixP_NCM/paviaU_subimg.mat; Pavia University scene as on the "
                 + EHU_SOURCE,
        labels="none",
        notes="Unlabeled: its position in the scene is not known, so Pavia University's ground truth cannot "
              "label it. Removed from the repository later; the pinned commit still serves it.",
    ),
    cube_files=(_github("GatorSense/hsi_toolkit", "ef546dc6591246c764cb1dd278a40cab2594043b",
                        "unmixP_NCM/paviaU_subimg.mat",
                        "72d2d6cd1f439898f3a387f2d1189be888a1fa268ab2c643c2543bd9530e9b22", 434_614, "paviaU_subimg"),),
    cube_dtype="uint16", wavelengths=_rosis(103),
))

# The usual 162-band Urban removes HYDICE bands 1–4, 76, 87, 101–111, 136–153 and 198–210 (dense water
# vapour and atmospheric effects), as Zhu (2017) documents the unmixing benchmark.
URBAN_KEPT_BANDS = kept_band_numbers(210, (*range(1, 5), 76, 87, *range(101, 112), *range(136, 154),
                                           *range(198, 211)))
register_scene(FileScene(
    info=SceneInfo(
        name="urban", title="Urban (34×78 crop)", shape=(34, 78, 162), class_names={}, sensor="HYDICE",
        licence="not stated",
        citation="F. Zhu, Hyperspectral unmixing: ground truth labeling, datasets, benchmark performances and "
                 "survey, arXiv:1708.05125 (2017); crop from ricardoborsoi/MultiscaleKernelSURelease",
        labels="none",
        notes="Unlabeled reflectance scaled to 0–0.635; the usual 162 of HYDICE's 210 bands.",
    ),
    cube_files=(_github("ricardoborsoi/MultiscaleKernelSURelease", "6cd4f83faa98bd6d3c7a49d9781f420befa13db2",
                        "DATA/subimage_Urban_R162.mat",
                        "a5da8beb6593c630ebe9baa12a61e9e86001f0ea36023e71331ef528f3a62469", 819_810, "im"),),
    cube_dtype="float64", wavelengths=nominal_from_table(HYDICE_BAND_CENTRES_NM, URBAN_KEPT_BANDS, HYDICE_TABLE_SOURCE),
))
