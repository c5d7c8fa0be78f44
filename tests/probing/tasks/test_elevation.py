"""The elevation task and relief grid (satclip_cli.probing.tasks.elevation)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from satclip_cli.geo.land_mask import load_land_mask
from satclip_cli.probing.tasks import load_task, relief_at
from tests.probing.tasks.helpers import N, check_points


def test_elevation_samples_the_relief_grid_on_land(data_dir: Path) -> None:
    data = load_task("elevation", data_dir=data_dir, n_points=N, seed=1)
    check_points(data)
    assert data.n == N and data.units == "m"
    assert load_land_mask().is_land(data.lonlat[:, 0], data.lonlat[:, 1]).all()
    assert 300 < np.median(data.target) < 1000 and data.target.max() > 4000
    assert (data.target < 0).mean() < 0.05  # some coastal cells of the 20' grid are below sea level
    again = load_task("elevation", data_dir=data_dir, n_points=N, seed=1)
    assert np.array_equal(again.lonlat, data.lonlat)
    other = load_task("elevation", data_dir=data_dir, n_points=N, seed=2)
    assert not np.array_equal(other.lonlat, data.lonlat)


def test_relief_at_known_places(data_dir: Path) -> None:
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
    relief = relief_at(places, data_dir=data_dir)
    assert relief[0] > 4000 and relief[1] > 4500
    assert 0 <= relief[2] < 200
    assert relief[3] < -4000
    assert abs(relief[4] - relief[5]) < 50
