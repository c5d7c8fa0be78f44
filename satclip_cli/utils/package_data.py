"""Files that ship inside the package (``satclip_cli/data/``): the land mask, the bundled model, examples.

Everything a command reads at run time lives here, so a wheel installed anywhere works as a checkout does.
"""

from pathlib import Path

PACKAGE_DATA_DIR = Path(__file__).resolve().parents[1] / "data"
"""``satclip_cli/data/``: the land mask, the bundled model files and its training settings."""

EXAMPLES_DIR = PACKAGE_DATA_DIR / "examples"
"""Example inputs for trying the commands: ``cities.csv``/``cities.gpkg`` (points), ``regions.geojson``."""
