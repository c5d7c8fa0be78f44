"""Probe tasks: a registry of downstream datasets (:data:`TASKS`) and their loaders.

:func:`load_task` turns a task name into :class:`TaskData`: (lon, lat) points in degrees and a target
per point. :func:`load_custom_task` does the same for any vector file or CSV and a chosen column.

Where the points come from:

* fixed tables (``air-temperature``, ``precipitation``, ``california-housing``, ``median-income``,
  ``population``): one point per row of the source, rows with a missing target dropped and counted;
* sampled tasks (``elevation``, ``countries``, ``biomes``, ``ecoregions``, ``land-ocean``,
  ``checkerboard``): ``n_points`` area-uniform points (longitude uniform, sin(latitude) uniform),
  on land (the packaged 5' land mask) unless stated, drawn from
  :func:`~satclip_cli.geo.sphere_sampling.point_rng` ``(seed, <task stream>, 0)``: the same
  (task, seed, n_points) always gives the same points, and different tasks draw independent points.
  Polygon tasks label each point with the polygon containing it (shapely ``STRtree``; boundary points
  count as inside; where polygons overlap the first in file order wins); points in no polygon (coasts
  the simplified polygons miss, lakes, which the land mask counts as land) are dropped and counted.

Classification tasks drop classes with fewer than 2 points (a stratified split needs 2) and report them.
Source files come through :func:`satclip_cli.probing.downloads.fetch` (downloaded once, or ``data_dir``).
"""

from __future__ import annotations

import math
import os
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from satclip_cli.errors import InputError
from satclip_cli.geo.coordinates import validate_lonlat
from satclip_cli.probing.downloads import fetch

if TYPE_CHECKING:
    import pandas as pd

TaskType = Literal["regression", "classification"]
TASK_TYPES: tuple[TaskType, ...] = ("regression", "classification")

REGRESSION_METRICS = ("r2", "mse", "mae")
CLASSIFICATION_METRICS = ("accuracy", "macro_f1")

MIN_CLASS_SIZE = 2
"""Classes with fewer points are dropped (a stratified train/test split needs at least 2)."""

AUTO_REGRESSION_MIN_DISTINCT = 20
"""A numeric column with more distinct values than this (or any non-integer value) is a regression target."""

CHECKERBOARD_CELL_DEG = 30.0
"""Side of a checkerboard cell in degrees of longitude and latitude (see :func:`checkerboard_classes`)."""

LAND_OCEAN_GRID_DEG = 1.0
"""Spacing in degrees of the land-ocean test grid (cell centres of a regular lon/lat grid)."""


@dataclass(frozen=True)
class TaskSpec:
    """What a probe task is: source, citation, target and how it is scored.

    Attributes:
        name: the ``--task`` name, e.g. ``"air-temperature"``.
        title: a short human title.
        source: where the data come from (dataset, version, publisher).
        citation: the reference to cite.
        target: what is predicted.
        units: units of the regression target ("" for classification).
        type: ``"regression"`` or ``"classification"``.
        metrics: metric names, the primary one first (names as in ``probe_report``).
        files: ``(dataset, filename)`` pairs it reads through :func:`~satclip_cli.probing.downloads.fetch`.
        default_n_points: points drawn by default for sampled tasks; None for fixed tables.
        available: False for tasks registered but not implemented yet (see ``note``).
        note: caveats: how this version differs from the paper's, or why it is unavailable.
    """

    name: str
    title: str
    source: str
    citation: str
    target: str
    units: str
    type: TaskType
    metrics: tuple[str, ...]
    files: tuple[tuple[str, str], ...] = ()
    default_n_points: int | None = None
    available: bool = True
    note: str = ""

    @property
    def sampled(self) -> bool:
        """Whether the points are drawn at random (``n_points`` and ``seed`` apply)."""
        return self.default_n_points is not None


