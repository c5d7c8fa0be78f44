"""The population task (satclip_cli.probing.tasks.population) from Natural Earth populated places."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from satclip_cli.probing.tasks import load_task
from tests.probing.tasks.helpers import check_points


def test_population_is_log10_city_size(data_dir: Path) -> None:
    data = load_task("population", data_dir=data_dir)
    check_points(data)
    assert data.n + data.dropped_nan == 1249 and data.dropped_nan == 1  # one place with pop_max 0
    assert data.units == "log10(persons)"
    assert 7.5 < data.target.max() < 7.6  # 35.7 million: Tokyo
    tokyo = data.lonlat[np.argmax(data.target)]
    assert abs(tokyo[0] - 139.7) < 0.5 and abs(tokyo[1] - 35.7) < 0.5
