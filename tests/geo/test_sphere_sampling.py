"""Area-uniform point sampling (satclip_cli.geo.sphere_sampling)."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box

from satclip_cli.cli.options import flag_name
from satclip_cli.errors import InputError
from satclip_cli.geo.land_mask import LandMask, load_land_mask
from satclip_cli.geo.sphere_sampling import BoundingBox, SamplingArea, point_rng
from satclip_cli.geo.vector import AssumedCRSWarning
from satclip_cli.utils.package_data import EXAMPLES_DIR

REGIONS = EXAMPLES_DIR / "regions.geojson"
# the three boxes of satclip_cli/data/examples/regions.geojson: name -> (west, south, east, north)
REGION_BOXES = {
    "Alps": (5.0, 44.0, 16.0, 48.0),
    "Amazon basin": (-73.0, -12.0, -50.0, 2.0),
    "Sahel": (-17.0, 12.0, 38.0, 18.0),
}


def sphere_area(west: float, south: float, east: float, north: float) -> float:
    """Area of a lon/lat box on the unit sphere (west < east)."""
    return math.radians(east - west) * (math.sin(math.radians(north)) - math.sin(math.radians(south)))


def inside(points: np.ndarray, west: float, south: float, east: float, north: float) -> np.ndarray:
    lon, lat = points[:, 0], points[:, 1]
    return (lon >= west) & (lon <= east) & (lat >= south) & (lat <= north)


def binomial_tolerance(p: float, n: int, sigmas: float = 5.0) -> float:
    return sigmas * math.sqrt(p * (1 - p) / n)


# ------------------------------------------------------------------------------------------ BoundingBox


def test_parse_bbox() -> None:
    assert BoundingBox.parse("-10,35,30,60") == BoundingBox(-10.0, 35.0, 30.0, 60.0)
    assert BoundingBox.parse(" -10 , 35, 30 ,60 ") == BoundingBox(-10.0, 35.0, 30.0, 60.0)
    assert str(BoundingBox.parse("-10,35,30,60")) == "-10,35,30,60"
    crossing = BoundingBox.parse("170,-20,-170,20")
    assert crossing.crosses_antimeridian and crossing.lon_span == 20.0
    assert BoundingBox.parse("-180,-90,180,90").lon_span == 360.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1,2,3", "four comma-separated numbers W,S,E,N"),
        ("1,2,3,4,5", "four comma-separated numbers W,S,E,N"),
        ("west,0,10,10", "four comma-separated numbers W,S,E,N"),
        ("", "four comma-separated numbers W,S,E,N"),
        ("nan,0,10,10", "non-finite"),
        ("0,10,10,5", r"south \(10\) must be less than north \(5\)"),
        ("0,5,10,5", r"south \(5\) must be less than north \(5\)"),
        ("0,-95,10,5", "south latitude -95 is outside"),
        ("-200,0,10,10", "west longitude -200 is outside"),
        ("0,0,190,10", "east longitude 190 is outside"),
        ("10,0,10,5", "no width"),
        ("180,0,-180,5", "no width"),
    ],
)
def test_bad_bbox_is_a_one_line_input_error(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        BoundingBox.parse(text)
    assert "\n" not in str(info.value)


# ------------------------------------------------------------------------------------------ uniformity


def test_full_globe_draw_is_area_uniform() -> None:
    n = 100_000
    area = SamplingArea()
    assert area.describe() == "area-uniform points anywhere on the globe"
    points = area.draw(np.random.default_rng(0), n)
    assert points.shape == (n, 2) and points.dtype == np.float64
    lon, lat = points[:, 0], points[:, 1]
    assert lon.min() >= -180 and lon.max() <= 180 and lat.min() >= -90 and lat.max() <= 90
    # the band |lat| < 30 is half the sphere's area (sin 30 = 1/2); latitude-uniform sampling would give 1/3
    assert np.mean(np.abs(lat) < 30) == pytest.approx(0.5, abs=binomial_tolerance(0.5, n))
    assert np.mean(lat > 0) == pytest.approx(0.5, abs=binomial_tolerance(0.5, n))
    assert np.mean((lon > 0) & (lon < 90)) == pytest.approx(0.25, abs=binomial_tolerance(0.25, n))


def test_bbox_draw_is_area_uniform_in_latitude() -> None:
    n = 50_000
    points = SamplingArea(BoundingBox(0.0, 0.0, 10.0, 90.0)).draw(np.random.default_rng(1), n)
    assert inside(points, 0.0, 0.0, 10.0, 90.0).all()
    # area fraction of 0..30 N within 0..90 N is sin(30) / sin(90) = 1/2
    assert np.mean(points[:, 1] < 30) == pytest.approx(0.5, abs=binomial_tolerance(0.5, n))


def test_land_fraction_of_uniform_points_is_the_earths() -> None:
    n = 200_000
    points = SamplingArea().draw(np.random.default_rng(2), n)
    mask = load_land_mask()
    fraction = float(mask.is_land(points[:, 0], points[:, 1]).mean())
    # sampling error: 5 sigma of a binomial proportion (0.005 at n = 200k) around the mask's exact area fraction
    assert fraction == pytest.approx(mask.land_fraction(), abs=binomial_tolerance(0.29, n))
    # Earth: 148.9 of 510.1 million km^2 is land (0.292, Antarctica included); GLOBE's definition (lakes land,
    # ice shelves ocean) and 5' cells move this by less than a percentage point
    assert fraction == pytest.approx(0.292, abs=0.01)


# ------------------------------------------------------------------------------------------ bbox, land


def test_points_stay_in_the_bbox() -> None:
    points = SamplingArea.from_options("-10,35,30,60", None, False).draw(np.random.default_rng(3), 5_000)
    assert inside(points, -10.0, 35.0, 30.0, 60.0).all()


def test_antimeridian_bbox() -> None:
    n = 20_000
    area = SamplingArea(BoundingBox.parse("170,-20,-175,20"))
    points = area.draw(np.random.default_rng(4), n)
    lon, lat = points[:, 0], points[:, 1]
    assert ((lon >= 170) | (lon <= -175)).all() and (np.abs(lat) <= 20).all()
    assert lon.min() >= -180 and lon.max() <= 180
    # 10 of the 15 degrees lie west of the antimeridian
    assert np.mean(lon >= 170) == pytest.approx(2 / 3, abs=binomial_tolerance(2 / 3, n))


def test_land_only_points_are_on_land() -> None:
    area = SamplingArea.from_options("-10,35,30,60", None, True)
    points = area.draw(np.random.default_rng(5), 5_000)
    assert inside(points, -10.0, 35.0, 30.0, 60.0).all()
    assert load_land_mask().is_land(points[:, 0], points[:, 1]).all()
    assert area.describe() == "area-uniform land points (5′ mask) within bbox -10,35,30,60"


def test_land_only_uses_the_given_mask() -> None:
    grid = np.zeros((2, 4), dtype=bool)
    grid[1, 2] = True  # the only land cell: lon 0..90, lat -90..0
    points = SamplingArea(land_only=True, land_mask=LandMask(grid)).draw(np.random.default_rng(6), 1_000)
    assert inside(points, 0.0, -90.0, 90.0, 0.0).all()


def test_bbox_over_the_ocean_with_land_only_fails_clearly() -> None:
    area = SamplingArea.from_options("-140,-55,-100,-35", None, True)  # South Pacific, no islands
    with pytest.raises(InputError, match=r"cannot sample .*only 0 of .* candidates fell inside.*land_only") as info:
        area.draw(np.random.default_rng(7), 1)
    assert "\n" not in str(info.value)
    assert "over the ocean with --land-only" in info.value.message_for(flag_name)  # what `satclip sample` prints


# ------------------------------------------------------------------------------------------ regions


def test_region_file_points_fall_in_its_polygons_in_proportion_to_area() -> None:
    area = SamplingArea.from_options(None, REGIONS, False)
    assert area.describe() == "area-uniform points within region regions.geojson (3 polygons)"
    assert (area.window.west, area.window.south, area.window.east, area.window.north) == (-73.0, -12.0, 38.0, 48.0)
    n = 20_000
    points = area.draw(np.random.default_rng(8), n)
    hits = {name: inside(points, *bounds) for name, bounds in REGION_BOXES.items()}
    assert np.sum(list(hits.values()), axis=0).tolist() == [1] * n  # each point in exactly one region
    total = sum(sphere_area(*bounds) for bounds in REGION_BOXES.values())
    for name, bounds in REGION_BOXES.items():
        share = sphere_area(*bounds) / total
        assert hits[name].mean() == pytest.approx(share, abs=binomial_tolerance(share, n)), name


def test_region_and_bbox_and_land_combine() -> None:
    area = SamplingArea.from_options("0,0,20,50", REGIONS, True)  # the Alps and the eastern Sahel
    assert (area.window.west, area.window.south, area.window.east, area.window.north) == (0.0, 12.0, 20.0, 48.0)
    points = area.draw(np.random.default_rng(9), 2_000)
    assert (inside(points, 5.0, 44.0, 16.0, 48.0) | inside(points, 0.0, 12.0, 20.0, 18.0)).all()
    assert load_land_mask().is_land(points[:, 0], points[:, 1]).all()
    assert "land points" in area.describe() and "bbox 0,0,20,50 and region regions.geojson" in area.describe()


def test_region_across_the_antimeridian_gets_a_narrow_window() -> None:
    fiji_like = MultiPolygon([box(177.0, -19.0, 180.0, -16.0), box(-180.0, -19.0, -179.0, -16.0)])
    area = SamplingArea(region=fiji_like)
    assert (area.window.west, area.window.east) == (177.0, -179.0)  # 4 degrees wide, not 360
    n = 5_000
    points = area.draw(np.random.default_rng(10), n)
    lon = points[:, 0]
    assert ((lon >= 177.0) | (lon <= -179.0)).all() and ((points[:, 1] >= -19) & (points[:, 1] <= -16)).all()
    assert np.mean(lon < 0) == pytest.approx(0.25, abs=binomial_tolerance(0.25, n))


def test_antimeridian_bbox_with_region() -> None:
    region = MultiPolygon([box(175.0, -10.0, 180.0, 10.0), box(-180.0, -10.0, -160.0, 10.0), box(0.0, 0.0, 10.0, 10.0)])
    area = SamplingArea(BoundingBox.parse("170,-5,-170,5"), region)
    assert (area.window.west, area.window.south, area.window.east, area.window.north) == (175.0, -5.0, -170.0, 5.0)
    points = area.draw(np.random.default_rng(11), 2_000)
    assert (((points[:, 0] >= 175.0) | (points[:, 0] <= -170.0)) & (np.abs(points[:, 1]) <= 5)).all()


def test_region_outside_the_bbox_is_an_input_error() -> None:
    with pytest.raises(InputError, match="is outside bbox 100,0,110,10"):
        SamplingArea.from_options("100,0,110,10", REGIONS, False)


def test_projected_geopackage_region(tmp_path: Path) -> None:
    polygon = Polygon([(10.0, 50.0), (14.0, 50.0), (12.0, 54.0)])  # a triangle, lon/lat degrees
    path = tmp_path / "triangle.gpkg"
    gpd.GeoDataFrame({"name": ["t"]}, geometry=[polygon], crs=4326).to_crs(3857).to_file(path, driver="GPKG")
    points = SamplingArea.from_options(None, path, False).draw(np.random.default_rng(12), 3_000)
    # straight edges in EPSG:3857 are (almost) straight in lon/lat here; stay 0.05 degrees away from them
    assert polygon.buffer(0.05).contains(gpd.points_from_xy(points[:, 0], points[:, 1])).all()
    assert not polygon.buffer(-0.05).contains(gpd.points_from_xy(points[:, 0], points[:, 1])).all()


def test_region_without_crs_is_assumed_lonlat(tmp_path: Path) -> None:
    path = tmp_path / "nocrs.gpkg"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gpd.GeoDataFrame(geometry=[box(1.0, 2.0, 3.0, 4.0)]).to_file(path, driver="GPKG")
    with pytest.warns(AssumedCRSWarning, match="nocrs.gpkg declares no CRS"):
        area = SamplingArea.from_options(None, path, False)
    assert inside(area.draw(np.random.default_rng(13), 500), 1.0, 2.0, 3.0, 4.0).all()


def test_region_file_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"region file .*missing\.gpkg does not exist"):
        SamplingArea.from_options(None, tmp_path / "missing.gpkg", False)
    garbage = tmp_path / "garbage.gpkg"
    garbage.write_text("this is not a GeoPackage\n")
    with pytest.raises(InputError, match=r"cannot read region file .*garbage\.gpkg") as info:
        SamplingArea.from_options(None, garbage, False)
    assert "\n" not in str(info.value)
    lines = tmp_path / "lines.geojson"
    gpd.GeoDataFrame(geometry=[LineString([(0, 0), (1, 1)]), Point(2, 2)], crs=4326).to_file(lines, driver="GeoJSON")
    with pytest.raises(InputError, match=r"no Polygon or MultiPolygon features \(found: Point, Linestring\)"):
        SamplingArea.from_options(None, lines, False)


def test_region_outside_lonlat_range_is_rejected() -> None:
    with pytest.raises(InputError, match=r"longitudes 170\.\.400, outside \[-360, 360\]"):
        SamplingArea(region=box(170.0, 0.0, 400.0, 10.0))


@pytest.mark.parametrize(("south", "north"), [(-95.0, 10.0), (0.0, 90.5)])
def test_region_latitudes_out_of_range_are_rejected(south: float, north: float) -> None:
    with pytest.raises(InputError, match=r"latitudes .* outside \[-90, 90\].*swapped"):
        SamplingArea(region=box(10.0, south, 20.0, north))


def test_region_drawn_across_the_antimeridian_as_170_to_190_is_split() -> None:
    area = SamplingArea(region=box(170.0, -10.0, 190.0, 10.0))
    assert (area.window.west, area.window.east) == (170.0, -170.0)
    n = 4_000
    lon = area.draw(np.random.default_rng(14), n)[:, 0]
    assert ((lon >= 170.0) | (lon <= -170.0)).all()
    assert np.mean(lon < 0) == pytest.approx(0.5, abs=binomial_tolerance(0.5, n))


def test_self_intersecting_region_is_repaired_and_both_lobes_sampled() -> None:
    bow_tie = Polygon([(0.0, 0.0), (2.0, 2.0), (2.0, 0.0), (0.0, 2.0)])  # invalid: crosses itself at (1, 1)
    assert not bow_tie.is_valid
    area = SamplingArea(region=bow_tie)
    points = area.draw(np.random.default_rng(15), 4_000)
    left, right = points[:, 0] < 1.0, points[:, 0] > 1.0
    # the two lobes: triangles (0,0)-(1,1)-(0,2) and (2,0)-(1,1)-(2,2)
    assert (np.abs(points[left, 1] - 1.0) <= 1.0 - points[left, 0] + 1e-9).all()
    assert (np.abs(points[right, 1] - 1.0) <= points[right, 0] - 1.0 + 1e-9).all()
    assert left.mean() == pytest.approx(0.5, abs=binomial_tolerance(0.5, 4_000))


# ------------------------------------------------------------------------------------------ small scattered regions

#: (lon, lat) of six land points on six continents: Paris, Nairobi, Tokyo, New York, Buenos Aires, Sydney.
SIX_CONTINENTS = [(2.35, 48.85), (36.82, -1.29), (139.69, 35.68), (-74.0, 40.71), (-58.38, -34.6), (151.2, -33.87)]


def square_of_side(lon: float, lat: float, metres: float) -> Polygon:
    """A lon/lat box of about ``metres`` x ``metres`` with its south-west corner at (lon, lat)."""
    d_lat = metres / 111_195.0
    d_lon = d_lat / math.cos(math.radians(lat))
    return box(lon, lat, lon + d_lon, lat + d_lat)


def test_six_ten_metre_squares_on_six_continents_each_get_points(tmp_path: Path) -> None:
    squares = [square_of_side(lon, lat, 10.0) for lon, lat in SIX_CONTINENTS]
    path = tmp_path / "sites.geojson"
    gpd.GeoDataFrame({"site": range(6)}, geometry=squares, crs=4326).to_file(path, driver="GeoJSON")
    area = SamplingArea.from_options(None, path, True)  # land-only still applies
    points = area.draw(point_rng(0, 0, 0), 600)
    which = np.array([[sq.covers(Point(p)) for sq in squares] for p in points])
    assert which.sum(axis=1).tolist() == [1] * 600  # every point in exactly one square
    counts = which.sum(axis=0)
    assert counts.min() >= 60, counts  # ~100 each (equal areas up to cos(lat))


def test_ten_thousand_scattered_ten_metre_squares_sample_like_a_continent() -> None:
    rng = np.random.default_rng(16)
    corners = np.column_stack([rng.uniform(-179.0, 179.0, 10_000), rng.uniform(-80.0, 80.0, 10_000)])
    squares = [square_of_side(lon, lat, 10.0) for lon, lat in corners]
    area = SamplingArea(region=MultiPolygon(squares))
    points = area.draw(np.random.default_rng(17), 2_000)  # the old sampler found 0 of 1,000,000 candidates
    assert shapely.contains_xy(area.region, points[:, 0], points[:, 1]).all()
    assert len(np.unique(np.round(points, 3), axis=0)) > 1_500  # spread over many squares, not one


def test_polygons_are_chosen_in_proportion_to_their_spherical_area() -> None:
    # a 1 x 1 degree box at the equator and one at 60 degrees north: areas differ by cos(60) ~ 1/2
    region = MultiPolygon([box(10.0, 0.0, 11.0, 1.0), box(10.0, 60.0, 11.0, 61.0)])
    n = 20_000
    points = SamplingArea(region=region).draw(np.random.default_rng(18), n)
    share = sphere_area(10, 60, 11, 61) / (sphere_area(10, 0, 11, 1) + sphere_area(10, 60, 11, 61))
    assert np.mean(points[:, 1] > 30) == pytest.approx(share, abs=binomial_tolerance(share, n))


def test_a_patch_point_depends_only_on_the_settings_and_its_index(tmp_path: Path) -> None:
    squares = [square_of_side(lon, lat, 10.0) for lon, lat in SIX_CONTINENTS]
    path = tmp_path / "sites.gpkg"
    gpd.GeoDataFrame(geometry=squares, crs=4326).to_file(path, driver="GPKG")
    first = SamplingArea.from_options(None, path, True)
    forward = [first.draw(point_rng(7, i, 0), 1)[0].tolist() for i in range(20)]
    again = SamplingArea.from_options(None, path, True)
    backward = [again.draw(point_rng(7, i, 0), 1)[0].tolist() for i in reversed(range(20))]
    assert forward == backward[::-1]
    assert len({tuple(p) for p in forward}) == 20


def test_bbox_clips_the_region_polygons() -> None:
    region = MultiPolygon([box(0.0, 0.0, 10.0, 10.0), box(20.0, 0.0, 30.0, 10.0)])
    area = SamplingArea(BoundingBox.parse("5,0,25,10"), region)
    points = area.draw(np.random.default_rng(19), 2_000)
    assert (((points[:, 0] >= 5.0) & (points[:, 0] <= 10.0)) | ((points[:, 0] >= 20.0) & (points[:, 0] <= 25.0))).all()
    assert np.mean(points[:, 0] < 15) == pytest.approx(0.5, abs=binomial_tolerance(0.5, 2_000))


# ------------------------------------------------------------------------------------------ per_polygon


def test_per_polygon_draws_patch_i_in_feature_i_mod_k_of_the_file(tmp_path: Path) -> None:
    squares = [square_of_side(lon, lat, 10.0) for lon, lat in SIX_CONTINENTS]
    path = tmp_path / "sites.gpkg"
    gpd.GeoDataFrame({"site": range(6)}, geometry=squares, crs=4326).to_file(path, driver="GPKG")
    area = SamplingArea.from_options(None, path, True, per_polygon=True)  # land-only still applies
    assert [area.feature_of(i) for i in range(13)] == [0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5, 0]
    forward = [area.draw(point_rng(7, i, 0), 1, feature=area.feature_of(i))[0] for i in range(18)]
    for i, point in enumerate(forward):  # in feature i mod 6 and in no other
        assert [k for k, square in enumerate(squares) if square.covers(Point(point))] == [i % 6]
    again = SamplingArea.from_options(None, path, True, per_polygon=True)  # another process, another order
    backward = [again.draw(point_rng(7, i, 0), 1, feature=again.feature_of(i))[0] for i in reversed(range(18))]
    np.testing.assert_array_equal(forward, backward[::-1])
    assert len({tuple(p) for p in forward}) == 18
    assert "one feature per patch in turn: patch i in feature i mod 6" in area.describe()
    assert "(6 features)" in area.describe()


def test_per_polygon_picks_the_part_of_a_feature_in_proportion_to_area() -> None:
    # feature 0: two parts whose areas differ by cos(60); feature 1: drawn across the antimeridian as 170..190
    two_parts = MultiPolygon([box(10.0, 0.0, 11.0, 1.0), box(10.0, 60.0, 11.0, 61.0)])
    across = box(170.0, -5.0, 190.0, 5.0)
    area = SamplingArea(region=[two_parts, across], per_polygon=True)
    n = 20_000
    points = area.draw(np.random.default_rng(21), n, feature=0)
    assert shapely.contains_xy(two_parts, points[:, 0], points[:, 1]).all()
    share = sphere_area(10, 60, 11, 61) / (sphere_area(10, 0, 11, 1) + sphere_area(10, 60, 11, 61))
    assert np.mean(points[:, 1] > 30) == pytest.approx(share, abs=binomial_tolerance(share, n))
    points = area.draw(np.random.default_rng(22), n, feature=1)
    assert ((np.abs(points[:, 0]) >= 170.0) & (np.abs(points[:, 1]) <= 5.0)).all()
    assert np.mean(points[:, 0] > 0) == pytest.approx(0.5, abs=binomial_tolerance(0.5, n))


def test_per_polygon_keeps_land_only_and_overlapping_features() -> None:
    coast = box(-12.0, 37.0, -8.0, 39.0)  # Portugal's west coast: the western part is ocean
    inland = box(-9.0, 38.0, -7.0, 40.0)  # overlaps the first feature
    mask = load_land_mask()
    on_land = SamplingArea(region=[coast, inland], land_only=True, land_mask=mask, per_polygon=True)
    points = on_land.draw(np.random.default_rng(23), 2_000, feature=0)
    assert shapely.contains_xy(coast, points[:, 0], points[:, 1]).all()
    assert mask.is_land(points[:, 0], points[:, 1]).all()
    anywhere = SamplingArea(region=[coast, inland], per_polygon=True).draw(np.random.default_rng(23), 2_000, feature=0)
    assert not mask.is_land(anywhere[:, 0], anywhere[:, 1]).all()  # so the land test above can fail
    assert shapely.contains_xy(inland, *on_land.draw(np.random.default_rng(24), 500, feature=1).T).all()


def test_per_polygon_errors_name_the_feature_and_the_setting() -> None:
    with pytest.raises(InputError) as info:
        SamplingArea(per_polygon=True)
    assert info.value.message_for(flag_name) == "--per-polygon needs --region (a vector file of polygons)"
    with pytest.raises(InputError) as info:
        SamplingArea(
            BoundingBox.parse("0,0,20,20"), [box(1.0, 1.0, 2.0, 2.0), box(30.0, 1.0, 31.0, 2.0)], per_polygon=True
        )
    message = info.value.message_for(flag_name)
    assert message.startswith("region feature 2 of 2: it is outside bbox 0,0,20,20") and "--per-polygon" in message
    ocean = SamplingArea(
        region=[box(-9.0, 38.0, -8.0, 39.0), box(-130.0, -50.0, -120.0, -40.0)], land_only=True, per_polygon=True
    )
    assert ocean.draw(np.random.default_rng(25), 5, feature=0).shape == (5, 2)
    with pytest.raises(InputError, match="cannot sample feature 2 of area-uniform land points"):
        ocean.draw(np.random.default_rng(25), 1, feature=1)  # South Pacific: no land


# ------------------------------------------------------------------------------------------ determinism


def test_point_rng_is_deterministic_and_order_independent() -> None:
    area = SamplingArea.from_options("-10,35,30,60", None, True)
    forward = {i: area.draw(point_rng(42, i, 0), 1) for i in range(20)}
    backward = {i: area.draw(point_rng(42, i, 0), 1) for i in reversed(range(20))}
    for i in range(20):
        np.testing.assert_array_equal(forward[i], backward[i])
    assert len({tuple(p[0]) for p in forward.values()}) == 20
    assert not np.array_equal(area.draw(point_rng(42, 3, 1), 1), forward[3])  # another attempt
    assert not np.array_equal(area.draw(point_rng(43, 3, 0), 1), forward[3])  # another seed
    np.testing.assert_array_equal(point_rng(1, 2, 3).random(5), point_rng(1, 2, 3).random(5))


def test_draw_depends_only_on_the_generator() -> None:
    area = SamplingArea(land_only=True)
    np.testing.assert_array_equal(area.draw(np.random.default_rng(14), 300), area.draw(np.random.default_rng(14), 300))
    assert area.draw(np.random.default_rng(14), 0).shape == (0, 2)


def test_point_rng_rejects_negative_values() -> None:
    with pytest.raises(InputError, match="non-negative"):
        point_rng(-1, 0, 0)


# ------------------------------------------------------------------------------------------ properties and edges

finite = st.floats(-1e3, 1e3, allow_nan=False)


@given(finite, finite, finite, finite)
def test_bbox_parsing_accepts_exactly_the_valid_boxes(west: float, south: float, east: float, north: float) -> None:
    valid = -180 <= west <= 180 and -180 <= east <= 180 and -90 <= south < north <= 90 and west != east
    text = f"{west!r},{south!r},{east!r},{north!r}"
    if valid:
        parsed = BoundingBox.parse(text)
        assert (parsed.west, parsed.south, parsed.east, parsed.north) == (west, south, east, north)
        assert 0.0 < parsed.lon_span <= 360.0
    else:
        with pytest.raises(InputError) as info:
            BoundingBox.parse(text)
        assert "\n" not in str(info.value)


@given(st.text(max_size=30))
def test_bbox_parsing_never_raises_anything_but_input_error(text: str) -> None:
    try:
        BoundingBox.parse(text)
    except InputError as error:
        assert "\n" not in str(error)


def test_bbox_edges_are_inclusive() -> None:
    bbox = BoundingBox.parse("-10,35,30,60")
    lon = np.array([-10.0, 30.0, 0.0, 0.0, -10.000001, 30.000001, 0.0, 0.0])
    lat = np.array([40.0, 40.0, 35.0, 60.0, 40.0, 40.0, 34.999999, 60.000001])
    assert bbox.contains(lon, lat).tolist() == [True] * 4 + [False] * 4
    crossing = BoundingBox.parse("170,-10,-170,10")
    assert crossing.contains(np.array([170.0, -170.0, 180.0, -180.0, 169.9, -169.9]), np.zeros(6)).tolist() == [
        True,
        True,
        True,
        True,
        False,
        False,
    ]


@settings(max_examples=30, deadline=None)
@given(st.floats(-170.0, 170.0), st.floats(-80.0, 70.0), st.floats(0.01, 10.0), st.integers(0, 2**32 - 1))
def test_region_points_stay_inside_the_region_and_the_bbox(lon: float, lat: float, size: float, seed: int) -> None:
    region = Polygon([(lon, lat), (lon + size, lat), (lon + size / 2, lat + size)])
    bbox = BoundingBox(lon, lat, lon + size / 2, min(lat + size, 90.0))  # the triangle's western half
    points = SamplingArea(bbox, region).draw(np.random.default_rng(seed), 100)
    assert shapely.covers(region, shapely.points(points)).all()
    assert bbox.contains(points[:, 0], points[:, 1]).all()
