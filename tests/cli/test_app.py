"""The ``satclip`` entry point stays light: heavy libraries load only inside commands."""

import subprocess
import sys

HEAVY = ("torch", "geopandas", "rasterio", "lightning", "pyproj", "huggingface_hub", "sklearn", "matplotlib")


def test_importing_the_cli_loads_no_heavy_library():
    code = f"import sys, satclip_cli.cli.app; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == ""


def test_help_runs_as_a_module():
    result = subprocess.run([sys.executable, "-m", "satclip_cli", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    for command in ("embed", "models"):
        assert command in result.stdout