@dataclass
class TaskData:
    """Points and targets of one task, ready to be split and embedded.

    Attributes:
        name: task name (``"<file stem>:<column>"`` for a custom task).
        type: ``"regression"`` or ``"classification"``.
        lonlat: float64 ``[N, 2]`` (lon, lat) degrees, EPSG:4326, longitudes in [-180, 180].
        target: float64 ``[N]`` in :attr:`units` (regression) or int64 ``[N]`` indices into
            :attr:`classes` (classification).
        units: units of a regression target (e.g. ``"°C"``); ``""`` for classification.
        classes: class names for classification (``target`` indexes them), sorted when read from data
            (``land-ocean`` is ``["ocean", "land"]``, ``checkerboard`` ``["even", "odd"]``); None for regression.
        test_lonlat: float64 ``[M, 2]`` (lon, lat) degrees of a fixed test set that replaces a random
            test split (``land-ocean``: a regular grid), else None.
        test_target: ``[M]`` targets of the fixed test set (same dtype/meaning as ``target``), else None.
        test_weight: float64 ``[M]`` weights summing to 1 (proportional to the area each test point
            stands for), for area-weighted test metrics; None means equal weights.
        dropped_nan: rows dropped because the target was missing (NaN/empty) or unusable (e.g. a
            population of 0 for a log).
        dropped_unlabelled: sampled points dropped because they fell in no labelling polygon.
        dropped_classes: classes dropped for having fewer than :data:`MIN_CLASS_SIZE` points, with
            their point counts (those points are not in ``lonlat``).
        description: one line on where the points and targets come from.
    """

    name: str
    type: TaskType
    lonlat: np.ndarray
    target: np.ndarray
    units: str = ""
    classes: list[str] | None = None
    test_lonlat: np.ndarray | None = None
    test_target: np.ndarray | None = None
    test_weight: np.ndarray | None = None
    dropped_nan: int = 0
    dropped_unlabelled: int = 0
    dropped_classes: dict[str, int] = field(default_factory=dict)
    description: str = ""

    def __post_init__(self) -> None:
        if self.type not in TASK_TYPES:
            raise ValueError(f"task type must be one of {TASK_TYPES}, got {self.type!r}")
        _check_points(self.lonlat, self.target, self.type, self.classes, "")
        if (self.test_lonlat is None) != (self.test_target is None):
            raise ValueError("test_lonlat and test_target go together")
        if self.test_lonlat is not None:
            _check_points(self.test_lonlat, self.test_target, self.type, self.classes, "test_")
        if self.test_weight is not None and (
            self.test_lonlat is None or self.test_weight.shape != (len(self.test_lonlat),)
        ):
            raise ValueError("test_weight must be float64 [M] matching test_lonlat")

    @property
    def n(self) -> int:
        """Number of points ``N`` (without the fixed test set)."""
        return len(self.lonlat)

    @property
    def has_test_set(self) -> bool:
        """Whether the task comes with a fixed test set (``test_lonlat``)."""
        return self.test_lonlat is not None

    def warnings(self) -> list[str]:
        """One line per thing a user should know about dropped rows/points/classes (empty if none)."""
        lines = []
        if self.dropped_nan:
            lines.append(f"{self.name}: dropped {self.dropped_nan:,} rows with a missing or unusable target")
        if self.dropped_unlabelled:
            lines.append(f"{self.name}: dropped {self.dropped_unlabelled:,} sampled points that fall in no polygon")
        if self.dropped_classes:
            shown = ", ".join(f"{name!r} ({count})" for name, count in list(self.dropped_classes.items())[:10])
            more = f", ... ({len(self.dropped_classes)} classes)" if len(self.dropped_classes) > 10 else ""
            lines.append(f"{self.name}: dropped classes with fewer than {MIN_CLASS_SIZE} points: {shown}{more}")
        return lines


def _check_points(lonlat: np.ndarray, target: np.ndarray, kind: str, classes: list[str] | None, prefix: str) -> None:
    if not (isinstance(lonlat, np.ndarray) and lonlat.dtype == np.float64 and lonlat.ndim == 2):
        raise ValueError(f"{prefix}lonlat must be float64 [N, 2]")
    if lonlat.shape[1] != 2 or not isinstance(target, np.ndarray) or target.shape != (len(lonlat),):
        raise ValueError(f"{prefix}lonlat [N, 2] and {prefix}target [N] do not match")
    if kind == "regression":
        if target.dtype != np.float64 or classes is not None:
            raise ValueError("a regression target is float64 and has no classes")
    elif (
        target.dtype != np.int64
        or classes is None
        or (target.size and not 0 <= target.min() <= target.max() < len(classes))
    ):
        raise ValueError("a classification target is int64 indices into classes")


# ------------------------------------------------------------------------------------------- registry

_NE_COUNTRIES = ("natural_earth", "ne_110m_admin_0_countries.geojson")
_NE_PLACES = ("natural_earth", "ne_50m_populated_places_simple.geojson")
_HOOKER = (
    "Hooker, Duveiller & Cescatti (2018), A global dataset of air temperature derived from satellite remote "
    "sensing and weather stations, Scientific Data 5:180246"
)
_RESOLVE = (
    "Dinerstein et al. (2017), An ecoregion-based approach to protecting half the terrestrial realm, BioScience 67(6)"
)
_NATURAL_EARTH = "Natural Earth (public domain), naturalearthdata.com, v4.0.0"

