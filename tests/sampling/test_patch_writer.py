import numpy as np
import pytest
import rasterio

from satclip_cli.sampling.patch_writer import patch_filename, remove_partial_patches, write_patch
from satclip_cli.sampling.sentinel2 import S2_BANDS

TRANSFORM = (10.0, 0.0, 500_000.0, 0.0, -10.0, 4_000_000.0)


def test_patch_is_a_tiled_compressed_12_band_uint16_geotiff_with_names_and_tags(tmp_path):
    rng = np.random.default_rng(0)
    bands = rng.integers(0, 12000, size=(12, 64, 64), dtype=np.uint16)
    path = tmp_path / patch_filename(3)
    write_patch(path, bands, "EPSG:32633", TRANSFORM, {"item_id": "S2A_X", "cloud_cover": 1.5, "missing": None})
    assert path.name == "patch_3.tif"
    with rasterio.open(path) as src:
        assert src.count == 12 and src.dtypes[0] == "uint16" and src.shape == (64, 64)
        assert src.crs.to_epsg() == 32633
        assert tuple(src.transform)[:6] == TRANSFORM
        assert src.descriptions == S2_BANDS
        assert src.block_shapes == [(64, 64)] * 12  # one 64x64 tile (strips would be a few rows high)
        structure = src.tags(ns="IMAGE_STRUCTURE")
        assert structure["COMPRESSION"] == "DEFLATE" and structure["PREDICTOR"] == "2"
        tags = src.tags()
        assert tags["item_id"] == "S2A_X" and float(tags["cloud_cover"]) == 1.5 and "missing" not in tags
        np.testing.assert_array_equal(src.read(), bands)
    assert list(tmp_path.iterdir()) == [path]


def test_failed_write_leaves_neither_patch_nor_temporary(tmp_path):
    path = tmp_path / "patch_0.tif"
    with pytest.raises(rasterio.errors.CRSError):
        write_patch(path, np.zeros((12, 32, 32), np.uint16), "EPSG:999999", TRANSFORM, {})
    assert list(tmp_path.iterdir()) == []


def test_partial_files_of_killed_runs_are_removed(tmp_path):
    (tmp_path / ".patch_5.tif.partial").write_bytes(b"half")
    (tmp_path / "patch_4.tif").write_bytes(b"kept")
    assert remove_partial_patches(tmp_path) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["patch_4.tif"]
