"""The work behind ``satclip probe``: embed each task's points with every encoder, fit probes on splits, score.

For each task, every encoder embeds the task's points once; then for each split and seed the
probes are fitted on the training part (hyper-parameters chosen on the validation part) and
scored on the test part. Results are aggregated over seeds into :class:`ResultRow` s.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from satclip_cli.errors import InputError
from satclip_cli.probing.encoders import ProbeEncoder
from satclip_cli.probing.report import HIGHER_IS_BETTER, ResultRow

SPLITS = ("random", "holdout-africa", "holdout-asia")
PROBE_KINDS = ("linear", "mlp", "knn")


@dataclass(frozen=True)
class CustomTask:
    """``--data FILE --target COLUMN [--type ...]``: a task from any vector file or CSV."""

    path: Path
    target: str
    type: str | None = None
    lon_col: str | None = None
    lat_col: str | None = None


@dataclass(frozen=True)
class ProbeOptions:
    """What to evaluate. ``few_shot``: fraction of the held-out continent added to training (hold-out splits)."""

    tasks: tuple[str, ...] = ()
    custom: CustomTask | None = None
    probes: tuple[str, ...] = ("linear",)
    splits: tuple[str, ...] = ("random",)
    few_shot: float | None = None
    seeds: int = 5
    n_points: int | None = None
    data_dir: Path | None = None
    maps: bool = True

    def validate(self) -> None:
        from satclip_cli.probing.tasks import TASKS

        if not self.tasks and self.custom is None:
            raise InputError("give --task NAME (or --task all), or --data FILE --target COLUMN")
        for task in self.tasks:
            if task not in TASKS:
                raise InputError(f"unknown task {task!r}; tasks: {', '.join(TASKS)}")
        for probe in self.probes:
            if probe not in PROBE_KINDS:
                raise InputError(f"unknown probe {probe!r}; use one of {', '.join(PROBE_KINDS)}")
        for split in self.splits:
            if split not in SPLITS:
                raise InputError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
        if self.few_shot is not None and not 0 < self.few_shot < 1:
            raise InputError("--few-shot is a fraction between 0 and 1 of the held-out continent")
        if self.few_shot is not None and not any(s.startswith("holdout-") for s in self.splits):
            raise InputError("--few-shot needs a continent hold-out split (--split holdout-africa or holdout-asia)")
        if self.seeds < 1:
            raise InputError("--seeds must be at least 1")


@dataclass
class TaskOutcome:
    """Rows of one task, the warnings its data gave, and the map written for its best encoder."""

    task: str
    rows: list[ResultRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    map_path: Path | None = None


@dataclass
class _Prediction:
    lonlat: np.ndarray
    truth: np.ndarray
    prediction: np.ndarray


def all_available_tasks() -> tuple[str, ...]:
    """Every registered task whose data this version can load (``--task all``)."""
    from satclip_cli.probing.tasks import TASKS

    return tuple(name for name, spec in TASKS.items() if spec.available)


def run_probes(
    options: ProbeOptions,
    encoders: list[ProbeEncoder],
    out_dir: Path,
    *,
    on_progress: Callable[[int], None] | None = None,
    on_task: Callable[[TaskOutcome], None] | None = None,
) -> list[TaskOutcome]:
    """Evaluate ``encoders`` on every task of ``options``; write maps into ``out_dir/maps``."""
    from satclip_cli.probing.tasks import load_custom_task, load_task

    outcomes = []
    loaders: list[tuple[str, Callable[[], object]]] = [
        (task, lambda task=task: load_task(task, data_dir=options.data_dir, n_points=options.n_points))
        for task in options.tasks
    ]
    if options.custom is not None:
        custom = options.custom
        loaders.append(
            (
                custom.path.stem,
                lambda: load_custom_task(custom.path, custom.target, custom.type, custom.lon_col, custom.lat_col),
            )
        )
    for name, load in loaders:
        outcome = _run_task(name, load(), options, encoders, out_dir, on_progress)
        outcomes.append(outcome)
        if on_task is not None:
            on_task(outcome)
    return outcomes


def units_of_work(options: ProbeOptions, encoders: list[ProbeEncoder]) -> int:
    """Probe fits a run will do (for a progress bar)."""
    tasks = len(options.tasks) + (options.custom is not None)
    return tasks * len(options.splits) * options.seeds * len(encoders) * len(options.probes)


def _run_task(
    name: str,
    data: object,
    options: ProbeOptions,
    encoders: list[ProbeEncoder],
    out_dir: Path,
    on_progress: Callable[[int], None] | None,
) -> TaskOutcome:
    from satclip_cli.probing.metrics import classification_metrics, regression_metrics
    from satclip_cli.probing.probes import fit_predict

    outcome = TaskOutcome(task=name, warnings=list(data.warnings()))
    classification = data.type == "classification"
    features = {encoder.name: encoder.encode(data.lonlat) for encoder in encoders}
    test_features = (
        {encoder.name: encoder.encode(data.test_lonlat) for encoder in encoders} if data.has_test_set else {}
    )
    continents = _continents(data, options) if any(s.startswith("holdout-") for s in options.splits) else None
    rows: dict[tuple[str, str, str], ResultRow] = {}
    first_seed: dict[tuple[str, str, str], _Prediction] = {}
    for split_name in options.splits:
        if split_name.startswith("holdout-") and data.has_test_set:
            outcome.warnings.append(f"{name} has its own test grid: split {split_name} skipped")
            if on_progress is not None:
                on_progress(options.seeds * len(encoders) * len(options.probes))
            continue
        for seed in range(options.seeds):
            split, note = _split(split_name, data, continents, options.few_shot, seed)
            if note and seed == 0:
                outcome.warnings.append(note)
            y = data.target
            y_train, y_val = y[split.train], y[split.val]
            y_test = data.test_target if data.has_test_set else y[split.test]
            for encoder in encoders:
                X = features[encoder.name]
                X_test = test_features[encoder.name] if data.has_test_set else X[split.test]
                for probe in options.probes:
                    result = fit_predict(probe, data.type, X[split.train], y_train, X[split.val], y_val, X_test, seed)
                    if classification:
                        scores = classification_metrics(y_test, result.predictions)
                    else:
                        scores = regression_metrics(y_test, result.predictions, y_train)
                    key = (encoder.name, probe, split.name)
                    row = rows.setdefault(
                        key, ResultRow(name, encoder.name, probe, split.name, len(split.train), len(y_test))
                    )
                    for metric, value in scores.items():
                        row.values.setdefault(metric, []).append(float(value))
                    if seed == 0:
                        test_lonlat = data.test_lonlat if data.has_test_set else data.lonlat[split.test]
                        first_seed[key] = _Prediction(test_lonlat, y_test, result.predictions)
                    if on_progress is not None:
                        on_progress(1)
    outcome.rows = list(rows.values())
    if options.maps and outcome.rows:
        outcome.map_path = _write_best_map(name, data, outcome.rows, first_seed, out_dir)
    return outcome


def _continents(data: object, options: ProbeOptions) -> np.ndarray:
    from satclip_cli.probing.continents import continent_of

    return continent_of(data.lonlat, data_dir=options.data_dir)


def _split(split_name: str, data: object, continents: np.ndarray | None, few: float | None, seed: int):
    """The :class:`Split` of ``split_name`` for ``seed`` and a warning (rare classes dropped), or None."""
    from satclip_cli.probing.splits import continent_holdout, drop_rare_classes, few_shot, random_split

    if split_name == "random":
        # A task with its own test points (land-ocean's grid) is scored on those; its random test part is unused.
        split = random_split(len(data.lonlat), seed)
    else:
        continent = split_name.removeprefix("holdout-").title()
        split = continent_holdout(continents, continent, seed)
        if few is not None:
            split = few_shot(split, few, seed)
    note = None
    if data.type == "classification":
        split, note = drop_rare_classes(data.target, split)
    return split, note


def _write_best_map(
    name: str, data: object, rows: list[ResultRow], predictions: dict[tuple[str, str, str], _Prediction], out_dir: Path
) -> Path:
    from satclip_cli.probing.report import write_task_maps

    metric = "accuracy" if data.type == "classification" else "r2"
    candidates = [row for row in rows if row.split == rows[0].split and row.probe == rows[0].probe]
    sign = 1.0 if HIGHER_IS_BETTER[metric] else -1.0
    best = max(candidates, key=lambda row: sign * row.mean(metric))
    prediction = predictions[(best.encoder, best.probe, best.split)]
    title = f"{name}: {best.encoder} + {best.probe} probe, {best.split} split ({metric} {best.mean(metric):.3f})"
    return write_task_maps(
        out_dir / "maps" / f"{name}.png",
        title,
        prediction.lonlat,
        np.asarray(prediction.truth),
        np.asarray(prediction.prediction),
        classification=data.type == "classification",
    )