TASKS: dict[str, TaskSpec] = {
    spec.name: spec
    for spec in (
        TaskSpec(
            "air-temperature",
            "Air temperature (station climatology)",
            "Hooker et al. 2018 station table, 3,076 stations (microsoft/satclip copy of figshare file 12609182)",
            _HOOKER,
            "long-term mean air temperature at the station (meanT)",
            "°C",
            "regression",
            REGRESSION_METRICS,
            (("air_temperature", "stationDataAll.csv"),),
        ),
        TaskSpec(
            "precipitation",
            "Precipitation (station climatology)",
            "Hooker et al. 2018 station table, 3,076 stations (microsoft/satclip copy of figshare file 12609182)",
            _HOOKER,
            "long-term mean annual precipitation at the station (meanP)",
            "mm/year",
            "regression",
            REGRESSION_METRICS,
            (("air_temperature", "stationDataAll.csv"),),
        ),
        TaskSpec(
            "california-housing",
            "California housing",
            "1990 US census block groups in California, 20,640 (StatLib cal_housing; ageron/data housing.csv)",
            "Pace & Barry (1997), Sparse spatial autoregressions, Statistics & Probability Letters 33(3)",
            "median house value of the block group (median_house_value, capped at 500,001)",
            "USD",
            "regression",
            REGRESSION_METRICS,
            (("california_housing", "housing.csv"),),
            note="target in USD, not sklearn's units of 100,000 USD",
        ),
        TaskSpec(
            "median-income",
            "US county median household income",
            "USDA-ERS county median household income 2016 (Jia & Benson's income.csv) at the 2019 Census "
            "Gazetteer county internal points; 3,140 counties with a point",
            "Jia & Benson (2020), Residual Correlation in Graph Neural Network Regression, KDD 2020",
            "median household income of the county in 2016 (MedianIncome2016)",
            "USD",
            "regression",
            REGRESSION_METRICS,
            (("median_income", "income.csv"), ("median_income", "2019_Gaz_counties_national.txt")),
            note="the counties are joined on FIPS; 02270, 46113 and 51515 have no 2019 Gazetteer point, and "
            "15005 (Kalawao, HI) has no 2016 value",
        ),
        TaskSpec(
            "elevation",
            "Elevation",
            "ETOPO5-derived 20' global relief grid (NOAA-PMEL FerretDatasets etopo20.cdf), bilinear at "
            "area-uniform land points",
            "NOAA NGDC (1988), ETOPO5 5-minute gridded elevations/bathymetry for the world",
            "surface relief at the point (land points, so mostly elevation above sea level)",
            "m",
            "regression",
            REGRESSION_METRICS,
            (("elevation", "etopo20.cdf"),),
            default_n_points=10_000,
            note="a public stand-in for the paper's elevation samples; land points as in the paper, though the "
            "grid also has bathymetry (coastal points can be below 0 m at 20' resolution)",
        ),
        TaskSpec(
            "population",
            "Population of cities",
            "Natural Earth 1:50m populated places (simple), 1,249 cities and towns",
            _NATURAL_EARTH,
            "log10 of the city's population (pop_max) at the city's point",
            "log10(persons)",
            "regression",
            REGRESSION_METRICS,
            (_NE_PLACES,),
            note="no gridded population data set is available here, so unlike the paper's population-density "
            "task this predicts city sizes at city points only; places with pop_max 0 are dropped",
        ),
        TaskSpec(
            "countries",
            "Countries",
            "Natural Earth 1:110m admin-0 countries (177 polygons) at area-uniform land points",
            _NATURAL_EARTH,
            "the country (ADM0_A3 code; ISO_A3 is -99 for France, Norway and others)",
            "",
            "classification",
            CLASSIFICATION_METRICS,
            (_NE_COUNTRIES,),
            default_n_points=10_000,
            note="land points outside the 1:110m polygons (small islands, some coasts, ~1.5 %) are dropped",
        ),
        TaskSpec(
            "biomes",
            "Biomes",
            "RESOLVE Ecoregions 2017, dissolved into 14 biomes + N/A (Rock and Ice), simplified geometry "
            "(marquetlab/GCM_compareR) at area-uniform land points",
            _RESOLVE,
            "the biome (BIOME_NAME)",
            "",
            "classification",
            CLASSIFICATION_METRICS,
            (("ecoregions", "biomes.shp"),),
            default_n_points=10_000,
        ),
        TaskSpec(
            "ecoregions",
            "Ecoregions",
            "RESOLVE Ecoregions 2017, 847 ecoregions, simplified geometry (marquetlab/GCM_compareR) at "
            "area-uniform land points",
            _RESOLVE,
            "the ecoregion (ECO_NAME)",
            "",
            "classification",
            CLASSIFICATION_METRICS,
            (("ecoregions", "Ecoregions2017.shp"),),
            default_n_points=10_000,
            note="small ecoregions get fewer than 2 points at small n_points and are dropped",
        ),
        TaskSpec(
            "land-ocean",
            "Land / ocean",
            "the packaged 5' land mask (GLOBE, lakes count as land): area-uniform random points anywhere for "
            "training and validation, a fixed test set on the regular 1° grid",
            "Rußwurm et al. (2024), Geographic location encoding with spherical harmonics and sinusoidal "
            "representation networks, ICLR 2024",
            "whether the point is on land",
            "",
            "classification",
            CLASSIFICATION_METRICS,
            default_n_points=10_000,
            note="the test set has all 64,800 1° cell centres (equal weights stress the poles, where cells are "
            "small); test_weight gives area weights",
        ),
        TaskSpec(
            "checkerboard",
            "Checkerboard on the sphere",
            "synthetic: two classes alternating on 30° x 30° lon/lat cells, one cell straddling the dateline, "
            "at area-uniform points anywhere",
            "after Rußwurm et al. (2024), ICLR 2024",
            "the colour of the checkerboard cell ('even' or 'odd')",
            "",
            "classification",
            CLASSIFICATION_METRICS,
            default_n_points=10_000,
            note="classes are balanced by construction; errors concentrate at the poles and the dateline for "
            "encoders that break down there",
        ),
        TaskSpec(
            "inaturalist-2018",
            "iNaturalist 2018 species (with image features)",
            "iNaturalist 2018 train/val locations + image features",
            "Van Horn et al. (2018), The iNaturalist species classification and detection dataset, CVPR 2018",
            "the species (category_id), from location and image features",
            "",
            "classification",
            ("accuracy",),
            available=False,
            note="not available yet: the locations and image features are not in a pinned public source here; "
            "a later step",
        ),
    )
}
"""Task name -> :class:`TaskSpec`, in the order of the paper's tables then the location-encoder tasks."""


def task_spec(name: str) -> TaskSpec:
    """The spec of task ``name``.

    Raises:
        InputError: for an unknown name (the message lists the known names).
    """
    spec = TASKS.get(name)
    if spec is None:
        raise InputError(f"unknown task {name!r}; known tasks: {', '.join(TASKS)} (or --data FILE --target COLUMN)")
    return spec


