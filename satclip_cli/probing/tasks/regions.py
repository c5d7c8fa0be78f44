"""Polygon-labelled tasks (``countries``, ``biomes``, ``ecoregions``): area-uniform land points, each labelled
by the polygon containing it.

Points are labelled with :func:`~satclip_cli.geo.polygons.polygon_index` (boundary points count as inside;
where polygons overlap the first in file order wins); points in no polygon (coasts the simplified
polygons miss, lakes, which the land mask counts as land) are dropped and counted. The country polygons
are :data:`satclip_cli.probing.continents.COUNTRIES_FILE`, also used for continent hold-out splits.
"""

from __future__ import annotations

import numpy as np

from satclip_cli.probing.downloads import fetch
from satclip_cli.probing.tasks.data import TaskData, classification_data
from satclip_cli.probing.tasks.points import sample_points
from satclip_cli.probing.tasks.spec import DataDir, Loader, TaskSpec

BIOMES_FILE = ("ecoregions", "biomes.shp")
"""RESOLVE Ecoregions 2017 dissolved into 14 biomes + N/A (``BIOME_NAME``), simplified geometry."""
ECOREGIONS_FILE = ("ecoregions", "Ecoregions2017.shp")
"""RESOLVE Ecoregions 2017, 847 ecoregions (``ECO_NAME``), simplified geometry."""

RESOLVE_ENCODING = "latin1"
"""The RESOLVE shapefiles' attribute encoding (they declare none)."""


def polygon_labels(column: str, *, encoding: str | None = None) -> Loader:
    """A loader labelling area-uniform land points by the ``column`` attribute of the spec's polygon file.

    Args:
        column: the attribute that names the class (e.g. ``"ADM0_A3"``).
        encoding: attribute encoding for files that do not declare one.
    """

    def load(spec: TaskSpec, data_dir: DataDir, n: int, seed: int) -> TaskData:
        from satclip_cli.geo.polygons import polygon_index, read_polygons

        (polygon_file,) = spec.files
        geoms, names = read_polygons(fetch(*polygon_file, data_dir), column, encoding=encoding)
        lonlat = sample_points(spec.name, n, seed, land_only=True)
        index = polygon_index(lonlat, geoms)
        labels = np.where(index >= 0, names[np.maximum(index, 0)], "")
        inside = labels != ""
        description = f"{n:,} area-uniform land points (seed {seed}) labelled by {column} of {polygon_file[1]}"
        return classification_data(spec.name, lonlat[inside], labels[inside], 0, int((~inside).sum()), description)

    return load
