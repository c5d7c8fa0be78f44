"""Geometry -> points (satclip_cli.geo.vector.geometry_points): representative points and sampling."""

from __future__ import annotations

import numpy as np
from shapely.geometry import LineString, MultiPolygon, Point, Polygon

from satclip_cli.geo.vector import representative_points, sample_points_in_geometries
from tests.geo.vector.helpers import covers


def test_representative_point_is_inside_concave_polygon() -> None:
    # A "U": its centroid (2, ~1.6) lies in the notch, outside the polygon.
    u_shape = Polygon([(0, 0), (4, 0), (4, 4), (3, 4), (3, 1), (1, 1), (1, 4), (0, 4)])
    assert not u_shape.contains(u_shape.centroid)
    line = LineString([(0, 0), (10, 0)])
    points = representative_points(np.array([u_shape, Point(7, 8), line], dtype=object))
    assert u_shape.contains(Point(points[0]))
    assert points[1].tolist() == [7.0, 8.0]
    assert points[2].tolist() == [5.0, 0.0]


def test_mean_mode_samples_uniformly_inside_polygons() -> None:
    ring = Polygon([(0, 0), (10, 0), (10, 10), (0, 10)], [[(2, 2), (8, 2), (8, 8), (2, 8)]])  # area 64
    small = Polygon([(20, 0), (24, 0), (24, 4), (20, 4)])  # area 16
    pair = MultiPolygon([ring, small])
    geoms = np.array([ring, pair, Point(1, 2), LineString([(0, 0), (0, 3)])], dtype=object)
    rows = np.arange(4)
    samples = sample_points_in_geometries(geoms, 4000, seed=3, rows=rows)
    assert samples.shape == (4, 4000, 2)
    assert covers(ring, samples[0, :, 0], samples[0, :, 1]).all()  # never in the hole
    assert covers(pair, samples[1, :, 0], samples[1, :, 1]).all()
    share_small = float(np.mean(samples[1, :, 0] >= 20))
    assert abs(share_small - 16 / 80) < 0.03  # area-uniform over the parts
    assert abs(samples[0, :, 0].mean() - 5.0) < 0.2
    assert (samples[2] == [1.0, 2.0]).all()
    assert np.allclose(samples[3, :, 0], 0.0) and samples[3, :, 1].min() >= 0 and samples[3, :, 1].max() <= 3
    # depends only on (seed, row): same rows give the same samples, another seed differs
    again = sample_points_in_geometries(geoms[1:2], 4000, seed=3, rows=rows[1:2])
    np.testing.assert_array_equal(again[0], samples[1])
    other = sample_points_in_geometries(geoms[1:2], 4000, seed=4, rows=rows[1:2])
    assert not np.array_equal(other[0], samples[1])