def load_task(
    name: str,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    n_points: int | None = None,
    seed: int = 0,
) -> TaskData:
    """Load a registered task.

    Args:
        name: a key of :data:`TASKS`.
        data_dir: folder with local copies laid out as ``data_dir/<dataset>/<file>``; None downloads
            (once) into the cache, see :func:`~satclip_cli.probing.downloads.fetch`.
        n_points: points to draw for sampled tasks (default :attr:`TaskSpec.default_n_points`); fewer
            may be returned after dropping points in no polygon or rare classes. Ignored by fixed tables.
        seed: seed of the point sampling (ignored by fixed tables).

    Returns:
        The task's :class:`TaskData`.

    Raises:
        InputError: unknown or unavailable task, bad ``n_points``/``seed``, missing local files.
        OfflineError: a source file had to be downloaded and could not be.
    """
    spec = task_spec(name)
    if not spec.available:
        raise InputError(f"task {name!r} is not available yet: {spec.note}")
    if spec.sampled:
        n = spec.default_n_points if n_points is None else int(n_points)
        if n is None or n < 1:
            raise InputError(f"--n-points must be at least 1, got {n_points}")
        if int(seed) < 0:
            raise InputError(f"the seed must be a non-negative integer, got {seed}")
    else:
        n = 0
    return _LOADERS[name](spec, data_dir, n, int(seed))


# ------------------------------------------------------------------------------------------- loaders

DataDir = str | os.PathLike[str] | None
Loader = Callable[[TaskSpec, DataDir, int, int], TaskData]
"""``loader(spec, data_dir, n_points, seed) -> TaskData``."""


def _load_station_table(column: str) -> Loader:
    def load(spec: TaskSpec, data_dir: DataDir, n: int, seed: int) -> TaskData:
        path = fetch("air_temperature", "stationDataAll.csv", data_dir)
        frame = _read_csv(path)
        lonlat, target, dropped = _regression_rows(frame, "Lon", "Lat", column, path)
        return _regression(
            spec.name, spec.units, lonlat, target, dropped, f"{len(target):,} stations of {path.name}, {column}"
        )

    return load


def _load_california_housing(spec: TaskSpec, data_dir: DataDir, n: int, seed: int) -> TaskData:
    path = fetch("california_housing", "housing.csv", data_dir)
    frame = _read_csv(path)
    lonlat, target, dropped = _regression_rows(frame, "longitude", "latitude", "median_house_value", path)
    return _regression(spec.name, spec.units, lonlat, target, dropped, f"{len(target):,} block groups of {path.name}")


GAZETTEER_COLUMNS = (
    "USPS", "GEOID", "ANSICODE", "NAME", "ALAND", "AWATER", "ALAND_SQMI", "AWATER_SQMI", "INTPTLAT", "INTPTLONG"
)  # fmt: skip
"""Columns of the header-less comma-separated 2019 Gazetteer counties file."""


def _load_median_income(spec: TaskSpec, data_dir: DataDir, n: int, seed: int) -> TaskData:
    import pandas as pd

    income_path = fetch("median_income", "income.csv", data_dir)
    gazetteer_path = fetch("median_income", "2019_Gaz_counties_national.txt", data_dir)
    income = _read_csv(income_path, dtype=str)
    gazetteer = _read_csv(gazetteer_path, header=None, names=list(GAZETTEER_COLUMNS), dtype={"GEOID": str})
    column = "MedianIncome2016"
    for frame, needed, path in ((income, ("FIPS", column), income_path), (gazetteer, ("GEOID",), gazetteer_path)):
        _require_columns(frame, needed, path)
    fips = pd.to_numeric(income["FIPS"], errors="coerce")
    counties = income[(fips % 1000 != 0) & fips.notna()].copy()  # FIPS 0 is the USA, multiples of 1000 states
    counties["GEOID"] = fips[counties.index].astype("int64").map("{:05d}".format)
    joined = counties.merge(gazetteer, on="GEOID", how="inner")
    joined[column] = pd.to_numeric(joined[column].str.replace(",", "", regex=False), errors="coerce")
    lonlat, target, dropped = _regression_rows(joined, "INTPTLONG", "INTPTLAT", column, income_path)
    description = f"{len(target):,} of {len(counties):,} counties ({len(joined):,} with a Gazetteer point), {column}"
    return _regression(spec.name, spec.units, lonlat, target, dropped, description)


def _load_population(spec: TaskSpec, data_dir: DataDir, n: int, seed: int) -> TaskData:
    path = fetch(*_NE_PLACES, data_dir)
    frame = _read_vector(path, ["pop_max"])
    lonlat = validate_lonlat(_point_coordinates(frame.geometry.to_numpy()), what=str(path))
    pop = frame["pop_max"].to_numpy(dtype=np.float64, na_value=np.nan)
    usable = np.isfinite(pop) & (pop > 0)
    target = np.log10(pop[usable])
    description = f"{int(usable.sum()):,} populated places of {path.name}, log10(pop_max)"
    return _regression(spec.name, spec.units, lonlat[usable], target, int((~usable).sum()), description)


def _load_elevation(spec: TaskSpec, data_dir: DataDir, n: int, seed: int) -> TaskData:
    lonlat = sample_points(spec.name, n, seed, land_only=True)
    target = relief_at(lonlat, data_dir=data_dir)
    return _regression(
        spec.name, spec.units, lonlat, target, 0, f"{n:,} area-uniform land points (seed {seed}), ETOPO5 20' relief"
    )


