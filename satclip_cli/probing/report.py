"""The report of a probe run: rich tables, ``results.json``/``results.csv``, and PNG maps.

One row per task x encoder x probe x split, with each metric as the mean and standard
deviation over seeds. With several tasks, a summary ranks the encoders per task and column
and averages the ranks.
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

    ``values[metric]`` holds one value per seed.
    """

    task: str
    encoder: str
    probe: str
    split: str
    n_train: int
    n_test: int
    values: dict[str, list[float]] = field(default_factory=dict)

    def mean(self, metric: str) -> float:
        return float(np.mean(self.values[metric])) if self.values.get(metric) else math.nan

    def std(self, metric: str) -> float:
        return float(np.std(self.values[metric])) if self.values.get(metric) else math.nan

    @property
    def metrics(self) -> list[str]:
        return [m for m in METRIC_ORDER if m in self.values]

    def to_record(self) -> dict[str, Any]:
        """Flat record: task, encoder, probe, split, n_train, n_test, seeds, ``<metric>_mean``, ``<metric>_std``."""
        record: dict[str, Any] = {
            "task": self.task,
            "encoder": self.encoder,
            "probe": self.probe,
            "split": self.split,
            "n_train": self.n_train,
            "n_test": self.n_test,
            "seeds": len(next(iter(self.values.values()), [])),
        }
        for metric in self.metrics:
            record[f"{metric}_mean"] = self.mean(metric)
            record[f"{metric}_std"] = self.std(metric)
        return record


def write_results(rows: list[ResultRow], out_dir: Path) -> tuple[Path, Path]:
    """``results.json`` (metrics as {mean, std} and the per-seed values) and ``results.csv`` (flat)."""
    import pandas as pd

    out_dir.mkdir(parents=True, exist_ok=True)
    documents = [
        {
            **{key: value for key, value in row.to_record().items() if not key.endswith(("_mean", "_std"))},
            "metrics": {m: {"mean": row.mean(m), "std": row.std(m), "values": row.values[m]} for m in row.metrics},
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


def task_table(rows: list[ResultRow], title: str) -> Any:
    """A rich table: encoders x metrics (mean ± std), the best value per column in bold green."""
    from rich.table import Table

    metrics = [m for m in METRIC_ORDER if any(m in row.values for row in rows)]
    best = best_values(rows)
    table = Table(title=title, title_justify="left")
    for header in ("encoder", "probe", "split"):
        table.add_column(header)
    for metric in metrics:
        arrow = "↑" if HIGHER_IS_BETTER[metric] else "↓"
        table.add_column(f"{metric} {arrow}", justify="right")
    for row in rows:
        cells = [row.encoder, row.probe, row.split]
        for metric in metrics:
            text = f"{row.mean(metric):.3f} ± {row.std(metric):.3f}" if metric in row.values else "-"
            if best.get((row.task, row.probe, row.split, metric)) == row.mean(metric):
                text = f"[bold green]{text}[/]"
            cells.append(text)
        table.add_row(*cells)
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


def write_task_maps(
    path: Path,
    title: str,
    lonlat: np.ndarray,
    truth: np.ndarray,
    prediction: np.ndarray,
    classification: bool,
) -> Path:
    """A PNG with three maps of the test points: truth, prediction, error (|difference| or wrong/right).

    ``lonlat`` float [N, 2] degrees (lon, lat); ``truth``/``prediction`` [N] values or class indices.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(18, 4.8), constrained_layout=True)
    lon, lat = lonlat[:, 0], lonlat[:, 1]
    size = max(1.0, min(12.0, 4000.0 / max(1, len(lon))))
    if classification:
        cmap = "tab20"
        panels = [
            ("truth", truth, cmap),
            ("prediction", prediction, cmap),
            ("error (red: wrong)", truth != prediction, "RdYlGn_r"),
        ]
    else:
        low, high = np.nanpercentile(np.concatenate([truth, prediction]), [1, 99])
        panels = [
            ("truth", truth, "viridis"),
            ("prediction", prediction, "viridis"),
            ("|error|", np.abs(prediction - truth), "magma"),
        ]
    for axis, (name, values, cmap) in zip(axes, panels, strict=True):
        kwargs = {"vmin": low, "vmax": high} if not classification and name != "|error|" else {}
        points = axis.scatter(lon, lat, c=values, s=size, cmap=cmap, linewidths=0, **kwargs)
        axis.set_title(name)
        axis.set_xlim(-180, 180)
        axis.set_ylim(-90, 90)
        axis.set_aspect("equal")
        axis.set_xlabel("longitude (°)")
        axis.set_ylabel("latitude (°)")
        if not classification or name.startswith("error"):
            fig.colorbar(points, ax=axis, shrink=0.7)
    fig.suptitle(title)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path, overwrite=True) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path
