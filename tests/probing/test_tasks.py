"""Probe tasks (satclip_cli.probing.tasks) loaded from the shared copies of their public sources."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from satclip_cli.errors import InputError
from satclip_cli.geo.land_mask import load_land_mask
from satclip_cli.probing.tasks import (
    CLASSIFICATION_METRICS,
    MIN_CLASS_SIZE,
    REGRESSION_METRICS,
    TASKS,
    TaskData,
    checkerboard_classes,
    load_custom_task,
    load_task,
    regular_grid,
    relief_at,
)

N = 3000  # sampled tasks: enough points for stable checks, fast enough


def _check_points(data: TaskData) -> None:
    assert data.lonlat.dtype == np.float64 and data.lonlat.shape == (data.n, 2)
    assert np.isfinite(data.lonlat).all()
    assert (np.abs(data.lonlat[:, 0]) <= 180).all() and (np.abs(data.lonlat[:, 1]) <= 90).all()
    if data.type == "regression":
        assert data.target.dtype == np.float64 and data.classes is None and np.isfinite(data.target).all()
    else:
        assert (
            data.target.dtype == np.int64 and data.classes is not None and len(set(data.classes)) == len(data.classes)
        )
        counts = np.bincount(data.target, minlength=len(data.classes))
        assert counts.min() >= MIN_CLASS_SIZE  # every class kept has enough points for a stratified split


# ------------------------------------------------------------------------------------------- registry


def test_registry_describes_every_task() -> None:
    assert list(TASKS)[:9] == [
        "air-temperature",
        "precipitation",
        "california-housing",
        "median-income",
        "elevation",
        "population",
        "countries",
        "biomes",
        "ecoregions",
    ]
    assert {"land-ocean", "checkerboard", "inaturalist-2018"} <= set(TASKS)
    for name, spec in TASKS.items():
        assert spec.name == name and spec.title and spec.source and spec.citation and spec.target
        expected = REGRESSION_METRICS if spec.type == "regression" else CLASSIFICATION_METRICS
        assert spec.metrics == expected or not spec.available
        assert bool(spec.units) == (spec.type == "regression")
    assert not TASKS["inaturalist-2018"].available and "later step" in TASKS["inaturalist-2018"].note
    assert "city" in TASKS["population"].target and "no gridded population" in TASKS["population"].note


def test_unknown_and_unavailable_tasks(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"unknown task 'temperature'; known tasks: air-temperature, precipitation"):
        load_task("temperature", data_dir=tmp_path)
    with pytest.raises(InputError, match="not available yet"):
        load_task("inaturalist-2018", data_dir=tmp_path)
    with pytest.raises(InputError, match="n-points"):
        load_task("checkerboard", n_points=0)


def test_missing_local_copy_names_the_layout(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"air_temperature/stationDataAll\.csv is missing"):
        load_task("air-temperature", data_dir=tmp_path)


# ------------------------------------------------------------------------------------------- fixed tables


def test_air_temperature_and_precipitation(shared_data_dir: Path) -> None:
    temperature = load_task("air-temperature", data_dir=shared_data_dir)
    precipitation = load_task("precipitation", data_dir=shared_data_dir)
    for data in (temperature, precipitation):
        _check_points(data)
        assert data.n == 3076 and data.dropped_nan == 0 and not data.has_test_set
    assert np.array_equal(temperature.lonlat, precipitation.lonlat)
    assert temperature.units == "°C" and precipitation.units == "mm/year"
    assert temperature.target.min() == pytest.approx(-19.55, abs=0.01)
    assert temperature.target.max() == pytest.approx(30.458, abs=0.01)
    assert precipitation.target.min() == 0 and precipitation.target.max() == 5662
    # first row of the table: Lon 7.82, Lat 36.83 (Annaba, Algeria), 18.0 °C, 694 mm
    assert temperature.lonlat[0].tolist() == [7.82, 36.83]
    assert temperature.target[0] == pytest.approx(18.025) and precipitation.target[0] == 694
    # cold stations are at high latitude, not in the tropics
    cold = temperature.target < -5
    assert np.abs(temperature.lonlat[cold, 1]).min() > 40


def test_california_housing(shared_data_dir: Path) -> None:
    data = load_task("california-housing", data_dir=shared_data_dir)
    _check_points(data)
    assert data.n == 20640 and data.units == "USD"
    assert data.target.min() == 14999 and data.target.max() == 500001  # USD, capped; not units of 100k
    lon, lat = data.lonlat.T
    assert lon.min() > -124.36 and lon.max() < -114.3 and lat.min() > 32.5 and lat.max() < 41.96
    assert data.lonlat[0].tolist() == [-122.23, 37.88] and data.target[0] == 452600


def test_median_income_joins_counties_to_their_gazetteer_points(shared_data_dir: Path) -> None:
    data = load_task("median-income", data_dir=shared_data_dir)
    _check_points(data)
    assert data.n + data.dropped_nan == 3140 and data.dropped_nan == 1  # Kalawao (HI) has no 2016 value
    assert data.units == "USD" and data.target.min() > 20_000 and data.target.max() < 140_000
    # Autauga County, AL (01001): internal point -86.64644, 32.532237; 2016 income 54,487 USD
    row = np.flatnonzero((data.lonlat[:, 0] == -86.64644) & (data.lonlat[:, 1] == 32.532237))
    assert row.size == 1 and data.target[row[0]] == 54487
    # the same values as the derived table in the shared data (the task performs that join itself)
    derived = load_custom_task(
        shared_data_dir / "median_income" / "county_median_income_with_centroids.csv", "MedianIncome2016"
    )
    assert derived.type == "regression" and derived.n == data.n and derived.dropped_nan == 1
    order = np.lexsort(data.lonlat.T), np.lexsort(derived.lonlat.T)
    assert np.allclose(data.lonlat[order[0]], derived.lonlat[order[1]])
    assert np.array_equal(data.target[order[0]], derived.target[order[1]])
    assert "dropped 1 rows" in data.warnings()[0]


def test_population_is_log10_city_size(shared_data_dir: Path) -> None:
    data = load_task("population", data_dir=shared_data_dir)
    _check_points(data)
    assert data.n + data.dropped_nan == 1249 and data.dropped_nan == 1  # one place with pop_max 0
    assert data.units == "log10(persons)"
    assert 7.5 < data.target.max() < 7.6  # 35.7 million: Tokyo
    tokyo = data.lonlat[np.argmax(data.target)]
    assert abs(tokyo[0] - 139.7) < 0.5 and abs(tokyo[1] - 35.7) < 0.5


# ------------------------------------------------------------------------------------------- sampled tasks


def test_elevation_samples_the_relief_grid_on_land(shared_data_dir: Path) -> None:
    data = load_task("elevation", data_dir=shared_data_dir, n_points=N, seed=1)
    _check_points(data)
    assert data.n == N and data.units == "m"
    assert load_land_mask().is_land(data.lonlat[:, 0], data.lonlat[:, 1]).all()
    assert 300 < np.median(data.target) < 1000 and data.target.max() > 4000
    assert (data.target < 0).mean() < 0.05  # some coastal cells of the 20' grid are below sea level
    again = load_task("elevation", data_dir=shared_data_dir, n_points=N, seed=1)
    assert np.array_equal(again.lonlat, data.lonlat)
    other = load_task("elevation", data_dir=shared_data_dir, n_points=N, seed=2)
    assert not np.array_equal(other.lonlat, data.lonlat)


def test_relief_at_known_places(shared_data_dir: Path) -> None:
    places = np.array(
        [
            [86.925, 27.988],  # Everest
            [87.5, 33.0],  # Tibetan plateau
            [-60.0, -3.0],  # Amazon near Manaus
            [-142.2, 11.35],  # Pacific abyss (Mariana trench is too narrow for 20')
            [179.99, -18.0],  # both sides of the dateline near Fiji agree
            [-179.99, -18.0],
        ]
    )
    relief = relief_at(places, data_dir=shared_data_dir)
    assert relief[0] > 4000 and relief[1] > 4500
    assert 0 <= relief[2] < 200
    assert relief[3] < -4000
    assert abs(relief[4] - relief[5]) < 50


def test_countries_label_points_by_admin0(shared_data_dir: Path) -> None:
    data = load_task("countries", data_dir=shared_data_dir, n_points=N, seed=0)
    _check_points(data)
    assert N - data.n == data.dropped_unlabelled + sum(data.dropped_classes.values())
    assert 0 < data.dropped_unlabelled < 0.05 * N  # coasts and islands outside the 1:110m polygons
    assert data.classes == sorted(data.classes)  # classes read from data are sorted
    assert "-99" not in data.classes and {"FRA", "NOR", "RUS", "USA", "BRA", "AUS", "ATA"} <= set(data.classes)
    # the biggest classes by area: Russia, Antarctica, Canada
    top = {data.classes[i] for i in np.argsort(np.bincount(data.target))[-3:]}
    assert top == {"RUS", "ATA", "CAN"}
    # points near known places carry those countries' labels
    for code, (lon, lat) in {"ITA": (12.5, 41.9), "BRA": (-50.0, -10.0), "AUS": (135.0, -25.0)}.items():
        near = np.hypot(data.lonlat[:, 0] - lon, data.lonlat[:, 1] - lat) < 3
        assert near.any() and {data.classes[t] for t in data.target[near]} == {code}


def test_rome_is_italy_whatever_the_seed(shared_data_dir: Path) -> None:
    from satclip_cli.probing.tasks import polygon_index, read_polygons

    geoms, codes = read_polygons("natural_earth", "ne_110m_admin_0_countries.geojson", "ADM0_A3", shared_data_dir)
    index = polygon_index(np.array([[12.4964, 41.9028], [2.35, 48.86], [-160.0, 0.0]]), geoms)
    assert codes[index[0]] == "ITA" and codes[index[1]] == "FRA" and index[2] == -1


def test_biomes_and_ecoregions(shared_data_dir: Path) -> None:
    biomes = load_task("biomes", data_dir=shared_data_dir, n_points=N, seed=0)
    _check_points(biomes)
    assert len(biomes.classes) == 15 and "Tundra" in biomes.classes and "N/A" in biomes.classes
    assert biomes.dropped_unlabelled < 0.05 * N

    def label_near(data: TaskData, lon: float, lat: float, radius: float = 2.0) -> set[str]:
        near = np.hypot(data.lonlat[:, 0] - lon, data.lonlat[:, 1] - lat) < radius
        return {data.classes[t] for t in data.target[near]}

    assert label_near(biomes, -62.0, -4.0) == {"Tropical & Subtropical Moist Broadleaf Forests"}  # Amazon
    assert label_near(biomes, 10.0, 24.0) == {"Deserts & Xeric Shrublands"}  # central Sahara
    assert label_near(biomes, 0.0, -80.0, 5.0) == {"N/A"}  # Antarctic ice: Rock and Ice

    eco = load_task("ecoregions", data_dir=shared_data_dir, n_points=N, seed=0)
    _check_points(eco)
    assert 200 < len(eco.classes) < 847 and len(eco.dropped_classes) > 0  # rare ecoregions dropped, and said so
    assert all(count < MIN_CLASS_SIZE for count in eco.dropped_classes.values())
    assert "fewer than 2 points" in eco.warnings()[-1]
    # Latin-1 names decoded (e.g. 'Alto Paraná Atlantic forests'); no replacement characters
    assert not any("\ufffd" in name for name in eco.classes)
    assert label_near(eco, 0.0, -80.0, 5.0) == {"Rock and Ice"}


def test_land_ocean_grid_covers_the_globe(shared_data_dir: Path) -> None:
    data = load_task("land-ocean", n_points=N, seed=0)
    _check_points(data)
    assert data.classes == ["ocean", "land"] and data.has_test_set
    assert data.test_lonlat.shape == (64800, 2) and data.test_target.shape == (64800,)
    assert data.test_target.dtype == np.int64 and data.test_weight.sum() == pytest.approx(1.0)
    lon, lat = data.test_lonlat.T
    assert np.unique(lon).size == 360 and np.unique(lat).size == 180
    assert lon.min() == -179.5 and lon.max() == 179.5 and lat.min() == -89.5 and lat.max() == 89.5
    assert np.sum(data.test_weight * data.test_target) == pytest.approx(0.29, abs=0.01)  # area-weighted
    assert data.test_target.mean() > 0.3  # unweighted, Antarctica's many small polar cells count more
    assert np.mean(data.target) == pytest.approx(0.29, abs=0.025)  # random points are area-uniform


def test_regular_grid_weights_are_cell_areas() -> None:
    lonlat, weight = regular_grid(30.0)
    assert lonlat.shape == (72, 2) and weight.sum() == pytest.approx(1.0)
    # a cell at the equator is bigger than one at the pole by sin(30)-sin(0) vs sin(90)-sin(60)
    ratio = weight[lonlat[:, 1] == 15.0][0] / weight[lonlat[:, 1] == 75.0][0]
    assert ratio == pytest.approx(0.5 / (1 - np.sqrt(3) / 2))
    with pytest.raises(InputError):
        regular_grid(7.0)


def test_checkerboard_is_balanced_and_periodic() -> None:
    data = load_task("checkerboard", n_points=20000, seed=0)
    _check_points(data)
    assert data.classes == ["even", "odd"] and np.mean(data.target) == pytest.approx(0.5, abs=0.015)
    classes = checkerboard_classes(
        np.array(
            [
                [179.9, 10.0],  # one cell straddles the dateline
                [-179.9, 10.0],
                [14.9, 10.0],  # 15°E is a column edge
                [15.1, 10.0],
                [0.0, 0.1],  # the equator is a row edge
                [0.0, -0.1],
                [0.0, 90.0],  # the pole belongs to the polar row
                [0.0, 89.9],
            ]
        )
    )
    assert classes[0] == classes[1] and classes[2] != classes[3]
    assert classes[4] != classes[5] and classes[6] == classes[7]
    with pytest.raises(InputError, match="divide 180"):
        checkerboard_classes(np.zeros((1, 2)), 25.0)


# ------------------------------------------------------------------------------------------- custom tasks


def _write_csv(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_custom_csv_regression_and_classification(tmp_path: Path) -> None:
    rows = ["Longitude,Latitude,temp,zone,code"]
    rng = np.random.default_rng(0)
    for i in range(60):
        temp = "" if i in (3, 7) else f"{rng.normal(15, 5):.2f}"
        zone = ["north", "south", "east"][i % 3] if i != 59 else "island"
        rows.append(f"{-10 + i * 0.3:.2f},{40 + (i % 7):.1f},{temp},{zone},{i % 4}")
    path = _write_csv(tmp_path / "obs.csv", rows)

    temp = load_custom_task(path, "temp")
    assert temp.type == "regression" and temp.name == "obs:temp"
    assert temp.n == 58 and temp.dropped_nan == 2 and temp.target.dtype == np.float64
    assert temp.lonlat[0].tolist() == [-10.0, 40.0]

    zone = load_custom_task(path, "ZONE")  # case-insensitive column match
    assert zone.type == "classification" and zone.classes == ["east", "north", "south"]
    assert zone.dropped_classes == {"island": 1} and zone.n == 59
    assert "'island' (1)" in zone.warnings()[0]

    code = load_custom_task(path, "code")  # few integer values: classes
    assert code.type == "classification" and code.classes == ["0", "1", "2", "3"]
    assert load_custom_task(path, "code", type="regression").type == "regression"


def test_custom_task_errors(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "t.csv", ["lon,lat,value,label", "1,2,3.5,a", "2,3,x,b", "3,4,4.5,a"])
    with pytest.raises(InputError, match=r"no column 'income' to use as --target \(columns: lon, lat, value, label\)"):
        load_custom_task(path, "income")
    with pytest.raises(InputError, match=r"row 1 has a non-numeric value 'x' in the regression target 'value'"):
        load_custom_task(path, "value", type="regression")
    with pytest.raises(InputError, match="unknown task type"):
        load_custom_task(path, "value", type="ordinal")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="does not exist"):
        load_custom_task(tmp_path / "missing.csv", "value")
    nolonlat = _write_csv(tmp_path / "n.csv", ["a,b,value", "1,2,3"])
    with pytest.raises(InputError, match="no geometry and no longitude/latitude columns"):
        load_custom_task(nolonlat, "value")


def test_custom_classification_needs_two_classes(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "t.csv", ["lon,lat,label", "1,2,a", "2,3,b", "3,4,a"])
    with pytest.raises(InputError, match="fewer than 2 classes"):
        load_custom_task(path, "label")


def test_custom_vector_file_with_polygons(tmp_path: Path) -> None:
    def square(x: float, y: float) -> list:
        return [[[x, y], [x + 1, y], [x + 1, y + 1], [x, y + 1], [x, y]]]

    features = [
        {
            "type": "Feature",
            "properties": {"kind": "forest" if i % 2 else "field", "yield": 1.5 + i * 0.37 if i != 4 else None},
            "geometry": {"type": "Polygon", "coordinates": square(10 + 2 * i, 50)},
        }
        for i in range(30)
    ]
    path = tmp_path / "parcels.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    kind = load_custom_task(path, "kind")
    assert kind.type == "classification" and kind.classes == ["field", "forest"] and kind.n == 30
    # one representative point inside each polygon
    x0 = 10 + 2 * np.arange(30)
    assert ((kind.lonlat[:, 0] > x0) & (kind.lonlat[:, 0] < x0 + 1)).all()
    assert ((kind.lonlat[:, 1] > 50) & (kind.lonlat[:, 1] < 51)).all()
    crop = load_custom_task(path, "yield")
    assert crop.type == "regression" and crop.n == 29 and crop.dropped_nan == 1