def _polygon_task(dataset: str, filename: str, column: str, encoding: str | None) -> Loader:
    def load(spec: TaskSpec, data_dir: DataDir, n: int, seed: int) -> TaskData:
        geoms, names = read_polygons(dataset, filename, column, data_dir, encoding=encoding)
        lonlat = sample_points(spec.name, n, seed, land_only=True)
        index = polygon_index(lonlat, geoms)
        labels = np.where(index >= 0, names[np.maximum(index, 0)], "")
        inside = labels != ""
        description = f"{n:,} area-uniform land points (seed {seed}) labelled by {column} of {filename}"
        return _classification(spec.name, lonlat[inside], labels[inside], 0, int((~inside).sum()), description)

    return load


def _load_land_ocean(spec: TaskSpec, data_dir: DataDir, n: int, seed: int) -> TaskData:
    from satclip_cli.geo.land_mask import load_land_mask

    mask = load_land_mask()
    lonlat = sample_points(spec.name, n, seed, land_only=False)
    test_lonlat, test_weight = regular_grid(LAND_OCEAN_GRID_DEG)
    return TaskData(
        name=spec.name,
        type="classification",
        lonlat=lonlat,
        target=mask.is_land(lonlat[:, 0], lonlat[:, 1]).astype(np.int64),
        classes=["ocean", "land"],
        test_lonlat=test_lonlat,
        test_target=mask.is_land(test_lonlat[:, 0], test_lonlat[:, 1]).astype(np.int64),
        test_weight=test_weight,
        description=f"{n:,} area-uniform points anywhere (seed {seed}); test: {len(test_lonlat):,} "
        f"{LAND_OCEAN_GRID_DEG:g}° grid cell centres; labels from the 5' land mask",
    )


def _load_checkerboard(spec: TaskSpec, data_dir: DataDir, n: int, seed: int) -> TaskData:
    lonlat = sample_points(spec.name, n, seed, land_only=False)
    return TaskData(
        name=spec.name,
        type="classification",
        lonlat=lonlat,
        target=checkerboard_classes(lonlat, CHECKERBOARD_CELL_DEG),
        classes=["even", "odd"],
        description=f"{n:,} area-uniform points anywhere (seed {seed}), {CHECKERBOARD_CELL_DEG:g}° checkerboard",
    )


_LOADERS: dict[str, Loader] = {
    "air-temperature": _load_station_table("meanT"),
    "precipitation": _load_station_table("meanP"),
    "california-housing": _load_california_housing,
    "median-income": _load_median_income,
    "elevation": _load_elevation,
    "population": _load_population,
    "countries": _polygon_task(*_NE_COUNTRIES, "ADM0_A3", None),
    "biomes": _polygon_task("ecoregions", "biomes.shp", "BIOME_NAME", "latin1"),
    "ecoregions": _polygon_task("ecoregions", "Ecoregions2017.shp", "ECO_NAME", "latin1"),
    "land-ocean": _load_land_ocean,
    "checkerboard": _load_checkerboard,
}


# ------------------------------------------------------------------------------------------- custom tasks


def load_custom_task(
    path: str | os.PathLike[str],
    target_column: str,
    type: TaskType | None = None,
    lon_col: str | None = None,
    lat_col: str | None = None,
) -> TaskData:
    """A task from any vector file or table: one point per row, the target from ``target_column``.

    The file is read with :func:`satclip_cli.geo.vector_input.open_point_source`: any OGR vector format,
    GeoParquet, or CSV/TSV with lon/lat columns (detected by name, or ``lon_col``/``lat_col``) or WKT.
    Points are used as they are; polygons and lines give one representative point inside/on them.

    Args:
        path: the file.
        target_column: the column to predict (case-insensitive if unambiguous).
        type: ``"regression"`` or ``"classification"``; None detects it: a numeric column with more than
            :data:`AUTO_REGRESSION_MIN_DISTINCT` distinct values, or with a non-integer value, is a
            regression target, anything else (text, booleans, few integer codes) a classification one.
        lon_col, lat_col: longitude/latitude columns (degrees) of a table.

    Returns:
        :class:`TaskData` named ``"<file stem>:<column>"``. Rows with a missing target (and, for
        regression, a non-finite one) are dropped and counted in ``dropped_nan``; classes with fewer
        than :data:`MIN_CLASS_SIZE` rows are dropped and listed in ``dropped_classes``.

    Raises:
        InputError: unreadable file, no such column (the message lists the columns), a non-numeric
            value in a regression target (naming the row), an unknown ``type``, or nothing left.
    """
    import pandas as pd

    from satclip_cli.geo.vector_input import open_point_source

    path = Path(path)
    if type is not None and type not in TASK_TYPES:
        raise InputError(f"unknown task type {type!r}; use regression or classification")
    source = open_point_source(path, lon_col=lon_col, lat_col=lat_col, polygon_mode="representative")
    column = _find_column(source.columns, target_column, path, exclude=source.geometry_column)
    values, points = [], []
    for chunk in source.iter_chunks():
        values.append(chunk.attributes[column].reset_index(drop=True))
        points.append(chunk.lonlat)
    series = pd.concat(values, ignore_index=True)
    lonlat = np.concatenate(points).astype(np.float64)
    kind = type or _infer_type(series)
    name = f"{path.stem}:{column}"
    if kind == "regression":
        numbers = _numeric_target(series, column, path)
        usable = np.isfinite(numbers)
        description = f"{int(usable.sum()):,} rows of {path.name}, column {column}"
        return _regression(name, "", lonlat[usable], numbers[usable], int((~usable).sum()), description)
    labels = _label_strings(series)
    present = labels != ""
    description = f"{int(present.sum()):,} rows of {path.name}, classes from column {column}"
    return _classification(name, lonlat[present], labels[present], int((~present).sum()), 0, description)


