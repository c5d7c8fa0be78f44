"""Area-uniform points inside a set of disjoint polygons, each drawn in its own window.

A polygon is chosen with probability proportional to its area on the sphere, then a point is drawn
area-uniformly (longitude uniform, sin(latitude) uniform) in that polygon's own bounding window until
it falls inside the polygon. So 10,000 polygons of 10 m x 10 m scattered over the globe sample as
easily as one continent: the acceptance rate is each polygon's area over its own window's, never the
polygons' total over one window around all of them.

Polygons are in EPSG:4326 (lon, lat) degrees and their edges are straight lines in lon/lat (as
shapely's point-in-polygon tests see them); areas are on the unit sphere (steradians), exact for such
edges. Parts of a polygon beyond +-180 degrees of longitude (a polygon drawn across the antimeridian
as 170..190) are moved by 360 degrees, so every part lies within [-180, 180].
"""

from __future__ import annotations

import numpy as np
import shapely

from satclip_cli.errors import InputError

#: Longitudes accepted in a region before splitting at the antimeridian (degrees).
LON_LIMIT = 360.0
#: Tolerance in degrees for coordinates just beyond the limits after reprojection.
EPS = 1e-9
#: A polygon whose area is below this fraction of its window's is refused (a degenerate sliver).
MIN_FILL = 1e-7
#: Tries drawn at once per pending point, at most (the inner rejection loop of one polygon).
MAX_TRIES_PER_ROUND = 4096
#: Rounds of the inner rejection loop before giving up.
MAX_ROUNDS = 64


def split_at_antimeridian(parts: np.ndarray) -> np.ndarray:
    """Polygons with every part in [-180, 180] degrees of longitude.

    Args:
        parts: object ``[k]`` of shapely Polygons in (lon, lat) degrees, longitudes within
            [-360, 360] (a polygon across the antimeridian may be written as 170..190).

    Returns:
        object ``[m]`` of non-empty Polygons: the pieces east of 180 moved by -360, the pieces west of
        -180 moved by +360.

    Raises:
        InputError: on non-finite coordinates, longitudes outside [-360, 360] or latitudes outside [-90, 90].
    """
    bounds = shapely.bounds(parts)
    if not np.isfinite(bounds).all():
        raise InputError("the region has non-finite coordinates")
    lon_min, lat_min, lon_max, lat_max = bounds[:, 0].min(), bounds[:, 1].min(), bounds[:, 2].max(), bounds[:, 3].max()
    if lat_min < -90.0 - EPS or lat_max > 90.0 + EPS:
        raise InputError(
            f"the region spans latitudes {lat_min:g}..{lat_max:g}, outside [-90, 90]: it must be in EPSG:4326 "
            "(lon, lat) degrees (are longitude and latitude swapped?)"
        )
    if lon_min < -LON_LIMIT - EPS or lon_max > LON_LIMIT + EPS:
        raise InputError(
            f"the region spans longitudes {lon_min:g}..{lon_max:g}, outside [-360, 360]: it must be in EPSG:4326 "
            "(lon, lat) degrees"
        )
    beyond = (bounds[:, 0] < -180.0 - EPS) | (bounds[:, 2] > 180.0 + EPS)
    if not beyond.any():
        return parts
    pieces = [parts[~beyond]]
    for shift in (-360.0, 0.0, 360.0):
        clip = shapely.clip_by_rect(parts[beyond], -180.0 - shift, -90.0, 180.0 - shift, 90.0)
        pieces.append(polygon_parts(shapely.transform(clip, lambda xy, s=shift: xy + np.array([s, 0.0]))))
    return np.concatenate(pieces)


def polygon_parts(geoms: np.ndarray) -> np.ndarray:
    """All non-empty Polygons inside ``geoms`` (multi-geometries and collections flattened)."""
    parts = shapely.get_parts(np.asarray(geoms, dtype=object))
    while True:
        nested = shapely.get_type_id(parts) >= shapely.GeometryType.MULTIPOINT
        if not nested.any():
            break
        parts = np.concatenate([parts[~nested], shapely.get_parts(parts[nested])])
    return parts[(shapely.get_type_id(parts) == shapely.GeometryType.POLYGON) & ~shapely.is_empty(parts)]


def ring_areas(rings: np.ndarray) -> np.ndarray:
    """Unsigned area on the unit sphere (steradians) enclosed by each closed lon/lat ring.

    Edges are straight in (lon, lat); the area is the integral of cos(lat) dlon dlat, by Green's theorem
    the line integral of -sin(lat) dlon along the ring, exact per edge.

    Args:
        rings: object ``[r]`` of shapely LinearRings in (lon, lat) degrees.

    Returns:
        float64 ``[r]`` steradians.
    """
    coords, index = shapely.get_coordinates(rings, return_index=True)
    if len(coords) == 0:
        return np.zeros(len(rings))
    lon, lat = np.radians(coords[:, 0]), np.radians(coords[:, 1])
    same = index[1:] == index[:-1]  # consecutive vertices of one ring form an edge
    d_lon, lat0, lat1 = (lon[1:] - lon[:-1])[same], lat[:-1][same], lat[1:][same]
    d_lat = lat1 - lat0
    flat = np.abs(d_lat) < 1e-12
    safe = np.where(flat, 1.0, d_lat)
    # integral of sin(lat) dlon along an edge with lat linear in lon
    integral = np.where(flat, d_lon * np.sin(lat0), d_lon * (np.cos(lat0) - np.cos(lat1)) / safe)
    return np.abs(np.bincount(index[1:][same], weights=-integral, minlength=len(rings)))


