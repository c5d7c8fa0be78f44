"""Package data: every file a command reads at run time is inside ``satclip_cli/data`` and ships in the wheel."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from satclip_cli.utils.package_data import EXAMPLES_DIR, PACKAGE_DATA_DIR

CHECKOUT = Path(__file__).resolve().parents[2]


def test_the_demo_inputs_are_package_data():
    for name in ("cities.csv", "cities.gpkg", "regions.geojson"):
        assert (EXAMPLES_DIR / name).is_file(), name
    bundled_model = ("bluemarble-l10.safetensors", "bluemarble-l10.json", "bluemarble-l10.yaml")
    for name in ("land_mask_5arcmin.bin.gz", *bundled_model):
        assert (PACKAGE_DATA_DIR / name).is_file(), name


@pytest.mark.skipif(importlib.util.find_spec("setuptools") is None, reason="building the wheel needs setuptools")
def test_the_wheel_holds_the_package_data(tmp_path):
    """Build the wheel offline from a copy of the checkout (as ``pip wheel .`` does) and list its files."""
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(CHECKOUT / name, source / name)
    shutil.copytree(CHECKOUT / "satclip_cli", source / "satclip_cli", ignore=shutil.ignore_patterns("__pycache__"))
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q"]
    built = subprocess.run([*command, "-w", str(tmp_path / "dist"), str(source)], capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("satclip-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())

    data = sorted(path for path in PACKAGE_DATA_DIR.rglob("*") if path.is_file() and "__pycache__" not in path.parts)
    assert data, PACKAGE_DATA_DIR
    for path in data:
        assert path.relative_to(PACKAGE_DATA_DIR.parent.parent).as_posix() in names, path
    for name in ("satclip_cli/data/examples/cities.gpkg", "satclip_cli/data/land_mask_5arcmin.bin.gz",
                 "satclip_cli/data/bluemarble-l10.safetensors", "satclip_cli/cli/app.py"):  # fmt: skip
        assert name in names, name
    assert not any(name.startswith(("tests/", "benchmarks/", "scripts/")) for name in names)
