"""The task registry (satclip_cli.probing.tasks.registry): one entry per task, and load_task."""

from __future__ import annotations

from pathlib import Path

import pytest

from satclip_cli.cli.options import flag_name
from satclip_cli.errors import InputError
from satclip_cli.probing.downloads import REGISTRY
from satclip_cli.probing.tasks import CLASSIFICATION_METRICS, REGRESSION_METRICS, TASKS, load_task, task_spec


def test_registry_describes_every_task() -> None:
    assert list(TASKS)[:9] == [
        "air-temperature",
        "precipitation",
        "california-housing",
        "median-income",
        "elevation",
        "population",
        "countries",
        "biomes",
        "ecoregions",
    ]
    assert {"land-ocean", "checkerboard", "inaturalist-2018"} <= set(TASKS)
    for name, spec in TASKS.items():
        assert spec.name == name and spec.title and spec.source and spec.citation and spec.target
        expected = REGRESSION_METRICS if spec.type == "regression" else CLASSIFICATION_METRICS
        assert spec.metrics == expected or not spec.available
        assert bool(spec.units) == (spec.type == "regression")
    assert not TASKS["inaturalist-2018"].available and "later step" in TASKS["inaturalist-2018"].note
    assert "city" in TASKS["population"].target and "no gridded population" in TASKS["population"].note


def test_unknown_and_unavailable_tasks(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"unknown task 'temperature'; known tasks: air-temperature, precipitation"):
        load_task("temperature", data_dir=tmp_path)
    with pytest.raises(InputError) as info:
        task_spec("temperature")
    assert str(info.value).endswith("(or data FILE target COLUMN)")
    assert info.value.message_for(flag_name).endswith("(or --data FILE --target COLUMN)")
    with pytest.raises(InputError, match="not available yet"):
        load_task("inaturalist-2018", data_dir=tmp_path)
    with pytest.raises(InputError, match="n_points must be at least 1") as info:
        load_task("checkerboard", n_points=0)
    assert info.value.message_for(flag_name).startswith("--n-points must be at least 1")  # what `satclip probe` says


def test_missing_local_copy_names_the_layout(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"air_temperature/stationDataAll\.csv is missing"):
        load_task("air-temperature", data_dir=tmp_path)


def test_every_available_task_has_its_loader_and_registered_source_files() -> None:
    for name, spec in TASKS.items():
        assert (spec.loader is not None) == spec.available, name
        for dataset, filename in spec.files:
            assert filename in REGISTRY[dataset], (name, dataset, filename)  # downloads owns URL and checksum
        assert spec.sampled == (spec.default_n_points is not None)
    assert {spec.files for spec in TASKS.values() if spec.type == "classification" and spec.files} == {
        (("natural_earth", "ne_110m_admin_0_countries.geojson"),),
        (("ecoregions", "biomes.shp"),),
        (("ecoregions", "Ecoregions2017.shp"),),
    }