def polygon_areas(polygons: np.ndarray) -> np.ndarray:
    """Area on the unit sphere (steradians) of each Polygon (holes subtracted); see :func:`ring_areas`."""
    polygons = np.asarray(polygons, dtype=object)
    area = ring_areas(shapely.get_exterior_ring(polygons))
    holes = shapely.get_num_interior_rings(polygons)
    if holes.any():
        owner = np.repeat(np.arange(len(polygons)), holes)
        rings = np.array(
            [shapely.get_interior_ring(polygons[i], j) for i in np.flatnonzero(holes) for j in range(holes[i])],
            dtype=object,
        )
        area = area - np.bincount(owner, weights=ring_areas(rings), minlength=len(polygons))
    return np.maximum(area, 0.0)


class PolygonSampler:
    """Draws area-uniform points in the union of disjoint Polygons, each polygon in its own window.

    Args:
        polygons: object ``[k]`` of valid, pairwise disjoint shapely Polygons in (lon, lat) degrees with
            longitudes in [-180, 180] (see :func:`split_at_antimeridian`). Zero-area ones are dropped.

    Raises:
        InputError: if no polygon has area, or one is a sliver filling less than :data:`MIN_FILL` of its window.
    """

    def __init__(self, polygons: np.ndarray) -> None:
        polygons = np.asarray(polygons, dtype=object)
        areas = polygon_areas(polygons)
        bounds = shapely.bounds(polygons)
        keep = (areas > 0.0) & (bounds[:, 2] > bounds[:, 0]) & (bounds[:, 3] > bounds[:, 1])
        if not keep.any():
            raise InputError("the region's polygons have no area")
        self.polygons, self.areas, bounds = polygons[keep], areas[keep], bounds[keep]
        shapely.prepare(self.polygons)
        self.west, self.lon_span = bounds[:, 0], bounds[:, 2] - bounds[:, 0]
        self.south, self.north = bounds[:, 1], bounds[:, 3]
        self.sin_south, self.sin_north = np.sin(np.radians(self.south)), np.sin(np.radians(self.north))
        window_areas = np.radians(self.lon_span) * (self.sin_north - self.sin_south)
        self.fill = np.minimum(self.areas / window_areas, 1.0)
        """Each polygon's area over its window's: the inner acceptance rate."""
        if (self.fill < MIN_FILL).any():
            i = int(np.argmin(self.fill))
            west, south = self.west[i], self.south[i]
            raise InputError(
                f"a region polygon near lon {west:g}, lat {south:g} is a sliver: it fills only {self.fill[i]:.1e} "
                "of its bounding box"
            )
        self.cumulative = np.cumsum(self.areas) / self.areas.sum()

    @property
    def total_area(self) -> float:
        """The polygons' total area on the unit sphere, steradians."""
        return float(self.areas.sum())

    def __len__(self) -> int:
        return len(self.polygons)

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` points area-uniform in the union of the polygons; depends only on ``rng``'s state and ``n``.

        Returns:
            float64 ``[n, 2]`` (lon, lat) degrees, longitudes in [-180, 180].
        """
        chosen = np.minimum(np.searchsorted(self.cumulative, rng.random(n), side="right"), len(self) - 1)
        out = np.empty((n, 2), dtype=np.float64)
        pending = np.arange(n)
        for _ in range(MAX_ROUNDS):
            if pending.size == 0:
                return out
            which = chosen[pending]
            tries = np.clip(np.ceil(3.0 / self.fill[which]), 1, MAX_TRIES_PER_ROUND).astype(np.int64)
            owner = np.repeat(np.arange(pending.size), tries)
            poly = which[owner]
            u = rng.random((owner.size, 2))
            lon = self.west[poly] + self.lon_span[poly] * u[:, 0]
            sin_lat = self.sin_south[poly] + (self.sin_north[poly] - self.sin_south[poly]) * u[:, 1]
            lat = np.clip(np.degrees(np.arcsin(sin_lat)), self.south[poly], self.north[poly])
            hit = shapely.contains_xy(self.polygons[poly], lon, lat)
            hits = np.flatnonzero(hit)
            first_owner, first = np.unique(owner[hits], return_index=True)  # the first hit of each pending point
            out[pending[first_owner], 0] = lon[hits[first]]
            out[pending[first_owner], 1] = lat[hits[first]]
            done = np.zeros(pending.size, dtype=bool)
            done[first_owner] = True
            pending = pending[~done]
        if pending.size:
            raise InputError(f"could not draw a point inside {pending.size} region polygon(s) (too thin)")
        return out
