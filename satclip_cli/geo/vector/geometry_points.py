"""Geometry -> points, in the geometries' own CRS: one representative point, or K sampled points per geometry.

:func:`representative_points` gives one point per geometry (points as they are, lines their midpoint
along the length, anything else shapely's ``point_on_surface``). :func:`sample_points_in_geometries`
draws ``K`` points per geometry: area-uniform inside polygons, length-uniform along lines, uniform among
the points of a multipoint. The draws come from :func:`row_uniforms`, counter-based random numbers that
depend only on (seed, row, sample), so the result does not depend on how the input is chunked.
"""

from __future__ import annotations

import numpy as np
import shapely

# shapely geometry type ids
_POINT, _LINESTRING, _LINEARRING, _POLYGON = 0, 1, 2, 3
_MULTIPOINT, _MULTILINESTRING, _MULTIPOLYGON, _COLLECTION = 4, 5, 6, 7


def representative_points(geoms: np.ndarray) -> np.ndarray:
    """One point per geometry in its own CRS.

    Points are used as they are, lines give the point halfway along their length, anything else
    (polygons, multipoints, collections) shapely's ``point_on_surface``.

    Args:
        geoms: object array ``[n]`` of non-empty shapely geometries.

    Returns:
        float64 ``[n, 2]`` (x, y) in the geometries' CRS.
    """
    geoms = np.asarray(geoms, dtype=object)
    out = np.empty((len(geoms), 2), dtype=np.float64)
    is_point = shapely.get_type_id(geoms) == _POINT
    if is_point.any():
        out[is_point] = shapely.get_coordinates(geoms[is_point])
    types = shapely.get_type_id(geoms)
    lineal = np.flatnonzero((types == _LINESTRING) | (types == _LINEARRING) | (types == _MULTILINESTRING))
    if lineal.size:
        out[lineal] = shapely.get_coordinates(shapely.line_interpolate_point(geoms[lineal], 0.5, normalized=True))
    rest = np.flatnonzero(~is_point & ~np.isin(types, (_LINESTRING, _LINEARRING, _MULTILINESTRING)))
    if rest.size:
        try:
            points = shapely.point_on_surface(geoms[rest])
        except shapely.errors.GEOSException:
            points = np.array([_point_on_surface_safe(g) for g in geoms[rest]], dtype=object)
        out[rest, 0] = shapely.get_x(points)
        out[rest, 1] = shapely.get_y(points)
    return out


