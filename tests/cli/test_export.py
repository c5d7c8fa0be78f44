"""``satclip export``: permissions of what it writes, and one-line errors for outputs it cannot write."""

from __future__ import annotations

import os

from typer.testing import CliRunner

from satclip_cli.cli.app import app
from tests.support.permissions import read_only_folder, unprivileged, world_readable_dir

runner = CliRunner()


def one_error_line(result) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in result.output, result.output
    return lines[0]


def test_the_safetensors_gets_the_same_permissions_as_the_json(fixtures_dir, tmp_path):
    before = os.umask(0o022)
    try:
        result = runner.invoke(app, ["export", str(fixtures_dir / "satclip_resnet18_l10.ckpt"),
                                     "-o", str(tmp_path / "enc.safetensors"), "--quiet"])  # fmt: skip
    finally:
        os.umask(before)
    assert result.exit_code == 0, result.output
    modes = {p.suffix: p.stat().st_mode & 0o777 for p in tmp_path.iterdir()}
    assert modes == {".safetensors": 0o644, ".json": 0o644}  # safetensors alone would leave 0600


def test_an_output_below_a_file_is_one_line(fixtures_dir, tmp_path):
    (tmp_path / "a-file").write_text("keep")
    result = runner.invoke(app, ["export", str(fixtures_dir / "satclip_resnet18_l10.ckpt"),
                                 "-o", str(tmp_path / "a-file" / "enc.safetensors")])  # fmt: skip
    assert "a-file is a file, not a folder" in one_error_line(result)
    assert (tmp_path / "a-file").read_text() == "keep"


def test_an_unwritable_folder_is_one_line(fixtures_dir):
    with world_readable_dir() as root:
        checkpoint = root / "model.ckpt"
        checkpoint.write_bytes((fixtures_dir / "satclip_resnet18_l10.ckpt").read_bytes())
        checkpoint.chmod(0o644)
        locked = read_only_folder(root)
        with unprivileged():
            result = runner.invoke(app, ["export", str(checkpoint), "-o", str(locked / "enc.safetensors")])
        assert "permission denied" in one_error_line(result)
        assert list(locked.iterdir()) == []
