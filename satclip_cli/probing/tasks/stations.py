"""Station climatology tasks (``air-temperature``, ``precipitation``): one point per weather station.

The source is the Hooker et al. (2018) table of 3,076 stations, one column per long-term mean.
"""

from __future__ import annotations

from satclip_cli.probing.downloads import fetch
from satclip_cli.probing.tasks.data import TaskData, regression_data
from satclip_cli.probing.tasks.spec import DataDir, Loader, TaskSpec
from satclip_cli.probing.tasks.tables import read_csv, regression_rows

STATION_TABLE = ("air_temperature", "stationDataAll.csv")
"""The station table (``Lon``, ``Lat``, ``meanT`` in °C, ``meanP`` in mm/year, ...)."""


def station_climatology(column: str) -> Loader:
    """A loader of the station table's ``column`` as a regression target at each station's (lon, lat)."""

    def load(spec: TaskSpec, data_dir: DataDir, n: int, seed: int) -> TaskData:
        (table,) = spec.files
        path = fetch(*table, data_dir)
        frame = read_csv(path)
        lonlat, target, dropped = regression_rows(frame, "Lon", "Lat", column, path)
        return regression_data(
            spec.name, spec.units, lonlat, target, dropped, f"{len(target):,} stations of {path.name}, {column}"
        )

    return load
