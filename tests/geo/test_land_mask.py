"""The packaged 5' land mask (satclip_cli.geo.land_mask) and the script that builds it (scripts/build_land_mask.py)."""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from satclip_cli.errors import InputError, SatclipError
from satclip_cli.geo.land_mask import LandMask, LandMaskError, load_land_mask, read_land_mask

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "build_land_mask.py"

# (lon, lat) degrees; points well inside large features, so a 5' majority mask must get them right
LAND = {
    "Sahara": (10.0, 23.0),
    "Amazon": (-60.0, -5.0),
    "Greenland": (-40.0, 72.0),
    "Antarctic plateau": (45.0, -75.0),
    "South Pole": (0.0, -89.99),
    "Hawaii, Mauna Kea": (-155.47, 19.82),
    "Tasmania": (146.5, -42.0),
    "Chukotka, east of 180": (-175.0, 66.0),
    "Lake Victoria (lakes are land)": (33.0, -1.0),
}
OCEAN = {
    "mid-Pacific": (-140.0, 0.0),
    "Gulf of Guinea": (0.0, 0.0),
    "North Atlantic": (-40.0, 40.0),
    "Indian Ocean": (80.0, -30.0),
    "Arctic Ocean at the pole": (0.0, 89.99),
    "Ross Ice Shelf front": (180.0, -77.0),
    "Pacific west of the antimeridian": (179.9, 0.0),
}


@pytest.fixture(scope="module")
def mask() -> LandMask:
    return load_land_mask()


@pytest.fixture(scope="module")
def build_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_land_mask", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_packaged_mask_is_a_5_arcminute_global_grid(mask: LandMask) -> None:
    assert mask.grid.shape == (2160, 4320)
    assert mask.resolution_deg == pytest.approx(5 / 60)
    assert load_land_mask() is mask  # cached


@pytest.mark.parametrize(
    ("name", "lonlat", "land"), [(k, v, True) for k, v in LAND.items()] + [(k, v, False) for k, v in OCEAN.items()]
)
def test_known_points(mask: LandMask, name: str, lonlat: tuple[float, float], land: bool) -> None:
    assert bool(mask.is_land(*lonlat)) is land, name


def test_is_land_is_vectorised_and_broadcasts(mask: LandMask) -> None:
    points = np.array(list(LAND.values()) + list(OCEAN.values()))
    expected = np.array([True] * len(LAND) + [False] * len(OCEAN))
    result = mask.is_land(points[:, 0], points[:, 1])
    assert result.dtype == np.bool_ and result.shape == (len(points),)
    np.testing.assert_array_equal(result, expected)
    grid = mask.is_land(points[:, 0].reshape(4, 4), points[:, 1].reshape(4, 4))
    np.testing.assert_array_equal(grid, expected.reshape(4, 4))
    assert mask.is_land(np.array([10.0, -140.0])[:, None], np.array([23.0, 0.0])[None, :]).shape == (2, 2)


def test_longitudes_wrap(mask: LandMask) -> None:
    rng = np.random.default_rng(0)
    lon, lat = rng.uniform(-180, 180, 10_000), rng.uniform(-90, 90, 10_000)
    np.testing.assert_array_equal(mask.is_land(lon + 360.0, lat), mask.is_land(lon, lat))
    np.testing.assert_array_equal(mask.is_land(lon - 720.0, lat), mask.is_land(lon, lat))
    lat_line = np.linspace(-89, 89, 500)
    np.testing.assert_array_equal(
        mask.is_land(np.full(500, 180.0), lat_line), mask.is_land(np.full(500, -180.0), lat_line)
    )


def test_cell_boundaries_follow_the_documented_layout() -> None:
    grid = np.zeros((2, 4), dtype=bool)  # 90-degree cells
    grid[0, 1] = True  # lon -90..0, lat 0..90
    mask = LandMask(grid)
    # cell (r, c) covers lon [-180 + 90 c, -180 + 90 (c + 1)), lat (90 - 90 (r + 1), 90 - 90 r]
    lon = np.array([-45.0, -90.0, -0.001, 0.0, -45.0, -45.0, -45.0])
    lat = np.array([45.0, 45.0, 45.0, 45.0, 90.0, 0.001, 0.0])
    np.testing.assert_array_equal(mask.is_land(lon, lat), [True, True, True, False, True, True, False])


