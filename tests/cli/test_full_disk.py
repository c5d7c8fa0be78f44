"""A full disk (a real tmpfs of a few hundred kB) under every command that writes: one line naming the path and
the space left (and needed, where known), exit 2, nothing partial kept, and the same command completes once
space is freed (issue 12, point 3)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from satclip_cli.cli.app import app
from tests.support.small_filesystem import requires_tmpfs, small_filesystem

runner = CliRunner()

pytestmark = requires_tmpfs


def _one_error_line(result) -> str:
    """The command's last line, which must be its only ``Error:`` line; the command must have exited 2."""
    lines = [line for line in result.output.strip().splitlines() if line.strip()]
    assert result.exit_code == 2, result.output
    errors = [line for line in lines if line.startswith("Error:")]
    assert errors == [lines[-1]], result.output
    assert "Traceback" not in result.output and "_tiff" not in result.output  # no GDAL/libtiff noise
    return lines[-1]


def _no_debris(files: dict[str, int]) -> None:
    """No temporary or empty file is left."""
    assert not [name for name in files if "partial" in name or name.endswith(".tmp")], files
    assert not [name for name, size in files.items() if size == 0], files


@pytest.fixture
def checkpoint(fixtures_dir):
    return fixtures_dir / "satclip_resnet18_l10.ckpt"


def test_sample_on_a_full_disk_keeps_only_readable_patches_and_completes_after_space_is_freed(tmp_path):
    import rasterio

    disk_args = ["sample", "--source", "bluemarble", "--n", "60", "--size", "32", "--workers", "2"]
    with small_filesystem(tmp_path / "disk", "120k") as disk:
        out = disk.path / "bm"
        first = runner.invoke(app, [*disk_args, "--out", str(out)])
        line = _one_error_line(first)
        assert line.startswith(f"Error: no space left on the device for {out / 'images'}/patch_")
        assert "free, about" in line and "kB needed" in line and "run the same command again" in line
        written = sorted((out / "images").glob("patch_*.tif"))
        assert 0 < len(written) < 60
        _no_debris(disk.files())
        for path in written:  # every patch left behind is complete
            with rasterio.open(path) as src:
                assert src.read().shape == (3, 32, 32)

        disk.resize("4m")
        again = runner.invoke(app, [*disk_args, "--out", str(out)])
        assert again.exit_code == 0, again.output
        assert f"({len(written)} already present; index lists 60)" in again.output
        assert len(pd.read_csv(out / "index.csv")) == 60
        _no_debris(disk.files())


def test_sample_remakes_an_unreadable_finished_patch_left_by_an_older_version(tmp_path):
    out = tmp_path / "bm"
    args = ["sample", "--source", "bluemarble", "--n", "6", "--size", "32", "--out", str(out)]
    assert runner.invoke(app, args).exit_code == 0
    reference = (out / "images" / "patch_4.tif").read_bytes()
    (out / "images" / "patch_4.tif").write_bytes(b"")  # what a full disk left before patches were read back
    (out / "images" / "patch_5.tif").write_bytes(reference[:500])  # damaged, and its record lost
    records = out / "sampling" / "records-1-of-1.jsonl"
    kept = [line for line in records.read_text().splitlines() if json.loads(line)["index"] != 5]
    records.write_text("\n".join(kept) + "\n")

    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    assert "Unreadable patches found and made again: 2" in again.output
    assert (out / "images" / "patch_4.tif").read_bytes() == reference  # patch i depends only on the settings
    failures = [json.loads(line) for line in (out / "sampling" / "failures-1-of-1.jsonl").read_text().splitlines()]
    assert {(f["index"], f["stage"]) for f in failures} == {(4, "unreadable-patch"), (5, "unreadable-patch")}
    assert "0 bytes" in next(f["error"] for f in failures if f["index"] == 4)


def test_embed_vector_on_a_full_disk_keeps_nothing_and_leaves_an_existing_output(tmp_path, checkpoint):
    points = tmp_path / "points.csv"
    rng = np.random.default_rng(0)
    pd.DataFrame({"lon": rng.uniform(-180, 180, 2000), "lat": rng.uniform(-80, 80, 2000)}).to_csv(points, index=False)
    with small_filesystem(tmp_path / "disk", "600k") as disk:
        out = disk.path / "points.parquet"
        out.write_bytes(b"an earlier output")
        result = runner.invoke(app, ["embed", str(points), "-o", str(out), "--model", str(checkpoint), "--overwrite"])
        line = _one_error_line(result)
        assert line.startswith(f"Error: no space left on the device for {out} (") and "kB free" in line
        assert disk.files() == {"points.parquet": len(b"an earlier output")}


