"""The probing stage's job (satclip_cli.probing.job): run(config) -> ProbeSummary, on a synthetic task."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from satclip_cli.errors import InputError
from satclip_cli.probing.config import ProbeConfig
from satclip_cli.probing.job import ProbeSummary, TaskOutcome, run


def test_run_scores_every_encoder_and_writes_the_report(tmp_path: Path) -> None:
    config = ProbeConfig(
        tasks=("checkerboard",), baselines=("coords", "sh10"), n_points=1200, seeds=2, out=tmp_path / "out"
    )
    done: list[TaskOutcome] = []
    summary = run(config, on_task=done.append)
    assert isinstance(summary, ProbeSummary) and [outcome.task for outcome in done] == ["checkerboard"]
    assert [(row.encoder, row.probe, row.split) for row in summary.rows] == [
        ("coords", "linear", "random"),
        ("sh10", "linear", "random"),
    ]
    assert all(len(row.values["accuracy"]) == 2 for row in summary.rows)  # one value per seed
    assert summary.results_csv == tmp_path / "out" / "results.csv" and summary.results_json.is_file()
    assert list(pd.read_csv(summary.results_csv)["encoder"]) == ["coords", "sh10"]
    assert len(json.loads(summary.results_json.read_text())) == 2
    assert summary.maps == [tmp_path / "out" / "maps" / "checkerboard.png"] and summary.maps[0].is_file()
    assert summary.lines() == [f"Wrote {summary.results_json}, {summary.results_csv}, {summary.maps[0]}"]


def test_a_custom_task_runs_after_the_registered_ones_and_maps_can_be_off(tmp_path: Path) -> None:
    rows = [(lon, lat, "north" if lat > 0 else "south") for lon in range(-170, 180, 20) for lat in range(-75, 80, 10)]
    pd.DataFrame(rows, columns=["lon", "lat", "hemisphere"]).to_csv(tmp_path / "points.csv", index=False)
    config = ProbeConfig(
        tasks=("checkerboard",), data=tmp_path / "points.csv", target="hemisphere", baselines=("coords",),
        n_points=600, seeds=1, out=tmp_path / "out", maps=False,
    )  # fmt: skip
    summary = run(config)
    assert [outcome.task for outcome in summary.outcomes] == ["checkerboard", "points"]
    assert summary.maps == [] and not (tmp_path / "out" / "maps").exists()
    assert summary.outcomes[1].rows[0].mean("accuracy") > 0.9


def test_settings_are_checked_before_anything_runs(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="seeds must be at least 1"):
        run(ProbeConfig(tasks=("checkerboard",), seeds=0, out=tmp_path / "out"))
    with pytest.raises(InputError, match="no encoders to probe: give models and/or keep the baselines"):
        run(ProbeConfig(tasks=("checkerboard",), baselines=(), out=tmp_path / "out"))
    assert not (tmp_path / "out").exists()
