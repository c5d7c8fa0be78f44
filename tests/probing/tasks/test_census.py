"""Census table tasks (satclip_cli.probing.tasks.census) from the test copies of their sources (tests/data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from satclip_cli.probing.tasks import load_custom_task, load_task
from tests.probing.tasks.helpers import check_points


def test_california_housing(data_dir: Path) -> None:
    data = load_task("california-housing", data_dir=data_dir)
    check_points(data)
    assert data.n == 2064 and data.units == "USD"  # every 10th of the 20,640 block groups (tests/data)
    assert data.target.min() == 27500 and data.target.max() == 500001  # USD, capped; not units of 100k
    lon, lat = data.lonlat.T
    assert lon.min() > -124.36 and lon.max() < -114.3 and lat.min() > 32.5 and lat.max() < 41.96
    assert data.lonlat[0].tolist() == [-122.23, 37.88] and data.target[0] == 452600


def test_median_income_joins_counties_to_their_gazetteer_points(data_dir: Path) -> None:
    data = load_task("median-income", data_dir=data_dir)
    check_points(data)
    # tests/data has the 301 counties of AL, AK, HI, SD and VA; 3 of them have no 2019 Gazetteer point
    assert data.n + data.dropped_nan == 298 and data.dropped_nan == 1  # Kalawao (HI) has no 2016 value
    assert data.units == "USD" and data.target.min() > 20_000 and data.target.max() < 140_000
    # Autauga County, AL (01001): internal point -86.64644, 32.532237; 2016 income 54,487 USD
    row = np.flatnonzero((data.lonlat[:, 0] == -86.64644) & (data.lonlat[:, 1] == 32.532237))
    assert row.size == 1 and data.target[row[0]] == 54487
    # the same values as the derived table beside the sources (the task performs that join itself)
    derived = load_custom_task(
        data_dir / "median_income" / "county_median_income_with_centroids.csv", "MedianIncome2016"
    )
    assert derived.type == "regression" and derived.n == data.n and derived.dropped_nan == 1
    order = np.lexsort(data.lonlat.T), np.lexsort(derived.lonlat.T)
    assert np.allclose(data.lonlat[order[0]], derived.lonlat[order[1]])
    assert np.array_equal(data.target[order[0]], derived.target[order[1]])
    assert "dropped 1 rows" in data.warnings()[0]
