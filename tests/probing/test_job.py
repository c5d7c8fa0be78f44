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


def test_spatial_blocks_score_sh10_below_random_folds_on_a_dense_smooth_field(tmp_path: Path) -> None:
    """A smooth field sampled densely over Europe: random folds interpolate between neighbours of every test
    point, spatial blocks (1000 km) leave holes the probe must extrapolate into, so the score must drop."""
    import numpy as np

    rng = np.random.default_rng(0)
    lon, lat = rng.uniform(-10, 40, 1500), rng.uniform(35, 60, 1500)
    field = np.sin(np.radians(lon) * 9) + np.cos(np.radians(lat) * 12) + 0.05 * rng.normal(size=1500)
    pd.DataFrame({"lon": lon, "lat": lat, "field": field}).to_csv(tmp_path / "smooth.csv", index=False)
    config = ProbeConfig(
        data=tmp_path / "smooth.csv", target="field", task_type="regression", baselines=("sh10",),
        splits=("random", "spatial-block"), folds=5, block_size_km=1000.0, seeds=1, bootstrap=300,
        out=tmp_path / "out",
    )  # fmt: skip
    summary = run(config)
    rows = {row.split: row for row in summary.rows}
    assert rows.keys() == {"random", "spatial-block"} and {row.folds for row in rows.values()} == {5}
    assert rows["spatial-block"].mean("r2") < rows["random"].mean("r2") - 0.01
    for row in rows.values():
        assert row.n_test == 1500  # every point tested once
        low, high = row.ci95["r2"]
        assert low <= row.mean("r2") <= high
    # the intervals do not even overlap: the drop is not noise
    assert rows["spatial-block"].ci95["r2"][1] < rows["random"].ci95["r2"][0]
    table = pd.read_csv(summary.results_csv)
    assert {"r2_ci_low", "r2_ci_high", "mae_ci_low", "folds"} <= set(table.columns)
    document = json.loads(summary.results_json.read_text())
    assert document[0]["metrics"]["r2"]["ci95"] == list(rows["random"].ci95["r2"])
    assert (tmp_path / "out" / "maps" / "smooth_blocks.png").is_file()


def test_a_class_confined_to_one_block_is_dropped_from_its_fold_and_counted(tmp_path: Path) -> None:
    import numpy as np

    rng = np.random.default_rng(1)
    lon, lat = rng.uniform(-60, 60, 1200), rng.uniform(-50, 50, 1200)
    label = np.where(lat > 0, "north", "south").astype(object)
    label[:6] = "island"  # six points of a class that lives in one block only
    lon[:6], lat[:6] = 10.0 + rng.uniform(0, 0.5, 6), 10.0 + rng.uniform(0, 0.5, 6)
    pd.DataFrame({"lon": lon, "lat": lat, "label": label}).to_csv(tmp_path / "classes.csv", index=False)
    config = ProbeConfig(
        data=tmp_path / "classes.csv", target="label", baselines=("sh10",), splits=("spatial-block",),
        seeds=1, bootstrap=200, out=tmp_path / "out", maps=False,
    )  # fmt: skip
    summary = run(config)
    (row,) = summary.rows
    assert row.n_test == 1200 - 6 and row.mean("accuracy") > 0.8
    assert row.ci95["accuracy"][0] <= row.mean("accuracy") <= row.ci95["accuracy"][1]
    (warning,) = [w for w in summary.outcomes[0].warnings if "spatial-block split" in w]
    assert "1 of 5 folds" in warning and "6 test points not scored" in warning


def test_spatial_blocks_score_sh10_below_random_folds_on_dense_classes(tmp_path: Path) -> None:
    """Classes of a smooth field (its sign) sampled densely over Europe: random folds see labelled neighbours of
    every test point, 1000 km blocks hide whole patches of a class, so accuracy must drop beyond the intervals."""
    import numpy as np

    rng = np.random.default_rng(0)
    lon, lat = rng.uniform(-10, 40, 1500), rng.uniform(35, 60, 1500)
    field = np.sin(np.radians(lon) * 9) + np.cos(np.radians(lat) * 12)
    label = np.where(field > 0, "high", "low")
    pd.DataFrame({"lon": lon, "lat": lat, "label": label}).to_csv(tmp_path / "classes.csv", index=False)
    config = ProbeConfig(
        data=tmp_path / "classes.csv", target="label", baselines=("sh10",), splits=("random", "spatial-block"),
        folds=5, block_size_km=1000.0, seeds=1, bootstrap=300, out=tmp_path / "out", maps=False,
    )  # fmt: skip
    rows = {row.split: row for row in run(config).rows}
    assert rows["spatial-block"].mean("accuracy") < rows["random"].mean("accuracy") - 0.01
    assert rows["spatial-block"].ci95["accuracy"][1] < rows["random"].ci95["accuracy"][0]


def test_spatial_block_r2_is_pooled_over_folds_and_uneven_folds_are_warned(tmp_path: Path) -> None:
    """California's case in small: 7 clusters, one 500 km block each, 5 of them of 3 points with an almost flat
    target. A fold holding only such a block has a hugely negative R² of its own (its test variance is tiny), so
    the mean over folds would be absurd; the row's r2 is one R² over all folds' out-of-fold predictions."""
    import numpy as np

    from satclip_cli.probing.metrics import pooled_r2, regression_metrics
    from satclip_cli.probing.probes import fit_predict
    from satclip_cli.probing.splits import spatial_block_kfold

    rng = np.random.default_rng(2)
    sizes = [300, 300, 3, 3, 3, 3, 3]
    lonlat = np.concatenate(
        [np.c_[10.0 * i + rng.uniform(0, 0.5, n), rng.uniform(0, 0.5, n)] for i, n in enumerate(sizes)]
    )
    value = 0.1 * lonlat[:, 0] + 0.3 * np.sin(lonlat[:, 0] / 7.0) + 0.01 * rng.normal(size=len(lonlat))
    pd.DataFrame({"lon": lonlat[:, 0], "lat": lonlat[:, 1], "value": value}).to_csv(tmp_path / "few.csv", index=False)
    config = ProbeConfig(
        data=tmp_path / "few.csv", target="value", task_type="regression", baselines=("coords",),
        splits=("spatial-block",), folds=5, block_size_km=500.0, seeds=1, bootstrap=300, out=tmp_path / "out",
        maps=False,
    )  # fmt: skip
    summary = run(config)
    (row,) = summary.rows
    # the same folds and probes by hand: per-fold R² and the pooled R² of their predictions
    truths, predictions, per_fold = [], [], []
    X = lonlat.astype(np.float32)  # the coords baseline's features
    for split in spatial_block_kfold(lonlat, 5, 500.0, seed=0).splits:
        result = fit_predict(
            "linear", "regression", X[split.train], value[split.train], X[split.val], value[split.val], X[split.test]
        )
        truths.append(value[split.test])
        predictions.append(result.predictions)
        per_fold.append(regression_metrics(value[split.test], result.predictions, value[split.train])["r2"])
    assert np.mean(per_fold) < -10  # what the row used to report
    assert row.mean("r2") == pytest.approx(pooled_r2(truths, predictions), rel=1e-9)
    assert row.mean("r2") > 0.5
    low, high = row.ci95["r2"]
    assert low <= row.mean("r2") <= high and low > 0.0
    (warning,) = [w for w in summary.outcomes[0].warnings if "uneven" in w]
    assert "only 7 blocks of 500 km" in warning and "r2 is pooled over folds" in warning
    assert "a smaller ⟦block_size_km⟧" in warning  # a setting: the CLI shows its flag
