"""Which continent a (lon, lat) point belongs to, for continent hold-out splits.

Continents are the ``CONTINENT`` attribute of Natural Earth 1:110m admin-0 countries (v4.0.0), the
same polygons as geopandas' former ``naturalearth_lowres`` data set that the SatCLIP authors' continent
splits used: ``Africa``, ``Antarctica``, ``Asia``, ``Europe``, ``North America``, ``Oceania``,
``South America`` and ``Seven seas (open ocean)`` (the French Southern and Antarctic Lands).

A point inside a country polygon (boundary included) gets that country's continent. Any other point
(the sea, coasts and small islands the 1:110m polygons leave out) gets the continent of the nearest
country, by great-circle distance to the country borders. The borders are densified to at most
:data:`BOUNDARY_STEP_DEG` between vertices and their vertices placed on the unit sphere in 3-D, so the
nearest vertex by straight-line (chord) distance, found with a k-d tree, is also nearest along the
sphere: no projection, so nothing breaks at the dateline or the poles. The distance to the true
nearest border point is overestimated by at most about half a step (~14 km), which can only matter for
points almost equidistant from two continents.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from satclip_cli.geo.coordinates import validate_lonlat
from satclip_cli.geo.polygons import polygon_index, read_polygons
from satclip_cli.probing.downloads import fetch

COUNTRIES_FILE = ("natural_earth", "ne_110m_admin_0_countries.geojson")
"""The ``(dataset, filename)`` of the country polygons, see :mod:`satclip_cli.probing.downloads`."""

CONTINENTS = (
    "Africa",
    "Antarctica",
    "Asia",
    "Europe",
    "North America",
    "Oceania",
    "Seven seas (open ocean)",
    "South America",
)
"""The values in Natural Earth v4.0.0 1:110m admin-0 ``CONTINENT``."""

OPEN_OCEAN = "Seven seas (open ocean)"

BOUNDARY_STEP_DEG = 0.25
"""Borders are densified to at most this many degrees (of lon/lat) between vertices."""

EARTH_RADIUS_KM = 6371.0088
"""Mean Earth radius (IUGG), for great-circle distances."""


@dataclass(frozen=True)
class _Countries:
    polygons: np.ndarray  # object [P] valid (Multi)Polygons
    continent: np.ndarray  # str [P]
    border_tree: object  # scipy cKDTree over unit vectors of border vertices
    border_owner: np.ndarray  # int64 [V] polygon index of each border vertex


def continent_of(
    lonlat: np.ndarray,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    max_distance_km: float | None = None,
) -> np.ndarray:
    """The continent of each point.

    Args:
        lonlat: float ``[N, 2]`` (lon, lat) degrees.
        data_dir: local copies (``data_dir/natural_earth/ne_110m_admin_0_countries.geojson``), else the
            file is downloaded once, see :func:`~satclip_cli.probing.downloads.fetch`.
        max_distance_km: points outside every country and farther than this from all of them get
            ``"Seven seas (open ocean)"``; None (default) always uses the nearest country.

    Returns:
        str ``[N]``, values from :data:`CONTINENTS`.

    Raises:
        InputError: on invalid coordinates, or if the country file is missing or unreadable.
        OfflineError: if it has to be downloaded and cannot be.
    """
    lonlat = validate_lonlat(np.asarray(lonlat, dtype=np.float64).reshape(-1, 2), what="points")
    countries = _countries(None if data_dir is None else str(Path(data_dir).expanduser().resolve()))
    index = polygon_index(lonlat, countries.polygons)
    outside = np.flatnonzero(index < 0)
    far = np.zeros(len(lonlat), dtype=bool)
    if outside.size:
        chord, vertex = countries.border_tree.query(unit_vectors(lonlat[outside]))  # type: ignore[attr-defined]
        index[outside] = countries.border_owner[vertex]
        if max_distance_km is not None:
            distance_km = 2.0 * EARTH_RADIUS_KM * np.arcsin(np.clip(chord / 2.0, 0.0, 1.0))
            far[outside] = distance_km > max_distance_km
    out = countries.continent[index].astype(object)
    out[far] = OPEN_OCEAN
    return out.astype(str)


def unit_vectors(lonlat: np.ndarray) -> np.ndarray:
    """float64 ``[N, 3]`` points on the unit sphere (x towards 0°E on the equator, z to the north pole)."""
    lon, lat = np.radians(lonlat[:, 0]), np.radians(lonlat[:, 1])
    return np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])


@functools.lru_cache(maxsize=4)
def _countries(data_dir: str | None) -> _Countries:
    """Country polygons, their continents and a k-d tree of their densified border vertices (cached)."""
    import shapely
    from scipy.spatial import cKDTree

    polygons, continent = read_polygons(fetch(*COUNTRIES_FILE, data_dir), "CONTINENT")
    rings = shapely.segmentize(shapely.boundary(polygons), BOUNDARY_STEP_DEG)
    coords, owner = shapely.get_coordinates(rings, return_index=True)
    return _Countries(
        polygons=polygons,
        continent=continent,
        border_tree=cKDTree(unit_vectors(coords)),
        border_owner=owner.astype(np.int64),
    )
