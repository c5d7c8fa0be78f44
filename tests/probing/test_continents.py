"""Continents of points (satclip_cli.probing.continents) from Natural Earth 1:110m admin-0."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from satclip_cli.errors import InputError
from satclip_cli.probing.continents import CONTINENTS, EARTH_RADIUS_KM, OPEN_OCEAN, continent_of

INSIDE = {
    "Rome": ((12.50, 41.90), "Europe"),
    "Nairobi": ((36.82, -1.29), "Africa"),
    "Beijing": ((116.40, 39.90), "Asia"),
    "Sydney (on the coast, inside at 1:110m)": ((150.5, -33.8), "Oceania"),
    "Denver": ((-104.99, 39.74), "North America"),
    "São Paulo": ((-46.63, -23.55), "South America"),
    "South Pole": ((0.0, -90.0), "Antarctica"),
    "Kerguelen (French Southern Lands)": ((69.5, -49.3), OPEN_OCEAN),
    # Natural Earth puts all of Russia in Europe, also Chukotka east of the dateline
    "Chukotka, east of 180": ((-175.0, 66.0), "Europe"),
}
OUTSIDE = {
    "off Lisbon": ((-10.5, 38.7), "Europe"),
    "Gulf of Guinea": ((2.0, 3.0), "Africa"),
    "Tasman Sea, closer to Australia": ((156.0, -34.0), "Oceania"),
    "Galápagos (not in the 1:110m polygons), nearest Ecuador": ((-90.5, -0.7), "South America"),
    "Hawaii (not in the 1:110m polygons), nearest the USA": ((-155.5, 19.6), "North America"),
    "Ross Sea": ((-175.0, -75.0), "Antarctica"),
}


def test_points_inside_countries(data_dir: Path) -> None:
    points = np.array([lonlat for lonlat, _ in INSIDE.values()])
    assert continent_of(points, data_dir=data_dir).tolist() == [c for _, c in INSIDE.values()]


def test_points_outside_get_the_nearest_country(data_dir: Path) -> None:
    points = np.array([lonlat for lonlat, _ in OUTSIDE.values()])
    assert continent_of(points, data_dir=data_dir).tolist() == [c for _, c in OUTSIDE.values()]


def test_nearest_is_by_great_circle_distance_across_the_dateline_and_poles(data_dir: Path) -> None:
    """Agrees with a brute-force haversine search over finely densified country borders."""
    import shapely

    from satclip_cli.geo.polygons import polygon_index
    from satclip_cli.probing.continents import _countries

    countries = _countries(str(data_dir.resolve()))
    rng = np.random.default_rng(0)
    # sea points near the dateline, in polar seas, and in the open Pacific / Southern Ocean
    candidates = np.concatenate(
        [
            np.column_stack([rng.uniform(175, 185, 200), rng.uniform(-70, 75, 200)]),
            np.column_stack([rng.uniform(-180, 180, 100), rng.uniform(70, 89.9, 100)]),
            np.column_stack([rng.uniform(-180, 180, 100), rng.uniform(-70, -50, 100)]),
        ]
    )
    candidates[:, 0] = (candidates[:, 0] + 180) % 360 - 180

    sea = candidates[polygon_index(candidates, countries.polygons) < 0][:120]
    assert len(sea) > 80
    got = continent_of(sea, data_dir=data_dir)

    # brute force: great-circle distance to every (densified) border vertex of every country
    rings = shapely.segmentize(shapely.boundary(countries.polygons), 0.05)
    coords, owner = shapely.get_coordinates(rings, return_index=True)
    lon1, lat1 = np.radians(sea[:, :1]), np.radians(sea[:, 1:])
    lon2, lat2 = np.radians(coords[:, 0])[None], np.radians(coords[:, 1])[None]
    h = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    distance = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(h))
    nearest = distance.argmin(axis=1)
    expected = countries.continent[owner[nearest]]
    # allow disagreement only where two continents are within 30 km of equally near
    best = distance.min(axis=1)
    for i in np.flatnonzero(got != expected):
        other = distance[i, countries.continent[owner] == got[i]].min()
        assert other - best[i] < 30, (sea[i], got[i], expected[i])
    assert (got == expected).mean() > 0.98  # a planar nearest in lon/lat degrees agrees on only ~80 %


def test_far_from_land_can_be_open_ocean(data_dir: Path) -> None:
    points = np.array([[-140.0, -5.0], [-10.5, 38.7], [12.5, 41.9]])
    assert continent_of(points, data_dir=data_dir).tolist()[1:] == ["Europe", "Europe"]
    assert continent_of(points, data_dir=data_dir, max_distance_km=500).tolist() == [
        OPEN_OCEAN,
        "Europe",
        "Europe",
    ]


def test_output_shape_values_and_validation(data_dir: Path) -> None:
    rng = np.random.default_rng(1)
    points = np.column_stack([rng.uniform(-180, 180, 500), np.degrees(np.arcsin(rng.uniform(-1, 1, 500)))])
    out = continent_of(points, data_dir=data_dir)
    assert out.shape == (500,) and set(out.tolist()) <= set(CONTINENTS)
    assert len(set(out.tolist())) >= 7
    assert continent_of(np.zeros((0, 2)), data_dir=data_dir).shape == (0,)
    with pytest.raises(InputError, match="latitude 95"):
        continent_of(np.array([[0.0, 95.0]]), data_dir=data_dir)