def _find_column(columns: list[str], wanted: str, path: Path, exclude: str | None) -> str:
    candidates = [name for name in columns if name != exclude]
    if wanted in candidates:
        return wanted
    folded = [name for name in candidates if name.lower() == wanted.lower()]
    if len(folded) == 1:
        return folded[0]
    listing = ", ".join(candidates[:30]) + (", ..." if len(candidates) > 30 else "")
    raise InputError(f"{path}: no column {wanted!r} to use as --target (columns: {listing or 'none'})")


def _infer_type(series: pd.Series) -> TaskType:
    """Regression for numeric columns with many distinct or non-integer values, else classification."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(series.dtype):
        return "classification"
    present = series.dropna()
    if present.dtype.kind in "iuf":
        numbers = present.to_numpy(dtype=np.float64)
    else:
        text = present.astype(str).str.strip()
        parsed = pd.to_numeric(text[text != ""], errors="coerce")
        if parsed.isna().any():
            return "classification"
        numbers = parsed.to_numpy(dtype=np.float64)
    numbers = numbers[np.isfinite(numbers)]
    if numbers.size == 0:
        return "classification"
    non_integer = bool((numbers != np.round(numbers)).any())
    return "regression" if non_integer or len(np.unique(numbers)) > AUTO_REGRESSION_MIN_DISTINCT else "classification"


def _numeric_target(series: pd.Series, column: str, path: Path) -> np.ndarray:
    """A regression target as float64 (missing -> NaN), naming the first non-numeric row."""
    import pandas as pd

    if series.dtype.kind in "iuf":
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    text = series.astype("string").str.strip()
    missing = text.isna() | (text == "")
    numbers = pd.to_numeric(text.mask(missing), errors="coerce")
    bad = numbers.isna() & ~missing
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"{path}: row {row} has a non-numeric value {series.iloc[row]!r} in the regression target {column!r}; "
            "pass --type classification to treat it as classes"
        )
    return numbers.to_numpy(dtype=np.float64, na_value=np.nan)


def _label_strings(series: pd.Series) -> np.ndarray:
    """Class labels as a str array (``""`` = missing); integral floats lose their ``.0`` (``3.0`` -> ``"3"``)."""

    def text(value: object) -> str:
        if isinstance(value, float | np.floating):
            if not math.isfinite(value):
                return ""
            return str(int(value)) if float(value).is_integer() else str(value)
        return str(value).strip()

    present = series.notna().to_numpy()
    return np.array([text(v) if ok else "" for v, ok in zip(series.tolist(), present, strict=True)], dtype=str)


# ------------------------------------------------------------------------------------------- building blocks


def sample_points(task: str, n: int, seed: int, *, land_only: bool) -> np.ndarray:
    """``n`` area-uniform points for ``task``, reproducible from (task, seed).

    The generator is :func:`~satclip_cli.geo.sphere_sampling.point_rng` ``(seed, crc32(task), 0)``.

    Returns:
        float64 ``[n, 2]`` (lon, lat) degrees.
    """
    from satclip_cli.geo.sphere_sampling import SamplingArea, point_rng

    stream = zlib.crc32(task.encode()) & 0x7FFFFFFF
    return SamplingArea(land_only=land_only).draw(point_rng(seed, stream, 0), n)


def polygon_index(lonlat: np.ndarray, polygons: np.ndarray) -> np.ndarray:
    """Which polygon contains each point (boundary included): the first in ``polygons`` order, or -1.

    Args:
        lonlat: float64 ``[N, 2]`` (lon, lat) degrees.
        polygons: object ``[P]`` of valid shapely (Multi)Polygons in lon/lat degrees.

    Returns:
        int64 ``[N]`` polygon indices, -1 for points in none.
    """
    import shapely

    points = shapely.points(np.asarray(lonlat, dtype=np.float64))
    hit_point, hit_polygon = shapely.STRtree(polygons).query(points, predicate="intersects")
    out = np.full(len(points), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(out, hit_point, hit_polygon.astype(np.int64))
    out[out == np.iinfo(np.int64).max] = -1
    return out


def regular_grid(step_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """Cell centres of the regular lon/lat grid with ``step_deg`` cells and their area weights.

    Returns:
        ``lonlat`` float64 ``[M, 2]`` (lon, lat) degrees, latitude rows from south to north, longitudes
        west to east within a row (``M = (360 / step) * (180 / step)``), and ``weight`` float64 ``[M]``,
        each cell's share of the sphere's area (sums to 1).

    Raises:
        InputError: if ``step_deg`` does not divide 180.
    """
    rows = 180.0 / step_deg
    if not (step_deg > 0 and math.isclose(rows, round(rows))):
        raise InputError(f"the grid step must divide 180 degrees, got {step_deg:g}")
    rows = round(rows)
    lat_edges = np.linspace(-90.0, 90.0, rows + 1)
    lon_centres = -180.0 + step_deg * (np.arange(2 * rows) + 0.5)
    lat_centres = 0.5 * (lat_edges[:-1] + lat_edges[1:])
    band = np.diff(np.sin(np.radians(lat_edges)))  # area of a latitude band, up to a constant
    lon, lat = np.meshgrid(lon_centres, lat_centres)
    weight = np.repeat(band / band.sum() / (2 * rows), 2 * rows)
    return np.column_stack([lon.ravel(), lat.ravel()]), weight


def checkerboard_classes(lonlat: np.ndarray, cell_deg: float = CHECKERBOARD_CELL_DEG) -> np.ndarray:
    """Colour (0 or 1) of the lon/lat checkerboard cell of each point.

    Cells are ``cell_deg`` x ``cell_deg`` degrees. Latitude rows start at the equator (a row edge), so
    the polar rows are rings of ``360 / cell_deg`` wedges that alternate in colour and meet at the pole:
    near a pole the class flips within a few kilometres, which an encoder with a singularity or too little
    resolution there gets wrong. Longitude columns are shifted by half a cell, so one cell straddles the
    dateline (``179.9`` and ``-179.9`` share a colour): an encoder that is discontinuous at +-180 must
    split that cell. ``360 / cell_deg`` is even, so the board alternates consistently all the way round
    and the two colours cover exactly half the sphere each.

    Args:
        lonlat: float64 ``[N, 2]`` (lon, lat) degrees.
        cell_deg: cell side; ``180 / cell_deg`` must be an integer.

    Returns:
        int64 ``[N]``: ``(column + row) mod 2``.

    Raises:
        InputError: if ``cell_deg`` does not divide 180.
    """
    rows = 180.0 / cell_deg
    if not (cell_deg > 0 and math.isclose(rows, round(rows))):
        raise InputError(f"the checkerboard cell must divide 180 degrees, got {cell_deg:g}")
    lonlat = np.asarray(lonlat, dtype=np.float64)
    column = np.floor((lonlat[:, 0] + cell_deg / 2.0) / cell_deg).astype(np.int64)
    row = np.floor(lonlat[:, 1] / cell_deg).astype(np.int64)
    row = np.clip(row, -round(rows) // 2, round(rows) // 2 - 1)  # the poles belong to the polar rows
    return (column + row) % 2


def relief_at(lonlat: np.ndarray, *, data_dir: str | os.PathLike[str] | None = None) -> np.ndarray:
    """Surface relief (elevation on land, bathymetry at sea) from the 20' ETOPO5-derived grid.

    The grid ``ROSE(ETOPO20Y=540, ETOPO20X1_1081=1081)`` has cell centres every 1/3 degree, longitudes
    from 20.1667 to 380.1667 degrees east (shifted, with a repeated wrap column, so the longitude is
    taken modulo 360) and latitudes -89.83..89.83. Values are interpolated bilinearly between the four
    surrounding centres (across the dateline too); beyond the outermost latitude rows the nearest row is used.

    Args:
        lonlat: float64 ``[N, 2]`` (lon, lat) degrees.
        data_dir: local copies (``data_dir/elevation/etopo20.cdf``), else downloaded once.

    Returns:
        float64 ``[N]`` metres above (or below, negative) sea level.
    """
    lon_axis, lat_axis, grid = _etopo20(fetch("elevation", "etopo20.cdf", data_dir))
    lonlat = np.asarray(lonlat, dtype=np.float64).reshape(-1, 2)
    step = lon_axis[1] - lon_axis[0]
    x = np.mod(lonlat[:, 0] - lon_axis[0], 360.0) / step
    x0 = np.minimum(np.floor(x).astype(np.int64), len(lon_axis) - 2)
    fx = x - x0
    lat_step = lat_axis[1] - lat_axis[0]
    y = np.clip((lonlat[:, 1] - lat_axis[0]) / lat_step, 0.0, len(lat_axis) - 1.0)
    y0 = np.minimum(np.floor(y).astype(np.int64), len(lat_axis) - 2)
    fy = y - y0
    low = grid[y0, x0] * (1 - fx) + grid[y0, x0 + 1] * fx
    high = grid[y0 + 1, x0] * (1 - fx) + grid[y0 + 1, x0 + 1] * fx
    return low * (1 - fy) + high * fy


def _etopo20(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lon axis [1081], lat axis [540], relief float64 [540, 1081]) of ``etopo20.cdf``."""
    from scipy.io import netcdf_file

    try:
        with netcdf_file(path, "r", mmap=False) as data:
            lon = np.array(data.variables["ETOPO20X1_1081"][:], dtype=np.float64)
            lat = np.array(data.variables["ETOPO20Y"][:], dtype=np.float64)
            grid = np.array(data.variables["ROSE"][:], dtype=np.float64)
    except (OSError, KeyError, TypeError, ValueError) as error:
        raise InputError(f"cannot read the relief grid {path}: {' '.join(str(error).split())}") from None
    if grid.shape != (len(lat), len(lon)) or not np.isclose(lon[-1] - lon[0], 360.0) or (grid < -1e30).any():
        raise InputError(f"{path} is not the expected 20' global relief grid (ROSE {grid.shape})")
    return lon, lat, grid


