"""The report of a probe run: rich tables and ``results.json``/``results.csv`` (maps: :mod:`.maps`).

One row per task x encoder x probe x split, with each metric as the mean and standard deviation over
seeds and, when bootstrapped, a 95 % interval (``ci95``). The tables show ``mean [low, high]`` and mark as
best every encoder whose interval overlaps the best encoder's (without intervals: the best mean). With
several tasks, a summary ranks the encoders per task and column and averages the ranks.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from satclip_cli.utils.atomic_output import atomic_output

HIGHER_IS_BETTER = {"r2": True, "accuracy": True, "macro_f1": True, "mse": False, "mae": False}
METRIC_ORDER = ("r2", "mse", "mae", "accuracy", "macro_f1")


@dataclass
class ResultRow:
    """Metrics of one encoder with one probe on one task and split, over ``seeds`` repetitions.

    ``values[metric]`` holds one value per seed (the mean over the folds of a K-fold split; ``r2``: the R² of
    all folds' predictions pooled); ``ci95[metric]``
    the bootstrap 95 % interval ``(low, high)`` (empty without bootstrap); ``folds`` K of a K-fold split,
    else None; ``n_train`` the training size of the first split (fold); ``n_test`` the points scored in
    the first seed (all folds).
    """

    task: str
    encoder: str
    probe: str
    split: str
    n_train: int
    n_test: int
    values: dict[str, list[float]] = field(default_factory=dict)
    folds: int | None = None
    ci95: dict[str, tuple[float, float]] = field(default_factory=dict)

    def mean(self, metric: str) -> float:
        return float(np.mean(self.values[metric])) if self.values.get(metric) else math.nan

    def std(self, metric: str) -> float:
        return float(np.std(self.values[metric])) if self.values.get(metric) else math.nan

    @property
    def metrics(self) -> list[str]:
        return [m for m in METRIC_ORDER if m in self.values]

    def to_record(self) -> dict[str, Any]:
        """Flat record: task, encoder, probe, split, folds, n_train, n_test, seeds, and per metric ``<metric>_mean``,
        ``<metric>_std``, ``<metric>_ci_low``, ``<metric>_ci_high`` (NaN without bootstrap)."""
        record: dict[str, Any] = {
            "task": self.task,
            "encoder": self.encoder,
            "probe": self.probe,
            "split": self.split,
            "folds": self.folds,
            "n_train": self.n_train,
            "n_test": self.n_test,
            "seeds": len(next(iter(self.values.values()), [])),
        }
        for metric in self.metrics:
            record[f"{metric}_mean"] = self.mean(metric)
            record[f"{metric}_std"] = self.std(metric)
            low, high = self.ci95.get(metric, (math.nan, math.nan))
            record[f"{metric}_ci_low"] = low
            record[f"{metric}_ci_high"] = high
        return record


def write_results(rows: list[ResultRow], out_dir: Path) -> tuple[Path, Path]:
    """``results.json`` (metrics as {mean, std, ci95, values}) and ``results.csv`` (see :meth:`ResultRow.to_record`).

    ``ci95`` is ``[low, high]``, or null when the run was not bootstrapped.
    """
    import pandas as pd

    out_dir.mkdir(parents=True, exist_ok=True)
    documents = [
        {
            **{
                key: value
                for key, value in row.to_record().items()
                if not key.endswith(("_mean", "_std", "_ci_low", "_ci_high"))
            },
            "metrics": {
                m: {
                    "mean": row.mean(m),
                    "std": row.std(m),
                    "ci95": list(row.ci95[m]) if m in row.ci95 else None,
                    "values": row.values[m],
                }
                for m in row.metrics
            },
        }
        for row in rows
    ]
    json_path, csv_path = out_dir / "results.json", out_dir / "results.csv"
    with atomic_output(json_path, overwrite=True) as tmp:
        tmp.write_text(json.dumps(documents, indent=2) + "\n", encoding="utf-8")
    with atomic_output(csv_path, overwrite=True) as tmp:
        pd.DataFrame([row.to_record() for row in rows]).to_csv(tmp, index=False)
    return json_path, csv_path


def best_values(rows: list[ResultRow]) -> dict[tuple[str, str, str, str], float]:
    """Best mean per (task, probe, split, metric) over encoders."""
    best: dict[tuple[str, str, str, str], float] = {}
    for row in rows:
        for metric in row.metrics:
            key = (row.task, row.probe, row.split, metric)
            value = row.mean(metric)
            if math.isnan(value):
                continue
            if key not in best or ((value > best[key]) if HIGHER_IS_BETTER[metric] else (value < best[key])):
                best[key] = value
    return best


def is_best(row: ResultRow, metric: str, rows: list[ResultRow]) -> bool:
    """Whether ``row`` is among the best encoders of its (task, probe, split) on ``metric``.

    With intervals: its 95 % interval overlaps the interval of the encoder with the best mean. Without:
    its mean is the best mean.
    """
    peers = [
        other
        for other in rows
        if (other.task, other.probe, other.split) == (row.task, row.probe, row.split)
        and not math.isnan(other.mean(metric))
    ]
    if not peers or math.isnan(row.mean(metric)):
        return False
    sign = 1.0 if HIGHER_IS_BETTER[metric] else -1.0
    best = max(peers, key=lambda other: sign * other.mean(metric))
    if metric in row.ci95 and metric in best.ci95:
        low, high = row.ci95[metric]
        best_low, best_high = best.ci95[metric]
        return low <= best_high and best_low <= high
    return row.mean(metric) == best.mean(metric)


def format_value(row: ResultRow, metric: str) -> str:
    """``0.834 [0.821, 0.846]`` with an interval, ``0.834 ± 0.012`` (std over seeds) without."""
    if metric not in row.values:
        return "-"
    if metric in row.ci95:
        low, high = row.ci95[metric]
        return f"{row.mean(metric):.3f} [{low:.3f}, {high:.3f}]"
    return f"{row.mean(metric):.3f} ± {row.std(metric):.3f}"


def task_table(rows: list[ResultRow], title: str) -> Any:
    """A rich table: encoders x metrics (mean [95 % interval]); the best values, in bold green.

    Best: every encoder whose interval overlaps the best one's (see :func:`is_best`).
    """
    from rich.table import Table

    metrics = [m for m in METRIC_ORDER if any(m in row.values for row in rows)]
    table = Table(title=title, title_justify="left")
    for header in ("encoder", "probe", "split"):
        table.add_column(header)
    for metric in metrics:
        arrow = "↑" if HIGHER_IS_BETTER[metric] else "↓"
        table.add_column(f"{metric} {arrow}", justify="right")
    for row in rows:
        split = row.split if row.folds is None else f"{row.split} ({row.folds} folds)"
        cells = [row.encoder, row.probe, split]
        for metric in metrics:
            text = format_value(row, metric)
            if is_best(row, metric, rows):
                text = f"[bold green]{text}[/]"
            cells.append(text)
        table.add_row(*cells)
    if any(row.ci95 for row in rows):
        table.caption = "mean \\[bootstrap 95 % interval]; bold green: interval overlaps the best encoder's"
    return table


def mean_ranks(rows: list[ResultRow]) -> dict[str, float]:
    """Each encoder's rank (1 = best) averaged over every (task, probe, split, metric) it was scored on."""
    groups: dict[tuple[str, str, str, str], list[tuple[str, float]]] = defaultdict(list)
    for row in rows:
        for metric in row.metrics:
            groups[(row.task, row.probe, row.split, metric)].append((row.encoder, row.mean(metric)))
    ranks: dict[str, list[float]] = defaultdict(list)
    for (_, _, _, metric), scores in groups.items():
        ordered = sorted(scores, key=lambda item: -item[1] if HIGHER_IS_BETTER[metric] else item[1])
        for position, (encoder, _) in enumerate(ordered, start=1):
            ranks[encoder].append(position)
    return {encoder: float(np.mean(values)) for encoder, values in ranks.items()}


def summary_table(rows: list[ResultRow]) -> Any:
    """A rich table of encoders sorted by mean rank over all tasks."""
    from rich.table import Table

    table = Table(title="Summary: mean rank over tasks, probes, splits and metrics (1 = best)", title_justify="left")
    table.add_column("encoder")
    table.add_column("mean rank", justify="right")
    table.add_column("tasks", justify="right")
    for encoder, rank in sorted(mean_ranks(rows).items(), key=lambda item: item[1]):
        tasks = len({row.task for row in rows if row.encoder == encoder})
        table.add_row(encoder, f"{rank:.2f}", str(tasks))
    return table
