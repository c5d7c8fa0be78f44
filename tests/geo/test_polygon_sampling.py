"""Per-polygon area-uniform sampling (satclip_cli.geo.polygon_sampling), with property-based tests."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon, box

from satclip_cli.errors import InputError
from satclip_cli.geo.polygon_sampling import PolygonSampler, polygon_areas, split_at_antimeridian


def box_area(west: float, south: float, east: float, north: float) -> float:
    """Area of a lon/lat box on the unit sphere, steradians."""
    return math.radians(east - west) * (math.sin(math.radians(north)) - math.sin(math.radians(south)))


def numeric_area(polygon: Polygon, n: int = 400) -> float:
    """The integral of cos(lat) over the polygon by the midpoint rule on an n x n grid of its bounds."""
    west, south, east, north = polygon.bounds
    lon = west + (np.arange(n) + 0.5) * (east - west) / n
    lat = south + (np.arange(n) + 0.5) * (north - south) / n
    grid_lon, grid_lat = np.meshgrid(lon, lat)
    inside = shapely.contains_xy(polygon, grid_lon, grid_lat)
    cell = math.radians((east - west) / n) * math.radians((north - south) / n)
    return float((np.cos(np.radians(grid_lat)) * inside).sum() * cell)


latitudes = st.floats(-89.0, 89.0, allow_nan=False)
longitudes = st.floats(-179.0, 179.0, allow_nan=False)


@st.composite
def boxes(draw: st.DrawFn) -> tuple[float, float, float, float]:
    west, south = draw(longitudes), draw(latitudes)
    width, height = draw(st.floats(1e-4, 30.0)), draw(st.floats(1e-4, 30.0))
    return west, south, min(west + width, 180.0), min(south + height, 90.0)


@st.composite
def star_polygons(draw: st.DrawFn) -> Polygon:
    """A valid star-shaped polygon (vertices at sorted angles around a centre), up to ~20 degrees across."""
    lon, lat = draw(st.floats(-170.0, 170.0)), draw(st.floats(-70.0, 70.0))
    k = draw(st.integers(3, 9))
    angles = np.sort(draw(st.lists(st.floats(0.0, 2 * math.pi), min_size=k, max_size=k, unique=True)))
    radii = np.array(draw(st.lists(st.floats(0.01, 10.0), min_size=k, max_size=k)))
    polygon = Polygon(np.column_stack([lon + radii * np.cos(angles), lat + radii * np.sin(angles)]))
    return polygon if polygon.is_valid and polygon.area > 1e-6 else box(lon, lat, lon + 1.0, lat + 1.0)


@given(boxes())
def test_area_of_a_box_is_the_closed_form(bounds: tuple[float, float, float, float]) -> None:
    assert polygon_areas(np.array([box(*bounds)]))[0] == pytest.approx(box_area(*bounds), rel=1e-9, abs=1e-15)


def test_area_of_a_triangle_matches_numeric_integration() -> None:
    triangle = Polygon([(10.0, 40.0), (30.0, 45.0), (15.0, 70.0)])
    assert polygon_areas(np.array([triangle]))[0] == pytest.approx(numeric_area(triangle), rel=2e-3)


def test_holes_are_subtracted_and_orientation_does_not_matter() -> None:
    outer, hole = box(0.0, 0.0, 10.0, 10.0), box(2.0, 2.0, 4.0, 4.0)
    with_hole = Polygon(outer.exterior.coords, [hole.exterior.coords])
    reversed_ring = Polygon(list(outer.exterior.coords)[::-1])
    areas = polygon_areas(np.array([with_hole, reversed_ring]))
    assert areas[0] == pytest.approx(box_area(0, 0, 10, 10) - box_area(2, 2, 4, 4), rel=1e-12)
    assert areas[1] == pytest.approx(box_area(0, 0, 10, 10), rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(star_polygons(), st.integers(0, 2**32 - 1))
def test_drawn_points_stay_inside_the_polygon(polygon: Polygon, seed: int) -> None:
    points = PolygonSampler(np.array([polygon])).draw(np.random.default_rng(seed), 200)
    assert shapely.covers(polygon, shapely.points(points)).all()


@settings(max_examples=40, deadline=None)
@given(st.lists(boxes(), min_size=1, max_size=6), st.integers(0, 2**32 - 1))
def test_drawn_points_stay_inside_the_union(bounds: list, seed: int) -> None:
    union = shapely.union_all([box(*b) for b in bounds])
    parts = np.asarray(shapely.get_parts(union))
    points = PolygonSampler(parts).draw(np.random.default_rng(seed), 100)
    assert shapely.covers(union, shapely.points(points)).all()


@settings(max_examples=40, deadline=None)
@given(st.floats(120.0, 179.0), st.floats(181.0, 240.0), latitudes)
def test_splitting_at_the_antimeridian_keeps_the_area(west: float, east: float, south: float) -> None:
    north = min(south + 5.0, 90.0)
    parts = split_at_antimeridian(np.array([box(west, south, east, north)]))
    assert (shapely.bounds(parts)[:, [0, 2]] >= -180.0).all() and (shapely.bounds(parts)[:, [0, 2]] <= 180.0).all()
    assert polygon_areas(parts).sum() == pytest.approx(box_area(west, south, east, north), rel=1e-9)


def test_a_polygon_is_chosen_in_proportion_to_its_area() -> None:
    small, large = box(0.0, 0.0, 1.0, 1.0), box(50.0, 0.0, 53.0, 1.0)  # three times as wide
    points = PolygonSampler(np.array([small, large])).draw(np.random.default_rng(1), 20_000)
    assert np.mean(points[:, 0] > 25) == pytest.approx(0.75, abs=5 * math.sqrt(0.75 * 0.25 / 20_000))


def test_zero_area_and_sliver_polygons_are_refused() -> None:
    with pytest.raises(InputError, match="have no area"):
        PolygonSampler(np.array([Polygon([(0, 0), (1, 1), (2, 2)])]))
    sliver = Polygon([(0.0, 0.0), (50.0, 50.0), (50.0, 50.0 + 1e-9), (0.0, 1e-9)])
    with pytest.raises(InputError, match="is a sliver"):
        PolygonSampler(np.array([sliver]))