def _point_on_surface_safe(geom: shapely.Geometry) -> shapely.Geometry:
    try:
        return shapely.point_on_surface(geom)
    except shapely.errors.GEOSException:
        return shapely.point_on_surface(shapely.make_valid(geom))


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser on a uint64 array (wrapping arithmetic)."""
    x = x + _GOLDEN
    x = (x ^ (x >> np.uint64(30))) * _MIX1
    x = (x ^ (x >> np.uint64(27))) * _MIX2
    return x ^ (x >> np.uint64(31))


def row_uniforms(seed: int, rows: np.ndarray, samples: int, streams: int) -> np.ndarray:
    """Counter-based uniform numbers in [0, 1) that depend only on (seed, row, sample, stream).

    Makes the sampling independent of how the input is chunked. Returns float64 ``[n, samples, streams]``.
    """
    with np.errstate(over="ignore"):
        key = _splitmix64(np.array([seed % (1 << 64)], dtype=np.uint64))
        per_row = _splitmix64(key ^ np.asarray(rows, dtype=np.int64).astype(np.uint64))
        counter = np.arange(samples * streams, dtype=np.uint64).reshape(1, samples, streams)
        bits = _splitmix64(per_row[:, None, None] + counter * _MIX1)
    return (bits >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def sample_points_in_geometries(geoms: np.ndarray, samples: int, *, seed: int, rows: np.ndarray) -> np.ndarray:
    """Sample ``samples`` points per geometry, in the geometries' own CRS.

    Polygons: area-uniform (constrained Delaunay triangulation, triangles chosen by area,
    uniform barycentric points). Lines: uniform along their length. Multipoints: uniform among
    their points. Points: ``samples`` copies. Collections use their highest-dimensional parts.
    Degenerate polygons (zero area) fall back to their ``point_on_surface``.

    Args:
        geoms: object array ``[n]`` of non-empty shapely geometries.
        samples: ``K`` points per geometry.
        seed: sampling seed.
        rows: int ``[n]`` file row numbers; the samples of a row depend only on (seed, row).

    Returns:
        float64 ``[n, K, 2]`` (x, y) in the geometries' CRS.
    """
    geoms = np.asarray(geoms, dtype=object).copy()
    rows = np.asarray(rows, dtype=np.int64)
    n = len(geoms)
    out = np.empty((n, samples, 2), dtype=np.float64)
    types = shapely.get_type_id(geoms)
    for index in np.flatnonzero(types == _COLLECTION):
        geoms[index] = _dominant_parts(geoms[index])
    types = shapely.get_type_id(geoms)
    uniforms = row_uniforms(seed, rows, samples, 3)

    point = types == _POINT
    if point.any():
        out[point] = shapely.get_coordinates(geoms[point])[:, None, :]
    polygonal = np.flatnonzero((types == _POLYGON) | (types == _MULTIPOLYGON))
    if polygonal.size:
        out[polygonal] = _sample_polygons(geoms[polygonal], uniforms[polygonal])
    lineal = np.flatnonzero((types == _LINESTRING) | (types == _LINEARRING) | (types == _MULTILINESTRING))
    if lineal.size:
        lines = geoms[lineal]
        distance = uniforms[lineal, :, 0] * shapely.length(lines)[:, None]
        points = shapely.line_interpolate_point(np.repeat(lines, samples), distance.ravel())
        out[lineal] = shapely.get_coordinates(points).reshape(len(lineal), samples, 2)
    multipoint = np.flatnonzero(types == _MULTIPOINT)
    if multipoint.size:
        parts, owner = shapely.get_parts(geoms[multipoint], return_index=True)
        coords = shapely.get_coordinates(parts)
        counts = np.bincount(owner, minlength=multipoint.size)
        first = np.concatenate([[0], np.cumsum(counts)[:-1]])
        within = np.minimum((uniforms[multipoint, :, 0] * counts[:, None]).astype(np.int64), counts[:, None] - 1)
        pick = first[:, None] + within
        out[multipoint] = coords[pick]
    return out


def _dominant_parts(collection: shapely.Geometry) -> shapely.Geometry:
    """Reduce a geometry collection to a multi-geometry of its highest-dimensional parts."""
    parts = shapely.get_parts(collection)
    while True:
        nested = shapely.get_type_id(parts) >= _MULTIPOINT
        if not nested.any():
            break
        parts = np.concatenate([parts[~nested], shapely.get_parts(parts[nested])])
    parts = parts[~shapely.is_empty(parts)]
    types = shapely.get_type_id(parts)
    polygons = parts[types == _POLYGON]
    if polygons.size and shapely.area(shapely.multipolygons(polygons)) > 0:
        return shapely.multipolygons(polygons)
    lines = parts[(types == _LINESTRING) | (types == _LINEARRING)]
    if lines.size:
        return shapely.multilinestrings([shapely.linestrings(shapely.get_coordinates(line)) for line in lines])
    return shapely.multipoints(shapely.get_coordinates(parts))


def _triangulate(polygons: np.ndarray) -> np.ndarray:
    """Constrained Delaunay triangulation of each polygon, repairing invalid ones; empty on failure."""
    polygons = polygons.copy()
    invalid = ~shapely.is_valid(polygons)
    if invalid.any():
        polygons[invalid] = [_polygonal_part(shapely.make_valid(g)) for g in polygons[invalid]]
    try:
        return shapely.constrained_delaunay_triangles(polygons)
    except shapely.errors.GEOSException:
        result = np.empty(len(polygons), dtype=object)
        for index, polygon in enumerate(polygons):
            try:
                result[index] = shapely.constrained_delaunay_triangles(polygon)
            except shapely.errors.GEOSException:
                result[index] = shapely.GeometryCollection()
        return result


def _polygonal_part(geom: shapely.Geometry) -> shapely.Geometry:
    if shapely.get_type_id(geom) in (_POLYGON, _MULTIPOLYGON):
        return geom
    parts = shapely.get_parts(geom)
    polygons = [p for p in parts if shapely.get_type_id(p) in (_POLYGON, _MULTIPOLYGON)]
    polygons = [q for p in polygons for q in shapely.get_parts(p)]
    return shapely.multipolygons(polygons) if polygons else shapely.Polygon()


def _sample_polygons(polygons: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
    """Area-uniform samples inside polygons: ``uniforms`` ``[m, K, 3]`` -> float64 ``[m, K, 2]``."""
    m, samples, _ = uniforms.shape
    triangles, owner = shapely.get_parts(_triangulate(polygons), return_index=True)
    corners = shapely.get_coordinates(triangles).reshape(-1, 4, 2)[:, :3]
    a = corners[:, 0]
    ab = corners[:, 1] - a
    ac = corners[:, 2] - a
    area = 0.5 * np.abs(ab[:, 0] * ac[:, 1] - ab[:, 1] * ac[:, 0])
    feature_area = np.bincount(owner, weights=area, minlength=m)
    out = np.empty((m, samples, 2), dtype=np.float64)
    good = feature_area > 0
    if good.any():
        keep = good[owner]
        owner_good = owner[keep]
        # triangle weights normalised per feature, so the running sum stays small and precise
        weights = area[keep] / feature_area[owner_good]
        cumulative = np.cumsum(weights)
        counts_good = np.bincount(owner_good, minlength=m)[good]
        last = np.cumsum(counts_good) - 1
        first = last - counts_good + 1
        base = np.where(first > 0, cumulative[np.maximum(first - 1, 0)], 0.0)
        target = base[:, None] + uniforms[good, :, 0] * (cumulative[last] - base)[:, None]
        pick = np.searchsorted(cumulative, target, side="right")
        pick = np.clip(pick, first[:, None], last[:, None])
        r1 = uniforms[good, :, 1].copy()
        r2 = uniforms[good, :, 2].copy()
        flip = r1 + r2 > 1.0
        r1[flip], r2[flip] = 1.0 - r1[flip], 1.0 - r2[flip]
        a_k, ab_k, ac_k = a[keep][pick], ab[keep][pick], ac[keep][pick]
        out[good] = a_k + r1[..., None] * ab_k + r2[..., None] * ac_k
    if (~good).any():
        fallback = np.array([_point_on_surface_safe(g) for g in polygons[~good]], dtype=object)
        out[~good] = shapely.get_coordinates(fallback)[:, None, :]
    return out
