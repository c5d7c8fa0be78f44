"""Patch files: our encoding, atomic writes, read-back checks, and how any patch file is stored."""

import numpy as np
import pytest
import rasterio

from satclip_cli.dataset.layout import patch_filename
from satclip_cli.dataset.patch_files import (
    PatchEncodingInfo,
    PatchVerificationError,
    block_size,
    check_written,
    remove_partial_patches,
    slow_encoding_reason,
    write_patch,
)
from satclip_cli.dataset.repack import repack_patch
from satclip_cli.dataset.sentinel2 import S2_BANDS

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
        assert structure["COMPRESSION"] == "ZSTD" and structure["INTERLEAVE"] == "BAND" and "PREDICTOR" not in structure
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
    (tmp_path / ".S2A_tile_7.tif.partial").write_bytes(b"half")  # any patch name (satclip repack keeps names)
    (tmp_path / "patch_4.tif").write_bytes(b"kept")
    assert remove_partial_patches(tmp_path) == 2
    assert [p.name for p in tmp_path.iterdir()] == ["patch_4.tif"]


@pytest.mark.parametrize(
    ("rows", "cols", "block"), [(256, 256, 256), (512, 300, 256), (64, 64, 64), (40, 40, 32), (8, 8, 16)]
)
def test_block_size_is_one_tile_per_band_up_to_256_px(rows, cols, block):
    assert block_size(rows, cols) == block


def test_nodata_and_partial_band_names_are_written(tmp_path):
    path = tmp_path / "p.tif"
    bands = np.arange(3 * 32 * 32, dtype=np.uint16).reshape(3, 32, 32)
    write_patch(path, bands, None, TRANSFORM, {}, band_names=("red", None, "blue"), nodata=0, verify=True)
    with rasterio.open(path) as src:
        assert src.nodata == 0 and src.descriptions == ("red", None, "blue") and src.crs is None
        np.testing.assert_array_equal(src.read(), bands)


def test_verification_rejects_a_file_that_does_not_hold_what_was_written(tmp_path):
    path = tmp_path / "p.tif"
    bands = np.ones((2, 16, 16), np.uint16)
    write_patch(path, bands, "EPSG:4326", TRANSFORM, {}, band_names=(None, None))
    profile = {"crs": "EPSG:4326", "transform": rasterio.Affine(*TRANSFORM)}
    check_written(path, bands, profile)  # the same: passes
    changed = bands.copy()
    changed[1, 3, 4] = 2
    with pytest.raises(PatchVerificationError, match="did not read back as written"):
        check_written(path, changed, profile)
    with pytest.raises(PatchVerificationError):
        check_written(path, bands, {**profile, "crs": "EPSG:32633"})
    with pytest.raises(PatchVerificationError):
        check_written(path, bands, {**profile, "transform": rasterio.Affine(20.0, 0, 0, 0, -20.0, 0)})


def test_s2_100k_files_are_diagnosed_as_slow_and_ours_are_not(dataset_dir, tmp_path):
    original = dataset_dir / "images" / "patch_445.tif"
    info = PatchEncodingInfo.read(original)
    assert (info.compression, info.predictor, info.interleave, info.block) == ("LZW", 2, "PIXEL", (512, 512))
    assert not info.is_ours()
    assert slow_encoding_reason(original) == "LZW compression, 512 x 512 px tiles on a 64 x 64 px patch"
    repacked = tmp_path / "patch_445.tif"
    repack_patch(str(original), str(repacked))
    assert PatchEncodingInfo.read(repacked).is_ours() and slow_encoding_reason(repacked) is None
    (tmp_path / "broken.tif").write_bytes(b"not a tiff")
    assert slow_encoding_reason(tmp_path / "broken.tif") is None


@pytest.mark.parametrize("size", [8, 40, 256, 300])
def test_every_patch_size_we_write_is_recognised_as_done(tmp_path, size):
    path = tmp_path / "p.tif"
    transform = (10.0, 0.0, 500_000.0, 0.0, -10.0, 4_000_000.0)
    write_patch(path, np.ones((3, size, size), np.uint16), "EPSG:32633", transform, {}, band_names=(None,) * 3)
    assert PatchEncodingInfo.read(path).is_ours()  # else an in-place repack would redo it on every run


def test_two_writers_of_one_patch_never_fail_and_leave_one_valid_patch(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    bands = np.arange(12 * 32 * 32, dtype=np.uint16).reshape(12, 32, 32)
    path = tmp_path / "patch_0.tif"

    def write(_):
        write_patch(path, bands, "EPSG:32633", TRANSFORM, {}, keep_existing=True)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(write, range(16)))  # raises if any writer failed
    assert list(tmp_path.iterdir()) == [path]
    with rasterio.open(path) as src:
        np.testing.assert_array_equal(src.read(), bands)


def test_keep_existing_keeps_a_patch_written_first(tmp_path):
    path = tmp_path / "patch_0.tif"
    write_patch(path, np.ones((12, 16, 16), np.uint16), "EPSG:32633", TRANSFORM, {})
    write_patch(path, np.zeros((12, 16, 16), np.uint16), "EPSG:32633", TRANSFORM, {}, keep_existing=True)
    with rasterio.open(path) as src:
        assert src.read().min() == 1
    assert list(tmp_path.iterdir()) == [path]


def test_only_partial_files_of_dead_writers_are_removed(tmp_path):
    import os
    import socket
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    host = socket.gethostname()
    (tmp_path / f".patch_1.tif.{int(dead.stdout)}@{host}.0123abcd.partial").write_bytes(b"dead")
    live = tmp_path / f".patch_2.tif.{os.getpid()}@{host}.0123abcd.partial"
    live.write_bytes(b"live")
    other_host = tmp_path / ".patch_3.tif.1@elsewhere.example.0123abcd.partial"
    other_host.write_bytes(b"recent")  # pid unknowable: kept while recent
    old_other = tmp_path / ".patch_4.tif.1@elsewhere.example.89abcdef.partial"
    old_other.write_bytes(b"old")
    os.utime(old_other, (0, 0))
    assert remove_partial_patches(tmp_path) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, other_host.name])
