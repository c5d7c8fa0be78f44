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
