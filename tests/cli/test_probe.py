"""``satclip probe`` end to end on the test copies of the task data (tests/data)."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from satclip_cli.cli.app import app

runner = CliRunner()


def probe(data_dir, out, *args):
    result = runner.invoke(app, ["probe", "--data-dir", str(data_dir), "--out", str(out), "--quiet", *map(str, args)])
    return result


def test_air_temperature_tells_encoders_apart(data_dir, tmp_path):
    result = probe(
        data_dir, tmp_path / "out", "--task", "air-temperature", "--seeds", "3", "--baselines", "coords,sh10"
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "out" / "results.csv")
    assert {"task", "encoder", "probe", "split", "r2_mean", "r2_std", "mse_mean", "mae_mean"} <= set(table.columns)
    r2 = table.set_index("encoder")["r2_mean"]
    assert r2["sh10"] >= 0.9  # the acceptance: spherical harmonics alone explain the climatology
    assert r2["coords"] < 0.6  # raw coordinates stay far below
    assert set(table["seeds"]) == {3} and (table["r2_std"] > 0).all()
    document = json.loads((tmp_path / "out" / "results.json").read_text())
    assert document[0]["metrics"]["r2"]["values"] and len(document[0]["metrics"]["r2"]["values"]) == 3
    png = (tmp_path / "out" / "maps" / "air-temperature.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000


def test_a_model_checkpoint_is_probed_beside_the_baselines(data_dir, fixtures_dir, tmp_path):
    ckpt = fixtures_dir / "satclip_resnet18_l10.ckpt"
    result = probe(
        data_dir,
        tmp_path / "out",
        "--task",
        "precipitation",
        "--model",
        ckpt,
        "--seeds",
        "1",
        "--baselines",
        "coords",
        "--no-maps",
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "out" / "results.csv")
    assert list(table["encoder"]) == ["satclip_resnet18_l10", "coords"]
    assert not (tmp_path / "out" / "maps").exists()


@pytest.mark.parametrize("kind", ["linear", "mlp", "knn"])
def test_each_probe_runs_on_a_classification_task(data_dir, tmp_path, kind):
    result = probe(
        data_dir,
        tmp_path / "out",
        "--task",
        "checkerboard",
        "--n-points",
        "1500",
        "--seeds",
        "1",
        "--probe",
        kind,
        "--baselines",
        "coords,sh10",
        "--no-maps",
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "out" / "results.csv").set_index("encoder")
    assert set(table["probe"]) == {kind}
    assert 0 <= table.loc["coords", "accuracy_mean"] <= 1 and table.loc["sh10", "macro_f1_mean"] > 0.5


def test_continent_holdout_and_few_shot_splits(data_dir, tmp_path):
    result = probe(
        data_dir,
        tmp_path / "out",
        "--task",
        "air-temperature",
        "--seeds",
        "2",
        "--baselines",
        "sh10",
        "--split",
        "holdout-africa",
        "--split",
        "holdout-asia",
        "--few-shot",
        "0.2",
        "--no-maps",
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "out" / "results.csv")
    assert sorted(table["split"]) == ["fewshot-africa-0.2", "fewshot-asia-0.2"]
    assert (table["n_test"] > 20).all()


def test_land_ocean_is_scored_on_its_global_grid_and_two_tasks_get_a_summary(data_dir, tmp_path):
    result = runner.invoke(
        app,
        [
            "probe",
            "--data-dir",
            str(data_dir),
            "--out",
            str(tmp_path / "out"),
            "--task",
            "land-ocean",
            "--task",
            "checkerboard",
            "--n-points",
            "2000",
            "--seeds",
            "1",
            "--baselines",
            "coords,sh10",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Summary: mean rank" in result.output and "land-ocean" in result.output
    table = pd.read_csv(tmp_path / "out" / "results.csv")
    assert (table.loc[table["task"] == "land-ocean", "n_test"] == 360 * 180).all()


def test_a_custom_task_from_a_csv(tmp_path):
    rows = [(lon, lat, "north" if lat > 0 else "south") for lon in range(-170, 180, 20) for lat in range(-75, 80, 10)]
    pd.DataFrame(rows, columns=["lon", "lat", "hemisphere"]).to_csv(tmp_path / "points.csv", index=False)
    result = runner.invoke(
        app,
        [
            "probe",
            "--data",
            str(tmp_path / "points.csv"),
            "--target",
            "hemisphere",
            "--out",
            str(tmp_path / "out"),
            "--seeds",
            "1",
            "--baselines",
            "coords",
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "out" / "results.csv")
    assert table.loc[0, "task"] == "points" and table.loc[0, "accuracy_mean"] > 0.9


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--task", "moon-craters"], "unknown task"),
        (["--task", "air-temperature", "--model", "no-such-model"], "no-such-model"),
        (["--task", "air-temperature", "--probe", "svm"], "unknown probe"),
        (["--task", "air-temperature", "--split", "holdout-mars"], "unknown split"),
        (["--task", "air-temperature", "--few-shot", "0.1"], "--few-shot"),
        (["--task", "air-temperature", "--baselines", "sh99"], "unknown baseline"),
        (["--task", "california-housing", "--split", "holdout-africa", "--baselines", "coords"], "empty"),
        (["--target", "x"], "--target needs --data"),
        (["--task", "air-temperature", "--split", "spatial-block", "--folds", "1"], "--folds must be at least 2"),
        (["--task", "air-temperature", "--split", "spatial-block", "--block-size", "0"], "--block-size must be"),
        (
            ["--task", "air-temperature", "--split", "spatial-block", "--block-size", "15000", "--baselines", "coords"],
            "fewer --folds",
        ),
        (["--task", "air-temperature", "--split", "holdout-asia", "--folds", "3"], "--folds needs --split random"),
        (["--task", "air-temperature", "--bootstrap", "-1"], "--bootstrap must be 0"),
        ([], "give --task"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(data_dir, tmp_path, args, message):
    result = probe(data_dir, tmp_path / "out", *args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0], lines


def test_custom_task_input_errors(tmp_path):
    pd.DataFrame({"lon": [1.0, 2.0, 3.0], "lat": [1.0, 2.0, 3.0], "kind": ["a", "b", "c"]}).to_csv(
        tmp_path / "p.csv", index=False
    )
    for args, message in (
        (["--target", "height"], "height"),
        (["--target", "kind", "--type", "regression"], "non-numeric value 'a' in the regression target 'kind'"),
    ):
        result = runner.invoke(app, ["probe", "--data", str(tmp_path / "p.csv"), "--out", str(tmp_path / "o"), *args])
        assert result.exit_code == 2 and message in result.output, result.output
        assert len(result.output.strip().splitlines()) == 1, result.output


def test_spatial_block_and_random_folds_with_intervals_and_geoclip(data_dir, tmp_path):
    """The issue's acceptance on air temperature: both K-fold splits reported with intervals, sh10 lower under
    spatial blocks, and GeoCLIP (from its wheel's weights) far above raw coordinates."""
    out = tmp_path / "out"
    args = ["--task", "air-temperature", "--seeds", "1", "--baselines", "coords,sh10,geoclip", "--bootstrap", "500"]
    splits = ["--split", "random", "--split", "spatial-block", "--folds", "5", "--block-size", "500"]
    command = ["probe", "--data-dir", str(data_dir), "--out", str(out), *args, *splits]
    result = runner.invoke(app, command, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert re.search(r"0\.9\d\d \[0\.9\d\d, 0\.9\d\d\]", result.output)  # sh10's r2 as "mean [low, high]"
    table = pd.read_csv(out / "results.csv").set_index(["encoder", "split"])
    assert (table["folds"] == 5).all() and (table["n_test"] == table["n_test"].iloc[0]).all()
    r2, low, high = table["r2_mean"], table["r2_ci_low"], table["r2_ci_high"]
    assert ((low <= r2) & (r2 <= high)).all()
    assert r2["sh10", "spatial-block"] < r2["sh10", "random"]
    for split in ("random", "spatial-block"):
        assert low["geoclip", split] > high["coords", split]  # GeoCLIP beats coords beyond the intervals
    blocks = (out / "maps" / "air-temperature_blocks.png").read_bytes()
    assert blocks[:8] == b"\x89PNG\r\n\x1a\n" and len(blocks) > 20_000


def test_a_custom_classification_task_under_spatial_blocks(tmp_path):
    import numpy as np

    rng = np.random.default_rng(0)
    lon, lat = rng.uniform(-120, 120, 600), rng.uniform(-60, 60, 600)
    zone = np.select([lat > 20, lat < -20], ["north", "south"], "tropics")
    pd.DataFrame({"lon": lon, "lat": lat, "zone": zone}).to_csv(tmp_path / "zones.csv", index=False)
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        ["probe", "--data", str(tmp_path / "zones.csv"), "--target", "zone", "--out", str(out), "--seeds", "1",
         "--baselines", "coords,sh10", "--split", "random", "--split", "spatial-block", "--folds", "4",
         "--bootstrap", "300"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "results.csv").set_index(["encoder", "split"])
    assert (table["seeds"] == 1).all() and (table["folds"] == 4).all()
    accuracy = table["accuracy_mean"]
    assert ((table["accuracy_ci_low"] <= accuracy) & (accuracy <= table["accuracy_ci_high"])).all()
    assert (table["macro_f1_ci_high"] > table["macro_f1_ci_low"]).all()
    assert accuracy["sh10", "spatial-block"] > 0.8
    assert (out / "maps" / "zones.png").is_file() and (out / "maps" / "zones_blocks.png").is_file()


def test_warnings_name_flags_and_keep_their_brackets(tmp_path):
    """Seven clusters of 500 km blocks for five folds: the uneven-fold warning names ``--block-size`` (not the
    setting) and rich prints its text as it is."""
    rng = np.random.default_rng(3)
    sizes = [400, 400, 3, 3, 3, 3, 3]
    lonlat = np.concatenate(
        [np.c_[10.0 * i + rng.uniform(0, 0.5, n), rng.uniform(0, 0.5, n)] for i, n in enumerate(sizes)]
    )
    points = pd.DataFrame({"lon": lonlat[:, 0], "lat": lonlat[:, 1], "y": lonlat[:, 0] + rng.normal(0, 1, len(lonlat))})
    points.to_csv(tmp_path / "points.csv", index=False)
    args = ["probe", "--data", str(tmp_path / "points.csv"), "--target", "y", "--split", "spatial-block"]
    result = runner.invoke(app, [*args, "--baselines", "coords", "--seeds", "1", "--out", str(tmp_path / "out"), "-q"])
    assert result.exit_code == 0, result.output
    warning = next(line for line in result.output.splitlines() if line.startswith("Warning: spatial-block folds"))
    assert warning.endswith("a smaller --block-size gives more even folds") and "⟦" not in warning
