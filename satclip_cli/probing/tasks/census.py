"""Census table tasks: ``california-housing`` (block groups) and ``median-income`` (US counties).

``median-income`` joins the USDA-ERS county income table to the 2019 Census Gazetteer's county
internal points on the FIPS code (the Gazetteer file has no header).
"""

from __future__ import annotations

from satclip_cli.probing.downloads import fetch
from satclip_cli.probing.tasks.data import TaskData, regression_data
from satclip_cli.probing.tasks.spec import DataDir, TaskSpec
from satclip_cli.probing.tasks.tables import read_csv, regression_rows, require_columns

HOUSING_TABLE = ("california_housing", "housing.csv")
"""1990 census block groups of California (``longitude``, ``latitude``, ``median_house_value`` in USD, ...)."""
INCOME_TABLE = ("median_income", "income.csv")
"""County median household income (``FIPS``, ``MedianIncome2016`` in USD with thousands separators, ...)."""
GAZETTEER_TABLE = ("median_income", "2019_Gaz_counties_national.txt")
"""2019 Census Gazetteer counties: ``GEOID`` and the internal point ``INTPTLONG``/``INTPTLAT`` (degrees)."""

GAZETTEER_COLUMNS = (
    "USPS", "GEOID", "ANSICODE", "NAME", "ALAND", "AWATER", "ALAND_SQMI", "AWATER_SQMI", "INTPTLAT", "INTPTLONG"
)  # fmt: skip
"""Columns of the header-less comma-separated 2019 Gazetteer counties file."""


def load_california_housing(spec: TaskSpec, data_dir: DataDir, n: int, seed: int) -> TaskData:
    """Median house value (USD) at each block group's (lon, lat)."""
    (table,) = spec.files
    path = fetch(*table, data_dir)
    frame = read_csv(path)
    lonlat, target, dropped = regression_rows(frame, "longitude", "latitude", "median_house_value", path)
    return regression_data(
        spec.name, spec.units, lonlat, target, dropped, f"{len(target):,} block groups of {path.name}"
    )


def load_median_income(spec: TaskSpec, data_dir: DataDir, n: int, seed: int) -> TaskData:
    """2016 median household income (USD) at each county's Gazetteer internal point."""
    import pandas as pd

    income_table, gazetteer_table = spec.files
    income_path = fetch(*income_table, data_dir)
    gazetteer_path = fetch(*gazetteer_table, data_dir)
    income = read_csv(income_path, dtype=str)
    gazetteer = read_csv(gazetteer_path, header=None, names=list(GAZETTEER_COLUMNS), dtype={"GEOID": str})
    column = "MedianIncome2016"
    for frame, needed, path in ((income, ("FIPS", column), income_path), (gazetteer, ("GEOID",), gazetteer_path)):
        require_columns(frame, needed, path)
    fips = pd.to_numeric(income["FIPS"], errors="coerce")
    counties = income[(fips % 1000 != 0) & fips.notna()].copy()  # FIPS 0 is the USA, multiples of 1000 states
    counties["GEOID"] = fips[counties.index].astype("int64").map("{:05d}".format)
    joined = counties.merge(gazetteer, on="GEOID", how="inner")
    joined[column] = pd.to_numeric(joined[column].str.replace(",", "", regex=False), errors="coerce")
    lonlat, target, dropped = regression_rows(joined, "INTPTLONG", "INTPTLAT", column, income_path)
    description = f"{len(target):,} of {len(counties):,} counties ({len(joined):,} with a Gazetteer point), {column}"
    return regression_data(spec.name, spec.units, lonlat, target, dropped, description)
