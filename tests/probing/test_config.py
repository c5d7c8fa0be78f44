"""The probing stage's settings (satclip_cli.probing.config): tasks expanded, every setting checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from satclip_cli.cli.options import flag_name
from satclip_cli.errors import InputError
from satclip_cli.probing.config import SPLITS, ProbeConfig
from satclip_cli.probing.tasks import TASKS


def test_all_expands_to_the_available_tasks_and_duplicates_go() -> None:
    assert ProbeConfig(tasks=("all",)).task_names == tuple(name for name, spec in TASKS.items() if spec.available)
    twice = ProbeConfig(tasks=("checkerboard", "land-ocean", "checkerboard"))
    assert twice.task_names == ("checkerboard", "land-ocean")
    assert not ProbeConfig(tasks=("checkerboard",)).holds_out_continents
    assert ProbeConfig(tasks=("checkerboard",), splits=SPLITS).holds_out_continents


@pytest.mark.parametrize(
    ("settings", "message", "cli_message"),
    [
        ({}, "give tasks NAME (or tasks all), or data FILE target COLUMN",
         "give --task NAME (or --task all), or --data FILE --target COLUMN"),
        ({"target": "x"}, "target needs data FILE", "--target needs --data FILE"),
        ({"data": Path("points.csv")}, "data needs target COLUMN", "--data needs --target COLUMN"),
        ({"tasks": ("checkerboard",), "task_type": "ordinal"}, "task_type must be regression or classification",
         "--type must be regression or classification"),
        ({"tasks": ("moon-craters",)}, "unknown task 'moon-craters'; tasks: air-temperature", None),
        ({"tasks": ("checkerboard",), "probes": ("svm",)}, "unknown probe 'svm'; use one of linear, mlp, knn", None),
        ({"tasks": ("checkerboard",), "splits": ("holdout-mars",)}, "unknown split 'holdout-mars'", None),
        ({"tasks": ("checkerboard",), "few_shot": 0.1}, "few_shot needs a continent hold-out split (splits holdout-",
         "--few-shot needs a continent hold-out split (--split holdout-africa or holdout-asia)"),
        ({"tasks": ("checkerboard",), "splits": ("holdout-asia",), "few_shot": 1.5}, "few_shot is a fraction",
         "--few-shot is a fraction between 0 and 1 of the held-out continent"),
        ({"tasks": ("checkerboard",), "seeds": 0}, "seeds must be at least 1", "--seeds must be at least 1"),
    ],
)  # fmt: skip
def test_bad_settings_name_the_setting(settings: dict, message: str, cli_message: str | None) -> None:
    with pytest.raises(InputError) as info:
        ProbeConfig(**settings).validate()
    assert str(info.value).startswith(message)
    if cli_message is not None:
        assert info.value.message_for(flag_name).startswith(cli_message)


def test_missing_files_and_folders(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="data file .*missing.csv not found"):
        ProbeConfig(data=tmp_path / "missing.csv", target="x").validate()
    with pytest.raises(InputError) as info:
        ProbeConfig(tasks=("checkerboard",), data_dir=tmp_path / "nowhere").validate()
    assert info.value.message_for(flag_name) == f"--data-dir {tmp_path / 'nowhere'} is not a folder"
