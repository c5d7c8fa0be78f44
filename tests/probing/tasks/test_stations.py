"""Station climatology tasks (satclip_cli.probing.tasks.stations) from the station table (tests/data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from satclip_cli.probing.tasks import load_task
from tests.probing.tasks.helpers import check_points


def test_air_temperature_and_precipitation(data_dir: Path) -> None:
    temperature = load_task("air-temperature", data_dir=data_dir)
    precipitation = load_task("precipitation", data_dir=data_dir)
    for data in (temperature, precipitation):
        check_points(data)
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
