import json

import pandas as pd
import pytest

from satclip_cli.probing.report import (
    ResultRow,
    best_values,
    mean_ranks,
    summary_table,
    task_table,
    write_results,
)


def rows() -> list[ResultRow]:
    return [
        ResultRow("t1", "model", "linear", "random", 60, 20, {"r2": [0.8, 0.9], "mae": [1.0, 1.2]}),
        ResultRow("t1", "coords", "linear", "random", 60, 20, {"r2": [0.3, 0.5], "mae": [3.0, 3.0]}),
        ResultRow("t2", "model", "linear", "random", 60, 20, {"accuracy": [0.7], "macro_f1": [0.5]}),
        ResultRow("t2", "coords", "linear", "random", 60, 20, {"accuracy": [0.9], "macro_f1": [0.6]}),
    ]


def test_best_value_per_column_respects_the_metric_direction():
    best = best_values(rows())
    assert best[("t1", "linear", "random", "r2")] == pytest.approx(0.85)
    assert best[("t1", "linear", "random", "mae")] == pytest.approx(1.1)  # lower is better
    assert best[("t2", "linear", "random", "accuracy")] == pytest.approx(0.9)


def test_mean_ranks_over_tasks_and_metrics():
    ranks = mean_ranks(rows())
    assert ranks == {"model": pytest.approx(1.5), "coords": pytest.approx(1.5)}
    assert mean_ranks(rows()[:2]) == {"model": 1.0, "coords": 2.0}


def test_results_files_have_mean_std_and_per_seed_values(tmp_path):
    json_path, csv_path = write_results(rows(), tmp_path)
    table = pd.read_csv(csv_path)
    assert list(table.columns[:8]) == ["task", "encoder", "probe", "split", "folds", "n_train", "n_test", "seeds"]
    first = table.iloc[0]
    assert first["r2_mean"] == pytest.approx(0.85) and first["r2_std"] == pytest.approx(0.05)
    document = json.loads(json_path.read_text())
    assert document[0]["metrics"]["r2"] == {
        "mean": pytest.approx(0.85),
        "std": pytest.approx(0.05),
        "ci95": None,
        "values": [0.8, 0.9],
    }
    assert table["r2_ci_low"].isna().all()  # rows without bootstrap: the columns are there, empty


def test_intervals_are_written_and_every_overlapping_encoder_is_best(tmp_path):
    from rich.console import Console

    from satclip_cli.probing.report import is_best

    rows = [
        ResultRow("t", "a", "linear", "spatial-block", 60, 20, {"r2": [0.83]}, folds=5, ci95={"r2": (0.82, 0.84)}),
        ResultRow("t", "b", "linear", "spatial-block", 60, 20, {"r2": [0.81]}, folds=5, ci95={"r2": (0.795, 0.821)}),
        ResultRow("t", "c", "linear", "spatial-block", 60, 20, {"r2": [0.70]}, folds=5, ci95={"r2": (0.68, 0.719)}),
    ]
    assert [is_best(row, "r2", rows) for row in rows] == [True, True, False]
    json_path, csv_path = write_results(rows, tmp_path)
    table = pd.read_csv(csv_path)
    assert list(table["r2_ci_low"]) == [0.82, 0.795, 0.68] and list(table["r2_ci_high"]) == [0.84, 0.821, 0.719]
    assert json.loads(json_path.read_text())[1]["metrics"]["r2"]["ci95"] == [0.795, 0.821]
    console = Console(record=True, width=160)
    console.print(task_table(rows, "t"))
    text = console.export_text()
    assert "0.830 [0.820, 0.840]" in text and "spatial-block (5 folds)" in text and "95 % interval" in text


def test_tables_render(tmp_path):
    from rich.console import Console

    console = Console(record=True, width=120)
    console.print(task_table(rows()[:2], "t1"))
    console.print(summary_table(rows()))
    text = console.export_text()
    assert "0.850 ± 0.050" in text and "mean rank" in text
