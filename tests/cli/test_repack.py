"""``satclip repack`` through the CLI on real S2-100K patches."""

from __future__ import annotations

import rasterio
from typer.testing import CliRunner

from satclip_cli.cli.app import app

runner = CliRunner()


def test_repack_writes_a_smaller_lossless_copy_and_reports_it(make_s2_dataset, tmp_path):
    data = make_s2_dataset(tmp_path / "ds", count=3)
    result = runner.invoke(app, ["repack", str(data), "-o", str(tmp_path / "fast"), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "Re-encoded 3 of 3 patches" in result.output and "MB ->" in result.output
    for path in (data / "images").iterdir():
        with rasterio.open(path) as a, rasterio.open(tmp_path / "fast" / "images" / path.name) as b:
            assert (a.read() == b.read()).all() and b.tags(ns="IMAGE_STRUCTURE")["COMPRESSION"] == "ZSTD"
    again = runner.invoke(app, ["repack", str(data), "-o", str(tmp_path / "fast"), "--quiet"])
    assert again.exit_code == 0 and again.output == ""


def test_out_or_in_place_is_required_and_errors_are_one_line(make_s2_dataset, tmp_path):
    data = make_s2_dataset(tmp_path / "ds", count=1)
    for args in (
        [str(data)],
        [str(data), "-o", str(tmp_path / "x"), "--in-place"],
        [str(tmp_path / "nope"), "--in-place"],
    ):
        result = runner.invoke(app, ["repack", *args])
        assert result.exit_code == 2, result.output
        assert result.output.startswith("Error: ") and result.output.count("\n") == 1, result.output
    assert not (tmp_path / "x").exists()


def test_an_unwritable_or_file_output_is_one_line(make_s2_dataset, tmp_path):
    from tests.support.permissions import read_only_folder, unprivileged, world_readable_dir

    data = make_s2_dataset(tmp_path / "ds", count=3)
    (tmp_path / "a-file").write_text("keep")
    result = CliRunner().invoke(app, ["repack", str(data), "-o", str(tmp_path / "a-file" / "fast")])
    assert result.exit_code == 2 and "a part of the path is a file" in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1
    with world_readable_dir() as root:
        shared = make_s2_dataset(root / "ds", count=3)
        locked = read_only_folder(root)
        with unprivileged():
            result = CliRunner().invoke(app, ["repack", str(shared), "-o", str(locked / "fast")])
            in_place = CliRunner().invoke(app, ["repack", str(shared), "--in-place"])
        assert result.exit_code == 2 and "cannot create output folder" in result.output
        assert "permission denied" in result.output
        assert in_place.exit_code == 2 and "cannot write in dataset images folder" in in_place.output
        assert len(result.output.strip().splitlines()) == 1 and len(in_place.output.strip().splitlines()) == 1