def _regression_rows(
    frame: pd.DataFrame, lon_column: str, lat_column: str, column: str, path: Path
) -> tuple[np.ndarray, np.ndarray, int]:
    """(lonlat [N, 2], finite target [N], dropped count) from a table's columns."""
    import pandas as pd

    _require_columns(frame, (lon_column, lat_column, column), path)
    lonlat = validate_lonlat(frame[[lon_column, lat_column]].to_numpy(dtype=np.float64), what=str(path))
    target = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    usable = np.isfinite(target)
    return lonlat[usable], target[usable], int((~usable).sum())


def _regression(
    name: str, units: str, lonlat: np.ndarray, target: np.ndarray, dropped: int, description: str
) -> TaskData:
    if len(target) == 0:
        raise InputError(f"{name}: no rows with a usable target")
    return TaskData(
        name=name,
        type="regression",
        lonlat=np.ascontiguousarray(lonlat, dtype=np.float64),
        target=np.ascontiguousarray(target, dtype=np.float64),
        units=units,
        dropped_nan=dropped,
        description=description,
    )


def _classification(
    name: str, lonlat: np.ndarray, labels: np.ndarray, dropped_nan: int, dropped_unlabelled: int, description: str
) -> TaskData:
    """Encode string labels as sorted class indices, dropping classes with fewer than MIN_CLASS_SIZE points."""
    classes, inverse, counts = np.unique(labels.astype(str), return_inverse=True, return_counts=True)
    rare = counts < MIN_CLASS_SIZE
    dropped = {str(classes[i]): int(counts[i]) for i in np.flatnonzero(rare)}
    keep = ~rare[inverse]
    kept_classes = classes[~rare]
    if len(kept_classes) < 2:
        raise InputError(
            f"{name}: fewer than 2 classes with at least {MIN_CLASS_SIZE} points ({len(classes)} classes in "
            f"{len(labels):,} points); a classification task needs more"
        )
    remap = np.cumsum(~rare) - 1
    return TaskData(
        name=name,
        type="classification",
        lonlat=np.ascontiguousarray(lonlat[keep], dtype=np.float64),
        target=remap[inverse[keep]].astype(np.int64),
        classes=[str(c) for c in kept_classes],
        dropped_nan=dropped_nan,
        dropped_unlabelled=dropped_unlabelled,
        dropped_classes=dropped,
        description=description,
    )


