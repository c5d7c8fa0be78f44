"""The registry of probe tasks: :data:`TASKS`, one :class:`~satclip_cli.probing.tasks.spec.TaskSpec` per task
holding its description, source files and loader, and :func:`load_task`.
"""

from __future__ import annotations

import os

from satclip_cli.errors import InputError, setting
from satclip_cli.probing.continents import COUNTRIES_FILE
from satclip_cli.probing.tasks.census import (
    GAZETTEER_TABLE,
    HOUSING_TABLE,
    INCOME_TABLE,
    load_california_housing,
    load_median_income,
)
from satclip_cli.probing.tasks.data import TaskData
from satclip_cli.probing.tasks.elevation import RELIEF_GRID, load_elevation
from satclip_cli.probing.tasks.population import PLACES_FILE, load_population
from satclip_cli.probing.tasks.regions import BIOMES_FILE, ECOREGIONS_FILE, RESOLVE_ENCODING, polygon_labels
from satclip_cli.probing.tasks.spec import CLASSIFICATION_METRICS, REGRESSION_METRICS, TaskSpec
from satclip_cli.probing.tasks.stations import STATION_TABLE, station_climatology
from satclip_cli.probing.tasks.synthetic import load_checkerboard, load_land_ocean

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
            (STATION_TABLE,),
            loader=station_climatology("meanT"),
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
            (STATION_TABLE,),
            loader=station_climatology("meanP"),
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
            (HOUSING_TABLE,),
            note="target in USD, not sklearn's units of 100,000 USD",
            loader=load_california_housing,
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
            (INCOME_TABLE, GAZETTEER_TABLE),
            note="the counties are joined on FIPS; 02270, 46113 and 51515 have no 2019 Gazetteer point, and "
            "15005 (Kalawao, HI) has no 2016 value",
            loader=load_median_income,
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
            (RELIEF_GRID,),
            default_n_points=10_000,
            note="a public stand-in for the paper's elevation samples; land points as in the paper, though the "
            "grid also has bathymetry (coastal points can be below 0 m at 20' resolution)",
            loader=load_elevation,
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
            (PLACES_FILE,),
            note="no gridded population data set is available here, so unlike the paper's population-density "
            "task this predicts city sizes at city points only; places with pop_max 0 are dropped",
            loader=load_population,
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
            (COUNTRIES_FILE,),
            default_n_points=10_000,
            note="land points outside the 1:110m polygons (small islands, some coasts, ~1.5 %) are dropped",
            loader=polygon_labels("ADM0_A3"),
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
            (BIOMES_FILE,),
            default_n_points=10_000,
            loader=polygon_labels("BIOME_NAME", encoding=RESOLVE_ENCODING),
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
            (ECOREGIONS_FILE,),
            default_n_points=10_000,
            note="small ecoregions get fewer than 2 points at small n_points and are dropped",
            loader=polygon_labels("ECO_NAME", encoding=RESOLVE_ENCODING),
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
            loader=load_land_ocean,
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
            loader=load_checkerboard,
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
        raise InputError(
            f"unknown task {name!r}; known tasks: {', '.join(TASKS)} "
            f"(or {setting('data')} FILE {setting('target')} COLUMN)"
        )
    return spec


def available_tasks() -> tuple[str, ...]:
    """Every registered task whose data this version can load, in registry order."""
    return tuple(name for name, spec in TASKS.items() if spec.available)


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
        The task's :class:`~satclip_cli.probing.tasks.data.TaskData`.

    Raises:
        InputError: unknown or unavailable task, bad ``n_points``/``seed``, missing local files.
        OfflineError: a source file had to be downloaded and could not be.
    """
    spec = task_spec(name)
    if not spec.available or spec.loader is None:
        raise InputError(f"task {name!r} is not available yet: {spec.note}")
    if spec.sampled:
        n = spec.default_n_points if n_points is None else int(n_points)
        if n is None or n < 1:
            raise InputError(f"{setting('n_points')} must be at least 1, got {n_points}")
        if int(seed) < 0:
            raise InputError(f"the seed must be a non-negative integer, got {seed}")
    else:
        n = 0
    return spec.loader(spec, data_dir, n, int(seed))
