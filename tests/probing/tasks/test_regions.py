"""Polygon-labelled tasks (satclip_cli.probing.tasks.regions): countries, biomes, ecoregions."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from satclip_cli.probing.tasks import MIN_CLASS_SIZE, TaskData, load_task
from tests.probing.tasks.helpers import N, check_points


def test_countries_label_points_by_admin0(data_dir: Path) -> None:
    data = load_task("countries", data_dir=data_dir, n_points=N, seed=0)
    check_points(data)
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


def test_biomes_and_ecoregions(data_dir: Path) -> None:
    biomes = load_task("biomes", data_dir=data_dir, n_points=N, seed=0)
    check_points(biomes)
    assert len(biomes.classes) == 15 and "Tundra" in biomes.classes and "N/A" in biomes.classes
    assert biomes.dropped_unlabelled < 0.05 * N

    def label_near(data: TaskData, lon: float, lat: float, radius: float = 2.0) -> set[str]:
        near = np.hypot(data.lonlat[:, 0] - lon, data.lonlat[:, 1] - lat) < radius
        return {data.classes[t] for t in data.target[near]}

    assert label_near(biomes, -62.0, -4.0) == {"Tropical & Subtropical Moist Broadleaf Forests"}  # Amazon
    assert label_near(biomes, 10.0, 24.0) == {"Deserts & Xeric Shrublands"}  # central Sahara
    assert label_near(biomes, 0.0, -80.0, 5.0) == {"N/A"}  # Antarctic ice: Rock and Ice

    eco = load_task("ecoregions", data_dir=data_dir, n_points=N, seed=0)
    check_points(eco)
    assert 200 < len(eco.classes) < 847 and len(eco.dropped_classes) > 0  # rare ecoregions dropped, and said so
    assert all(count < MIN_CLASS_SIZE for count in eco.dropped_classes.values())
    assert "fewer than 2 points" in eco.warnings()[-1]
    # Latin-1 names decoded (e.g. 'Alto Paraná Atlantic forests'); no replacement characters
    assert not any("\ufffd" in name for name in eco.classes)
    assert label_near(eco, 0.0, -80.0, 5.0) == {"Rock and Ice"}