def test_embed_raster_space_check_counts_the_tiled_temporary_and_the_cog(tmp_path, checkpoint):
    # 30 x 30 px of 256 float32 bands: one 256 px tile per band in the temporary (64 MiB) + the COG.
    args = ["embed", "--bbox", "0", "0", "3", "3", "--resolution", "0.1", "--model", str(checkpoint)]
    with small_filesystem(tmp_path / "disk", "60m") as disk:
        result = runner.invoke(app, [*args, "-o", str(disk.path / "grid.tif")])
        line = _one_error_line(result)
        assert "need about 68.0 MB" in line and "free" in line
        assert disk.files() == {}
        disk.resize("70m")
        assert runner.invoke(app, [*args, "-o", str(disk.path / "grid.tif"), "-q"]).exit_code == 0


def test_embed_zarr_on_a_full_disk_resumes_to_the_same_store_after_space_is_freed(tmp_path, checkpoint):
    import xarray as xr

    args = ["embed", "--bbox", "-180", "-90", "180", "90", "--resolution", "5", "--model", str(checkpoint)]
    args += ["--zarr-chunk", "16", "-q"]
    reference = tmp_path / "reference.zarr"
    assert runner.invoke(app, [*args, "-o", str(reference)]).exit_code == 0
    with small_filesystem(tmp_path / "disk", "500k") as disk:
        out = disk.path / "world.zarr"
        line = _one_error_line(runner.invoke(app, [*args, "-o", str(out)]))
        assert line.startswith(f"Error: no space left on the device for {out}") and "re-run to resume" in line
        disk.resize("20m")
        assert runner.invoke(app, [*args, "-o", str(out)]).exit_code == 0
        resumed = xr.open_zarr(out)["embedding"].values
    np.testing.assert_array_equal(resumed, xr.open_zarr(reference)["embedding"].values)


def test_repack_on_a_full_disk_keeps_finished_patches_and_completes_after_space_is_freed(tmp_path, dataset_dir):
    with small_filesystem(tmp_path / "disk", "300k") as disk:
        out = disk.path / "repacked"
        first = runner.invoke(app, ["repack", str(dataset_dir), "-o", str(out), "--workers", "1"])
        line = _one_error_line(first)
        assert line.startswith(f"Error: no space left on the device for {out / 'images'}/patch_")
        _no_debris(disk.files())
        disk.resize("4m")
        again = runner.invoke(app, ["repack", str(dataset_dir), "-o", str(out), "--workers", "1"])
        assert again.exit_code == 0, again.output
        assert len(list((out / "images").glob("patch_*.tif"))) == 23
        _no_debris(disk.files())


def test_export_on_a_full_disk_writes_neither_file(tmp_path, checkpoint):
    with small_filesystem(tmp_path / "disk", "100k") as disk:
        out = disk.path / "encoder.safetensors"
        line = _one_error_line(runner.invoke(app, ["export", str(checkpoint), "-o", str(out)]))
        assert line.startswith(f"Error: no space left on the device for {disk.path}/encoder.")
        assert disk.files() == {}


def test_probe_on_a_full_disk_is_one_line(tmp_path):
    with small_filesystem(tmp_path / "disk", "16k") as disk:
        out = disk.path / "probe"
        args = ["probe", "--task", "checkerboard", "--baselines", "coords", "--n-points", "300", "--seeds", "1"]
        line = _one_error_line(runner.invoke(app, [*args, "-o", str(out), "-q"]))
        assert line.startswith(f"Error: no space left on the device for {out}/")
        _no_debris(disk.files())


def test_train_on_a_full_disk_never_truncates_last_ckpt_and_resumes(tmp_path, dataset_dir, tiny_training):
    import torch

    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump({**tiny_training, "batch_size": 4, "max_epochs": 1}))
    with small_filesystem(tmp_path / "disk", "4m") as disk:
        run = disk.path / "run"
        args = ["train", "--config", str(config), "--data", str(dataset_dir), "--out", str(run), "-q"]
        assert runner.invoke(app, args).exit_code == 0
        last = run / "checkpoints" / "last.ckpt"
        good = last.read_bytes()
        filler = disk.path / "filler"
        with open(filler, "ab", buffering=0) as file, pytest.raises(OSError):  # fill what is left
            while True:
                file.write(b"\0" * 65536)
        with open(filler, "r+b") as file:  # leave room for the settings and logs, not for a checkpoint
            file.truncate(filler.stat().st_size - len(good) // 2)
        more = runner.invoke(app, [*args[:-1], "--max-epochs", "3", "--resume", "-q"])
        line = _one_error_line(more)
        assert line.startswith(f"Error: no space left on the device for {run / 'checkpoints'}/")
        assert "--resume" in line
        assert last.read_bytes() == good  # the last good checkpoint, untouched
        _no_debris(disk.files())
        filler.unlink()
        disk.resize("12m")
        resumed = runner.invoke(app, [*args[:-1], "--max-epochs", "3", "--resume", "-q"])
        assert resumed.exit_code == 0, resumed.output
        assert torch.load(last, weights_only=True)["epoch"] == 2
