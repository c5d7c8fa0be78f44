"""Area-uniform random (lon, lat) points on the sphere, optionally restricted to a bbox, a region and land.

Points are uniform with respect to area on the sphere: longitude uniform, sin(latitude) uniform.
A :class:`SamplingArea` draws candidates area-uniformly in the bbox or, with a region, in the
region's polygons clipped to the bbox (a polygon chosen in proportion to its area, then a point in
that polygon's own window: :mod:`satclip_cli.geo.polygon_sampling`), and keeps those inside the bbox
and, with ``land_only``, on land in the packaged 5' land mask (:mod:`satclip_cli.geo.land_mask`); the
kept points are therefore area-uniform within the intersection. All coordinates are (lon, lat)
degrees in EPSG:4326, in that order, with longitudes in [-180, 180].

With ``per_polygon`` the region's features (in file order) take turns instead: patch ``i`` is drawn in
feature ``i mod K`` alone (:meth:`SamplingArea.feature_of`), area-uniformly inside it (a multi-part
feature picks its part in proportion to area), so ``n = K`` patches give one per feature.

:func:`point_rng` gives each (seed, dataset index, attempt) its own random generator, so the point
drawn for an index does not depend on which worker draws it or in which order.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from satclip_cli.errors import InputError, one_line, setting
from satclip_cli.geo.coordinates import wrap_longitude
from satclip_cli.geo.land_mask import LandMask, load_land_mask
from satclip_cli.geo.polygon_sampling import PolygonSampler, polygon_parts, split_at_antimeridian

#: Candidates per batch are adapted to the acceptance rate seen so far, within these bounds.
MIN_BATCH = 64
MAX_BATCH = 1 << 18
#: :meth:`SamplingArea.draw` gives up once this many candidates gave an acceptance rate below
#: :data:`MIN_ACCEPTANCE` (an empty area: a bbox over the ocean with ``land_only``, a bbox missing the region).
GIVE_UP_AFTER = 1_000_000
MIN_ACCEPTANCE = 1e-5

_POLYGONAL = (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON)


@dataclass(frozen=True)
class BoundingBox:
    """A lon/lat box in degrees: longitudes ``west..east`` (eastwards), latitudes ``south..north``.

    ``west > east`` means the box crosses the antimeridian (``170,-10,-170,10`` spans 20 degrees of
    longitude around 180). ``-180,-90,180,90`` is the whole globe.

    Raises:
        InputError: on a non-finite value, a longitude outside [-180, 180], a latitude outside [-90, 90],
            ``south >= north`` or an empty longitude range (``west == east``).
    """

    west: float
    south: float
    east: float
    north: float

    def __post_init__(self) -> None:
        values = (self.west, self.south, self.east, self.north)
        if not all(math.isfinite(v) for v in values):
            raise InputError(f"bbox {self} has a non-finite value; expected W,S,E,N in degrees")
        for name in ("west", "east"):
            if not -180.0 <= getattr(self, name) <= 180.0:
                raise InputError(
                    f"bbox {name} longitude {getattr(self, name):g} is outside [-180, 180] (order W,S,E,N)"
                )
        for name in ("south", "north"):
            if not -90.0 <= getattr(self, name) <= 90.0:
                raise InputError(f"bbox {name} latitude {getattr(self, name):g} is outside [-90, 90] (order W,S,E,N)")
        if self.south >= self.north:
            raise InputError(f"bbox south ({self.south:g}) must be less than north ({self.north:g}) (order W,S,E,N)")
        if self.lon_span <= 0.0:
            raise InputError(f"bbox {self} has no width: west and east are the same meridian")

    @classmethod
    def parse(cls, text: str) -> BoundingBox:
        """Parse ``"W,S,E,N"`` (degrees; ``W > E`` crosses the antimeridian).

        Raises:
            InputError: if ``text`` is not four comma-separated numbers forming a valid box.
        """
        try:
            values = [float(part) for part in str(text).split(",")]
        except ValueError:
            values = []
        if len(values) != 4:
            raise InputError(f"bbox must be four comma-separated numbers W,S,E,N in degrees, got {text!r}")
        return cls(*values)

    def __str__(self) -> str:
        return f"{self.west:g},{self.south:g},{self.east:g},{self.north:g}"

    @property
    def crosses_antimeridian(self) -> bool:
        """Whether the box runs eastwards across 180 degrees (``west > east``)."""
        return self.west > self.east

    @property
    def lon_span(self) -> float:
        """Width in degrees of longitude, in (0, 360]."""
        return self.east - self.west + (360.0 if self.crosses_antimeridian else 0.0)

    def lon_intervals(self) -> list[tuple[float, float]]:
        """The box's longitudes as one or two (west, east) intervals that do not cross the antimeridian."""
        if self.crosses_antimeridian:
            return [(self.west, 180.0), (-180.0, self.east)]
        return [(self.west, self.east)]

    def contains(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Whether points lie in the box (edges included).

        Args:
            lon, lat: float arrays of the same shape, degrees; longitudes in [-180, 180].

        Returns:
            bool array of that shape.
        """
        in_lat = (lat >= self.south) & (lat <= self.north)
        if self.crosses_antimeridian:
            return in_lat & ((lon >= self.west) | (lon <= self.east))
        return in_lat & (lon >= self.west) & (lon <= self.east)

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` points uniform with respect to area on the sphere inside the box.

        Returns:
            float64 ``[n, 2]`` (lon, lat) degrees, longitudes in [-180, 180].
        """
        u = rng.random((n, 2))
        lon = wrap_longitude(self.west + self.lon_span * u[:, 0])
        low, high = math.sin(math.radians(self.south)), math.sin(math.radians(self.north))
        lat = np.clip(np.degrees(np.arcsin(low + (high - low) * u[:, 1])), self.south, self.north)
        return np.column_stack([lon, lat])


GLOBE = BoundingBox(-180.0, -90.0, 180.0, 90.0)
"""The whole sphere."""


class SamplingArea:
    """Where points are drawn: the intersection of a bbox, region polygons and (optionally) land.

    Args:
        bbox: restrict to this box; ``None`` means the whole globe.
        region: restrict to this shapely (Multi)Polygon in EPSG:4326 (lon, lat) degrees, longitudes
            within [-360, 360] (parts beyond +-180 are moved by 360 degrees, so a polygon drawn across
            the antimeridian as 170..190 works), or to the union of a sequence of them (the features of a
            region file, in file order); invalid polygons are repaired; ``None`` means no restriction.
        land_only: keep only points in land cells of the 5' land mask.
        region_name: how :meth:`describe` names the region (e.g. its file name).
        land_mask: the mask for ``land_only`` (default: the packaged one, :func:`load_land_mask`).
        per_polygon: each feature of ``region`` (a sequence; one geometry is one feature) in turn: patch
            ``i`` is drawn in feature ``i mod K`` (:meth:`feature_of`, :meth:`draw` with ``feature``).

    Raises:
        InputError: if the region is not polygonal, is empty, is not in lon/lat degrees (latitudes outside
            [-90, 90], longitudes outside [-360, 360]), or does not overlap the bbox; with ``per_polygon``,
            if there is no region or one feature has no area inside the bbox.
        LandMaskError: if ``land_only`` and the packaged mask is missing.
    """

    def __init__(
        self,
        bbox: BoundingBox | None = None,
        region: BaseGeometry | Sequence[BaseGeometry] | None = None,
        *,
        land_only: bool = False,
        region_name: str | None = None,
        land_mask: LandMask | None = None,
        per_polygon: bool = False,
    ) -> None:
        self.bbox = bbox
        self.region_name = region_name
        self.land_only = land_only
        if land_only and land_mask is None:
            land_mask = load_land_mask()
        self.land_mask = land_mask if land_only else None
        self.region: BaseGeometry | None = None
        """The region's polygons within the bbox, longitudes in [-180, 180] (``None``: no region)."""
        self.polygons: PolygonSampler | None = None
        """Draws area-uniform points in the region's polygons (``None``: no region)."""
        self.region_parts = 0
        """How many polygons the region has (as given, before clipping to the bbox); with ``per_polygon``, features."""
        self.features: list[PolygonSampler] = []
        """With ``per_polygon``: one sampler per region feature, in the given order (else empty)."""
        self.per_polygon = per_polygon
        if per_polygon and region is None:
            raise InputError(f"{setting('per_polygon')} needs {setting('region')} (a vector file of polygons)")
        if region is None:
            self.window = bbox or GLOBE
            """A box covering the area (candidates are drawn in it when there is no region)."""
            return
        features = [region] if isinstance(region, BaseGeometry) else list(region)
        if not features:
            raise InputError("the region has no polygons")
        if per_polygon:
            self.features = [_feature_sampler(k, features, bbox or GLOBE) for k in range(len(features))]
            region = shapely.union_all(np.concatenate([sampler.polygons for sampler in self.features]))
        elif len(features) != 1:
            region = shapely.union_all(np.concatenate([_region_parts(feature) for feature in features]))
        else:
            region = features[0]
        parts = _region_parts(region)
        self.region_parts = len(features) if per_polygon else len(parts)
        parts = _clip_to_bbox(split_at_antimeridian(parts), bbox or GLOBE)
        self.window = _sampling_window(bbox or GLOBE, parts)
        self.polygons = PolygonSampler(parts)
        self.region = shapely.multipolygons(self.polygons.polygons)
        shapely.prepare(self.region)

    @classmethod
    def from_options(
        cls, bbox: str | None, region_path: Path | None, land_only: bool, per_polygon: bool = False
    ) -> SamplingArea:
        """The area for the ``bbox`` (``"W,S,E,N"`` degrees), ``region`` (a vector file), ``land_only`` and
        ``per_polygon`` (the file's polygon features in turn, in file order) settings.

        Raises:
            InputError: on a bad bbox or an unusable region file (see :func:`read_region_features`), or
                ``per_polygon`` without a region.
        """
        box = None if bbox is None else BoundingBox.parse(bbox)
        region: BaseGeometry | list[BaseGeometry] | None = None
        if region_path is not None:
            region = read_region_features(region_path) if per_polygon else read_region(region_path)
        name = None if region_path is None else Path(region_path).name
        return cls(box, region, land_only=land_only, region_name=name, per_polygon=per_polygon)

    def feature_of(self, index: int) -> int | None:
        """The region feature (0-based, in file order) patch ``index`` is drawn in: ``index mod K`` with
        ``per_polygon``, else None (anywhere in the area)."""
        return index % len(self.features) if self.per_polygon else None

    def describe(self) -> str:
        """One line describing the area for a dry run, e.g. ``land points (5′ mask) within bbox -10,35,30,60``."""
        what = "points"
        if self.land_mask is not None:
            what = f"land points ({self.land_mask.resolution_deg * 60:g}′ mask)"
        limits = []
        if self.bbox is not None:
            limits.append(f"bbox {self.bbox}")
        if self.region is not None:
            parts, kind = self.region_parts, "feature" if self.per_polygon else "polygon"
            limits.append(f"region {self.region_name or 'polygons'} ({parts} {kind}{'s' if parts != 1 else ''})")
        where = f"within {' and '.join(limits)}" if limits else "anywhere on the globe"
        if self.per_polygon:
            turns = f"patch i in feature i mod {len(self.features)}"
            return f"area-uniform {what} {where}, one feature per patch in turn: {turns}"
        return f"area-uniform {what} {where}"

    def contains(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Whether points are in the area.

        Args:
            lon, lat: float64 ``[n]`` degrees, longitudes in [-180, 180].

        Returns:
            bool ``[n]``.
        """
        keep = self._in_bbox_and_land(lon, lat)
        if self.region is not None:
            index = np.flatnonzero(keep)
            keep[index] = shapely.contains_xy(self.region, lon[index], lat[index])
        return keep

    def _in_bbox_and_land(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Whether points are in the bbox and (with ``land_only``) on land; bool ``[n]``."""
        keep = np.ones(np.shape(lon), dtype=bool) if self.bbox is None else self.bbox.contains(lon, lat)
        if self.land_mask is not None:
            index = np.flatnonzero(keep)
            keep[index] = self.land_mask.is_land(lon[index], lat[index])
        return keep

    def draw(self, rng: np.random.Generator, n: int, *, feature: int | None = None) -> np.ndarray:
        """``n`` points area-uniform in the area, by rejection in vectorised batches.

        Candidates come from :attr:`window` or, with a region, from its polygons (:attr:`polygons`: each
        polygon in its own window); those outside the bbox or (with ``land_only``) off land are rejected.

        Args:
            rng: the generator (e.g. :func:`point_rng`).
            n: how many points.
            feature: with ``per_polygon``, draw only in this region feature (0-based, see :meth:`feature_of`);
                None: anywhere in the area.

        The result depends only on the state of ``rng``, ``n`` and ``feature``.

        Returns:
            float64 ``[n, 2]`` (lon, lat) degrees, longitudes in [-180, 180].

        Raises:
            InputError: if the area (or the feature) is (nearly) empty: after :data:`GIVE_UP_AFTER` candidates,
                fewer than a fraction :data:`MIN_ACCEPTANCE` fell inside it.
        """
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        if feature is not None and not 0 <= feature < len(self.features):
            raise ValueError(f"feature must be in [0, {len(self.features)}), got {feature}")
        polygons = self.polygons if feature is None else self.features[feature]
        out = np.empty((n, 2), dtype=np.float64)
        filled = proposed = accepted = 0
        while filled < n:
            rate = (accepted + 1) / (proposed + 1)
            batch = min(MAX_BATCH, max(MIN_BATCH, math.ceil(1.25 * (n - filled) / rate)))
            if polygons is None:
                candidates = self.window.draw(rng, batch)
                inside = candidates[self.contains(candidates[:, 0], candidates[:, 1])]
            else:  # already inside the region (or the feature)
                candidates = polygons.draw(rng, batch)
                inside = candidates[self._in_bbox_and_land(candidates[:, 0], candidates[:, 1])]
            take = min(len(inside), n - filled)
            out[filled : filled + take] = inside[:take]
            filled += take
            proposed += batch
            accepted += len(inside)
            if filled < n and proposed >= GIVE_UP_AFTER and accepted < MIN_ACCEPTANCE * proposed:
                where = self.describe() if feature is None else f"feature {feature + 1} of {self.describe()}"
                raise InputError(
                    f"cannot sample {where}: only {accepted} of {proposed:,} random candidates fell inside; "
                    f"the area is empty or too small (e.g. a bbox over the ocean with {setting('land_only')}, or a "
                    "bbox that misses the region)"
                )
        return out


def point_rng(seed: int, index: int, attempt: int) -> np.random.Generator:
    """The random generator for dataset ``index``, try number ``attempt``, of a run with ``seed``.

    Built from ``np.random.SeedSequence([seed, index, attempt])``: the same triple always gives the
    same stream, independently of workers, sharding or the order of the draws.

    Raises:
        InputError: if any of the three is negative.
    """
    values = (int(seed), int(index), int(attempt))
    if min(values) < 0:
        raise InputError(f"seed, index and attempt must be non-negative integers, got {values}")
    return np.random.default_rng(np.random.SeedSequence(list(values)))


def read_region(path: Path) -> BaseGeometry:
    """The union of the polygons in a vector file, in EPSG:4326 (lon, lat) degrees (see :func:`read_region_features`).

    Raises:
        InputError: if the file is missing or unreadable, cannot be reprojected, or has no polygons.
    """
    polygons = polygon_parts(np.array(read_region_features(path), dtype=object))
    if polygons.size == 0:
        raise InputError(f"region file {path}: its polygons have no area")
    return shapely.union_all(polygons)


def read_region_features(path: Path) -> list[BaseGeometry]:
    """The Polygon and MultiPolygon features of a vector file, in file order, in EPSG:4326 (lon, lat) degrees.

    Reads any format geopandas reads (GeoPackage, GeoJSON, Shapefile, ...), reprojects to EPSG:4326
    (a file without a CRS is taken to be in EPSG:4326, with an ``AssumedCRSWarning``) and keeps the
    Polygon and MultiPolygon features (other geometries and empty ones are skipped); an invalid one is
    repaired with ``make_valid`` (its polygonal pieces unioned; empty if it had no area).

    Raises:
        InputError: if the file is missing or unreadable, cannot be reprojected, or has no polygons.
    """
    import geopandas as gpd

    from satclip_cli.geo.vector import AssumedCRSWarning

    path = Path(path)
    if not path.exists():
        raise InputError(f"region file {path} does not exist")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = gpd.read_file(path)
    except Exception as error:  # pyogrio raises several error types
        raise InputError(f"cannot read region file {path}: {one_line(error)}") from None
    if not isinstance(frame, gpd.GeoDataFrame):
        raise InputError(f"region file {path} has no geometry column")
    if frame.crs is None:
        warnings.warn(
            f"{path.name} declares no CRS; assuming EPSG:4326 (lon, lat degrees)", AssumedCRSWarning, stacklevel=2
        )
    else:
        try:
            frame = frame.to_crs(4326)
        except Exception as error:  # pyproj errors
            raise InputError(f"cannot reproject region file {path} to EPSG:4326: {one_line(error)}") from None
    geoms = frame.geometry.to_numpy()
    geoms = geoms[~shapely.is_missing(geoms)]
    types = shapely.get_type_id(geoms)
    polygonal = geoms[np.isin(types, _POLYGONAL) & ~shapely.is_empty(geoms)]
    if polygonal.size == 0:
        kinds = ", ".join(shapely.GeometryType(t).name.title() for t in sorted(set(types.tolist())))
        raise InputError(f"region file {path} has no Polygon or MultiPolygon features (found: {kinds or 'none'})")
    for k in np.flatnonzero(~shapely.is_valid(polygonal)):
        polygonal[k] = shapely.union_all(polygon_parts(shapely.make_valid(polygonal[k])))
    return list(polygonal)


# ---------------------------------------------------------------------------------------------------- helpers


def _region_parts(region: BaseGeometry) -> np.ndarray:
    """The non-empty, valid Polygons of a (Multi)Polygon region (invalid ones repaired with ``make_valid``)."""
    if shapely.get_type_id(region) not in _POLYGONAL or region.is_empty:
        raise InputError(f"the region must be a non-empty Polygon or MultiPolygon, got {region.geom_type}")
    if not region.is_valid:  # e.g. a self-intersecting "bow tie": repair, then union the overlapping pieces
        region = shapely.union_all(polygon_parts(shapely.make_valid(region)))
    parts = polygon_parts(np.array([region], dtype=object))
    if parts.size == 0:
        raise InputError("the region's polygons have no area")
    return parts


def _feature_sampler(number: int, features: Sequence[BaseGeometry], bbox: BoundingBox) -> PolygonSampler:
    """The sampler of ``features[number]`` (its parts split at 180 degrees and clipped to ``bbox``).

    Raises:
        InputError: naming the feature (1-based) if it is not polygonal, has no area or lies outside ``bbox``.
    """
    try:
        if shapely.is_empty(features[number]):
            raise InputError("it has no area")
        parts = _clip_to_bbox(split_at_antimeridian(_region_parts(features[number])), bbox)
        if parts.size == 0:
            raise InputError(f"it is outside bbox {bbox}")
        return PolygonSampler(parts)
    except InputError as error:
        raise InputError(
            f"region feature {number + 1} of {len(features)}: {error.args[0]} ({setting('per_polygon')} draws "
            "patches in every feature)"
        ) from None


def _clip_to_bbox(parts: np.ndarray, bbox: BoundingBox) -> np.ndarray:
    """The pieces of ``parts`` (Polygons, longitudes in [-180, 180]) inside ``bbox``; all of them for the globe."""
    if bbox == GLOBE:
        return parts
    pieces = [shapely.clip_by_rect(parts, west, bbox.south, east, bbox.north) for west, east in bbox.lon_intervals()]
    return polygon_parts(np.concatenate(pieces))


def _sampling_window(bbox: BoundingBox, parts: np.ndarray) -> BoundingBox:
    """The smallest box (latitude range x longitude arc) around the region's ``parts`` (already clipped to ``bbox``).

    Built from the bounds of the parts, so a region with parts on both sides of the antimeridian (Fiji,
    Russia) gets an arc across it rather than the whole -180..180 band.

    Raises:
        InputError: if no part is left (the region is outside the bbox) or the parts have no extent.
    """
    if parts.size == 0:
        raise InputError(f"the region is outside bbox {bbox}")
    bounds = shapely.bounds(parts)  # [k, 4] minx, miny, maxx, maxy
    west, east = _covering_arc(list(zip(bounds[:, 0].tolist(), bounds[:, 2].tolist(), strict=True)))
    south, north = float(bounds[:, 1].min()), float(bounds[:, 3].max())
    if west == east or south == north:
        raise InputError(f"the region only touches bbox {bbox} along its edge")
    return BoundingBox(west, south, east, north)


def _covering_arc(intervals: list[tuple[float, float]]) -> tuple[float, float]:
    """The shortest eastward longitude arc (west, east) covering all ``intervals``.

    ``intervals`` are (west, east) degrees with ``-180 <= west <= east <= 180``; the arc crosses the
    antimeridian (``west > east``) when leaving out the widest gap between the intervals does.
    """
    merged: list[list[float]] = []
    for west, east in sorted(intervals):
        if merged and west <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], east)
        else:
            merged.append([west, east])
    arc = (merged[0][0], merged[-1][1])
    widest_gap = merged[0][0] + 360.0 - merged[-1][1]  # the gap across the antimeridian
    for before, after in zip(merged, merged[1:], strict=False):
        if after[0] - before[1] > widest_gap:
            widest_gap, arc = after[0] - before[1], (after[0], before[1])
    return arc
