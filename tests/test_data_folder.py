"""``tests/data``: small, documented, reproducible (each folder is remade byte for byte by the script beside it)."""

import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data"
MAX_BYTES = 15_000_000
"""The test data stay small enough for the repository (issue 11: at most 15 MB in all)."""
FOLDERS = sorted(path for path in DATA.iterdir() if path.is_dir() and not path.name.startswith((".", "_")))


def test_the_test_data_are_at_most_15_mb():
    assert sum(path.stat().st_size for path in DATA.rglob("*") if path.is_file()) <= MAX_BYTES


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda path: path.name)
def test_each_folder_has_its_script_and_readme(folder: Path):
    assert (folder / f"make_{folder.name}.py").is_file()
    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert "## Source and licence" in readme, folder  # where the data come from, under which terms
    rows = [line for line in (DATA / "README.md").read_text(encoding="utf-8").splitlines() if line.startswith("| `")]
    assert sum(row.startswith(f"| `{folder.name}/` |") for row in rows) == 1  # listed in the overview


@pytest.mark.shared_data  # the scripts read ../shared
def test_each_script_remakes_its_folder_byte_for_byte(shared_data_dir: Path, tmp_path: Path):
    for folder in FOLDERS:
        script, out = folder / f"make_{folder.name}.py", tmp_path / folder.name
        command = [sys.executable, str(script), "--shared", str(shared_data_dir.parent), "--out", str(out)]
        subprocess.run(command, check=True, capture_output=True, timeout=300)
        made = sorted(path.name for path in out.iterdir())
        kept = sorted(
            path.name for path in folder.iterdir() if path.is_file() and path.name not in {script.name, "README.md"}
        )
        assert made == kept, folder.name
        for name in made:
            assert (out / name).read_bytes() == (folder / name).read_bytes(), f"{folder.name}/{name}"
