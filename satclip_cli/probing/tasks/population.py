"""The ``population`` task: log10 of the population of cities and towns, at each place's point."""

from __future__ import annotations

import numpy as np

from satclip_cli.geo.coordinates import validate_lonlat
from satclip_cli.probing.downloads import fetch
from satclip_cli.probing.tasks.data import TaskData, regression_data
from satclip_cli.probing.tasks.spec import DataDir, TaskSpec

PLACES_FILE = ("natural_earth", "ne_50m_populated_places_simple.geojson")
"""Natural Earth 1:50m populated places (points with ``pop_max``)."""


def load_population(spec: TaskSpec, data_dir: DataDir, n: int, seed: int) -> TaskData:
    """log10(``pop_max``) at each place; places with a missing or zero population are dropped and counted."""
    from satclip_cli.geo.polygons import read_features
    from satclip_cli.geo.vector import representative_points

    (places,) = spec.files
    path = fetch(*places, data_dir)
    frame = read_features(path, ["pop_max"])
    points = representative_points(np.asarray(frame.geometry.to_numpy(), dtype=object))
    lonlat = validate_lonlat(points, what=str(path))
    pop = frame["pop_max"].to_numpy(dtype=np.float64, na_value=np.nan)
    usable = np.isfinite(pop) & (pop > 0)
    target = np.log10(pop[usable])
    description = f"{int(usable.sum()):,} populated places of {path.name}, log10(pop_max)"
    return regression_data(spec.name, spec.units, lonlat[usable], target, int((~usable).sum()), description)