def _read_csv(path: Path, **options: Any) -> pd.DataFrame:
    import pandas as pd

    try:
        return pd.read_csv(path, **options)
    except (OSError, ValueError, pd.errors.ParserError) as error:
        raise InputError(f"cannot read {path}: {' '.join(str(error).split())}") from None


def _require_columns(frame: pd.DataFrame, columns: tuple[str, ...], path: Path) -> None:
    missing = [name for name in columns if name not in frame.columns]
    if missing:
        listing = ", ".join(map(str, frame.columns))
        raise InputError(f"{path} has no column {', '.join(map(repr, missing))} (columns: {listing})")


def read_polygons(
    dataset: str, filename: str, column: str, data_dir: DataDir = None, *, encoding: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The polygons of a registered vector file and one attribute of each.

    Args:
        dataset, filename: the file, fetched with :func:`~satclip_cli.probing.downloads.fetch`.
        column: the attribute to return (e.g. ``"ADM0_A3"``).
        data_dir: local copies, else downloaded once.
        encoding: attribute encoding for files that do not declare one (``"latin1"`` for RESOLVE).

    Returns:
        ``geoms`` object ``[P]`` of valid shapely geometries in EPSG:4326 (lon, lat) degrees (invalid ones
        repaired with ``make_valid``; a missing geometry becomes an empty polygon), and ``labels`` str
        ``[P]`` (``""`` where the attribute is missing).
    """
    path = fetch(dataset, filename, data_dir)
    frame = _read_vector(path, [column], encoding=encoding)
    values = frame[column]
    labels = np.array([str(v).strip() if ok else "" for v, ok in zip(values, values.notna(), strict=True)], dtype=str)
    return _valid_polygons(frame.geometry.to_numpy()), labels


def _read_vector(path: Path, columns: list[str], encoding: str | None = None) -> Any:
    """A GeoDataFrame with ``columns`` and the geometry, in EPSG:4326 (a file without a CRS is taken as such)."""
    import warnings

    import geopandas as gpd
    from pyproj import CRS

    options = {} if encoding is None else {"encoding": encoding}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = gpd.read_file(path, columns=columns, **options)
    except Exception as error:  # pyogrio raises several error types
        raise InputError(f"cannot read {path}: {' '.join(str(error).split())}") from None
    missing = [name for name in columns if name not in frame.columns]
    if missing or not isinstance(frame, gpd.GeoDataFrame):
        raise InputError(f"{path} has no geometry or no column {', '.join(map(repr, missing))}")
    if frame.crs is not None and not frame.crs.equals(CRS.from_epsg(4326), ignore_axis_order=True):
        frame = frame.to_crs(4326)
    return frame


def _valid_polygons(geoms: np.ndarray) -> np.ndarray:
    """Repair invalid polygons (``make_valid``) so point-in-polygon tests are reliable; empty for missing."""
    import shapely

    geoms = np.asarray(geoms, dtype=object).copy()
    missing = shapely.is_missing(geoms)
    geoms[missing] = shapely.Polygon()
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        geoms[invalid] = shapely.make_valid(geoms[invalid])
    return geoms


def _point_coordinates(geoms: np.ndarray) -> np.ndarray:
    """float64 ``[N, 2]`` (x, y) of point geometries (a representative point for anything else)."""
    from satclip_cli.geo.vector_input import representative_points

    return representative_points(np.asarray(geoms, dtype=object))
