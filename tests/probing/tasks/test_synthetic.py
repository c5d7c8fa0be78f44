"""Synthetic tasks (satclip_cli.probing.tasks.synthetic): land-ocean and checkerboard."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from satclip_cli.errors import InputError
from satclip_cli.probing.tasks import checkerboard_classes, load_task, regular_grid
from tests.probing.tasks.helpers import N, check_points


def test_land_ocean_grid_covers_the_globe(data_dir: Path) -> None:
    data = load_task("land-ocean", n_points=N, seed=0)
    check_points(data)
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
    check_points(data)
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
