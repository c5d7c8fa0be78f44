"""Lossless re-encoding of real S2-100K patches (LZW, 512 px tiles) into our encoding."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio

from satclip_cli.dataset.patch_files import PatchEncodingInfo
from satclip_cli.dataset.repack import DatasetRepack
from satclip_cli.dataset.torch_dataset import S2PatchDataset
from satclip_cli.errors import InputError


@pytest.fixture
def copied_dataset(make_s2_dataset, tmp_path) -> Path:
    """A dataset folder over the first 6 real patches, as real files (not links), plus a side file."""
    root = make_s2_dataset(tmp_path / "linked", count=6)
    copy = tmp_path / "ds"
    shutil.copytree(root, copy, symlinks=False)
    (copy / "sampling").mkdir()
    (copy / "sampling" / "settings.json").write_text("{}")
    return copy


def digests(folder: Path) -> dict[str, str]:
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(folder.iterdir())}


def assert_same_patch(original: Path, repacked: Path) -> None:
    with rasterio.open(original) as a, rasterio.open(repacked) as b:
        np.testing.assert_array_equal(a.read(), b.read())
        assert a.dtypes == b.dtypes and a.crs == b.crs and a.transform == b.transform
        assert a.descriptions == b.descriptions and a.nodata == b.nodata
        assert a.tags() == b.tags()


@pytest.mark.parametrize("workers", [1, 2])
def test_repack_into_a_new_folder_is_lossless_smaller_and_leaves_the_source(copied_dataset, tmp_path, workers):
    before = digests(copied_dataset / "images")
    out = tmp_path / "fast"
    job = DatasetRepack(copied_dataset, out, workers=workers)
    job.prepare()
    summary = job.run()
    assert digests(copied_dataset / "images") == before
    assert summary.repacked == summary.total == 6 and summary.skipped == 0
    assert 0 < summary.bytes_after < 0.8 * summary.bytes_before
    assert (out / "index.csv").read_bytes() == (copied_dataset / "index.csv").read_bytes()
    assert (out / "sampling" / "settings.json").read_text() == "{}"
    names = pd.read_csv(out / "index.csv")["fn"]
    assert sorted(p.name for p in (out / "images").iterdir()) == sorted(names)
    for name in names:
        assert_same_patch(copied_dataset / "images" / name, out / "images" / name)
        assert PatchEncodingInfo.read(out / "images" / name).is_ours()
    # the training loader reads the copy as it read the original
    ours, theirs = S2PatchDataset(out), S2PatchDataset(copied_dataset)
    assert ours.patch_shape == theirs.patch_shape == (12, 64, 64)
    np.testing.assert_array_equal(ours[3]["image"].numpy(), theirs[3]["image"].numpy())
    assert "-> " in summary.lines()[0] and "MB" in summary.lines()[-1]


def test_a_second_run_resumes_and_cleans_leftovers(copied_dataset, tmp_path):
    out = tmp_path / "fast"
    first = DatasetRepack(copied_dataset, out)
    first.prepare()
    first.run(first.pending()[:2])  # as if interrupted after two files
    assert not (out / "index.csv").exists()  # an unfinished output is no dataset yet
    done = {path.name: path.stat().st_mtime_ns for path in (out / "images").iterdir()}
    (out / "images" / ".patch_445.tif.partial").write_bytes(b"killed mid-write")
    again = DatasetRepack(copied_dataset, out)
    again.prepare()
    assert len(again.pending()) == 4
    summary = again.run()
    assert (summary.repacked, summary.skipped) == (4, 2)
    assert {name: (out / "images" / name).stat().st_mtime_ns for name in done} == done
    assert not list((out / "images").glob(".*")) and (out / "index.csv").is_file()
    assert "2 were done already" in " ".join(summary.lines())


def test_in_place_replaces_each_file_by_its_checked_copy(copied_dataset, tmp_path):
    reference = tmp_path / "reference"
    shutil.copytree(copied_dataset / "images", reference)
    job = DatasetRepack(copied_dataset, None)
    job.prepare()
    summary = job.run()
    assert summary.repacked == 6
    for path in reference.iterdir():
        assert_same_patch(path, copied_dataset / "images" / path.name)
        assert PatchEncodingInfo.read(copied_dataset / "images" / path.name).is_ours()
    assert sorted(p.name for p in (copied_dataset / "images").iterdir()) == sorted(p.name for p in reference.iterdir())
    again = DatasetRepack(copied_dataset, None)
    again.prepare()
    assert again.pending() == []


def test_an_unreadable_patch_is_skipped_counted_and_left_out_of_the_copied_index(copied_dataset, tmp_path):
    broken = copied_dataset / "images" / "patch_25630.tif"
    broken.write_bytes(broken.read_bytes()[:5000])  # truncated: header readable, tiles not
    pd.read_csv(copied_dataset / "index.csv").assign(extra=1).to_parquet(copied_dataset / "index.parquet")
    out = tmp_path / "fast"
    job = DatasetRepack(copied_dataset, out, workers=2)
    job.prepare()
    summary = job.run()
    assert (summary.total, summary.repacked, list(summary.unreadable)) == (6, 5, ["patch_25630.tif"])
    assert "Skipped 1 unreadable patch, listed in" in "\n".join(summary.lines())
    assert len(broken.read_bytes()) == 5000  # untouched
    skipped = pd.read_csv(out / "repack-skipped.csv")
    assert skipped["fn"].tolist() == ["patch_25630.tif"] and skipped["reason"].str.len().min() > 10
    source_index = pd.read_csv(copied_dataset / "index.csv")
    copied = pd.read_csv(out / "index.csv")
    pd.testing.assert_frame_equal(copied, source_index[source_index["fn"] != "patch_25630.tif"].reset_index(drop=True))
    assert pd.read_parquet(out / "index.parquet")["fn"].tolist() == copied["fn"].tolist()
    assert len(S2PatchDataset(out)) == 5  # a consistent dataset: every listed patch is there
    assert (out / "sampling" / "settings.json").is_file()
    assert not list((out / "images").glob(".*"))  # no temporary file left

    shutil.copy(tmp_path / "linked" / "images" / "patch_25630.tif", broken)  # repaired: a re-run completes it
    again = DatasetRepack(copied_dataset, out)
    again.prepare()
    assert again.pending() == ["patch_25630.tif"]
    assert (again.run().repacked, again.summary.unreadable) == (1, {})
    assert (out / "index.csv").read_bytes() == (copied_dataset / "index.csv").read_bytes()
    assert pd.read_csv(out / "repack-skipped.csv").empty


def test_in_place_an_unreadable_patch_is_left_and_listed(copied_dataset):
    broken = copied_dataset / "images" / "patch_25630.tif"
    broken.write_bytes(b"")  # a 0-byte patch
    job = DatasetRepack(copied_dataset, None)
    job.prepare()
    assert job.run().repacked == 5 and broken.read_bytes() == b""
    assert pd.read_csv(copied_dataset / "repack-skipped.csv")["fn"].tolist() == ["patch_25630.tif"]


@pytest.mark.parametrize(
    ("out", "message"),
    [
        ("ds", "is the dataset itself; use in_place"),
        ("ds/inner", "is inside the dataset"),
        ("a-file", "is a file"),
        ("other", "holds another dataset"),
    ],
)
def test_bad_outputs_are_refused_before_any_work(copied_dataset, tmp_path, out, message):
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "index.csv").write_text("fn,lon,lat\nx.tif,1,2\n")
    with pytest.raises(InputError, match=message):
        DatasetRepack(copied_dataset, tmp_path / out).prepare()


def test_a_missing_dataset_or_patch_is_a_clear_error(copied_dataset, tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        DatasetRepack(tmp_path / "nope", tmp_path / "out").prepare()
    (copied_dataset / "images" / "patch_445.tif").unlink()
    with pytest.raises(InputError, match="1 of 6 patches .* are missing"):
        DatasetRepack(copied_dataset, tmp_path / "out").prepare()
    with pytest.raises(InputError, match="at least 1"):
        DatasetRepack(copied_dataset, tmp_path / "out", workers=0)


def test_in_place_replaces_a_link_and_leaves_its_target(copied_dataset, tmp_path):
    target = tmp_path / "elsewhere.tif"
    link = copied_dataset / "images" / "patch_445.tif"
    link.rename(target)
    link.symlink_to(target)
    before = target.read_bytes()
    job = DatasetRepack(copied_dataset, None)
    job.prepare()
    job.run()
    assert not link.is_symlink() and PatchEncodingInfo.read(link).is_ours()
    assert target.read_bytes() == before
    assert_same_patch(target, link)