@pytest.mark.parametrize("lat", [90.5, -91.0, np.nan, np.inf])
def test_bad_latitudes_raise_input_error(mask: LandMask, lat: float) -> None:
    with pytest.raises(InputError, match="land mask lookup"):
        mask.is_land(np.array([0.0, 10.0]), np.array([0.0, lat]))


def test_land_fraction_matches_the_earth(mask: LandMask) -> None:
    # 148.9 of 510.1 million km^2 = 0.292 (Antarctica included); GLOBE counts lakes as land and ice shelves
    # as ocean, and 5' cells blur coasts, so allow one percentage point
    assert mask.land_fraction() == pytest.approx(0.292, abs=0.01)


def test_bytes_round_trip_and_are_deterministic() -> None:
    grid = np.random.default_rng(1).random((30, 60)) < 0.3
    data = LandMask(grid).to_bytes()
    assert LandMask(grid.copy()).to_bytes() == data
    np.testing.assert_array_equal(LandMask.from_bytes(data).grid, grid)
    assert data[4:8] == b"\0\0\0\0"  # gzip mtime


def test_packaged_file_is_small(mask: LandMask) -> None:
    path = Path(__file__).resolve().parents[2] / "satclip_cli" / "data" / "land_mask_5arcmin.bin.gz"
    assert path.stat().st_size < 1_000_000
    np.testing.assert_array_equal(read_land_mask(path).grid, mask.grid)


def test_missing_file_is_a_clear_satclip_error(tmp_path: Path) -> None:
    with pytest.raises(LandMaskError, match=r"land mask .*nope\.bin\.gz is missing; reinstall satclip") as info:
        read_land_mask(tmp_path / "nope.bin.gz")
    assert isinstance(info.value, SatclipError) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not gzip at all", "not a gzip stream"),
        (gzip.compress(b"XXXXXXXX" + bytes(8)), "not a version-1 satclip land mask"),
        (gzip.compress(b"SCLMASK\x01" + (8).to_bytes(4, "little") + (4).to_bytes(4, "little") + b"\xff"), "corrupt"),
    ],
    ids=["not-gzip", "bad-magic", "truncated-grid"],
)
def test_corrupt_files_raise_land_mask_error(tmp_path: Path, data: bytes, message: str) -> None:
    path = tmp_path / "bad.bin.gz"
    path.write_bytes(data)
    with pytest.raises(LandMaskError, match=message):
        read_land_mask(path)


def test_majority_rule_ties_go_to_land(build_script: ModuleType) -> None:
    ocean = np.ones((10, 40), dtype=bool)  # four 10 x 10 blocks with 0, 49, 50 and 100 land cells
    ocean[:, 10:20].flat[:49] = False
    ocean[:, 20:30].flat[:50] = False
    ocean[:, 30:40] = False
    np.testing.assert_array_equal(build_script.downsample_majority(ocean, 10), [[False, False, True, True]])


def test_build_is_byte_reproducible_on_synthetic_input(build_script: ModuleType) -> None:
    ocean = np.random.default_rng(2).random((60, 120)) < 0.6
    first = build_script.build_mask_bytes(ocean, 10)
    assert build_script.build_mask_bytes(ocean.copy(), 10) == first
    assert LandMask.from_bytes(first).grid.shape == (6, 12)


def test_build_from_globe_reproduces_the_packaged_mask(build_script: ModuleType, mask: LandMask) -> None:
    if importlib.util.find_spec("global_land_mask") is None:
        pytest.skip("global-land-mask is not installed (pip install -e '.[build-data]')")
    ocean = build_script.load_source_ocean_mask(build_script.source_mask_path())
    first = build_script.build_mask_bytes(ocean)
    assert build_script.build_mask_bytes(ocean) == first
    # compare payloads: the gzip bytes could differ under another deflate implementation
    np.testing.assert_array_equal(LandMask.from_bytes(first).grid, mask.grid)
