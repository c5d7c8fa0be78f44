"""The probing stage's job: ``run(config)`` embeds each task's points with every encoder, fits probes, scores.

For each task, every encoder embeds the task's points once; then for each split and seed the
probes are fitted on the training part (hyper-parameters chosen on the validation part) and
scored on the test part. Results are aggregated over seeds into :class:`ResultRow` s, written to
``results.json``/``results.csv`` (and a PNG map per task) in the report folder.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from satclip_cli.probing.config import ProbeConfig
from satclip_cli.probing.encoders import ProbeEncoder, resolve_encoders
from satclip_cli.probing.report import HIGHER_IS_BETTER, ResultRow, write_results
from satclip_cli.probing.splits import Split
from satclip_cli.probing.tasks import TaskData, load_custom_task, load_task
from satclip_cli.utils.progress import progress_bar


@dataclass
class TaskOutcome:
    """Rows of one task, the warnings its data gave, and the map written for its best encoder."""

    task: str
    rows: list[ResultRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    map_path: Path | None = None


@dataclass(frozen=True)
class ProbeSummary:
    """What :func:`run` produced.

    Attributes:
        outcomes: one per task, in the order run (registered tasks, then the custom one).
        results_json: ``results.json``: per row the metrics as mean, std and per-seed values.
        results_csv: ``results.csv``: one flat record per row.
    """

    outcomes: tuple[TaskOutcome, ...]
    results_json: Path
    results_csv: Path

    @property
    def rows(self) -> list[ResultRow]:
        """Every task's rows (task x encoder x probe x split), in order."""
        return [row for outcome in self.outcomes for row in outcome.rows]

    @property
    def maps(self) -> list[Path]:
        """The PNG maps written (one per task that has rows, unless maps were turned off)."""
        return [outcome.map_path for outcome in self.outcomes if outcome.map_path is not None]

    def lines(self) -> list[str]:
        """The human summary: the files written."""
        written = [str(self.results_json), str(self.results_csv)] + [str(path) for path in self.maps]
        return [f"Wrote {', '.join(written)}"]


@dataclass
class _Prediction:
    lonlat: np.ndarray
    truth: np.ndarray
    prediction: np.ndarray


def run(
    config: ProbeConfig, *, progress: bool = False, on_task: Callable[[TaskOutcome], None] | None = None
) -> ProbeSummary:
    """Evaluate the configured encoders on every configured task and write the report into ``config.out``.

    Args:
        config: the run's settings; checked with :meth:`ProbeConfig.validate` before anything is loaded.
        progress: show a progress bar (probe fits) on stderr.
        on_task: called with each task's :class:`TaskOutcome` as soon as the task is done.

    Raises:
        InputError: bad settings, an unknown encoder, unusable task data, a split that leaves a part empty.
        OfflineError: a task's source had to be downloaded and could not be.
        CheckpointError: a model cannot be loaded.
    """
    config.validate()
    baselines = None if config.baselines is None else list(config.baselines)
    encoders = resolve_encoders(list(config.models), baselines, device=config.device)
    loaders: list[tuple[str, Callable[[], TaskData]]] = [
        (task, lambda task=task: load_task(task, data_dir=config.data_dir, n_points=config.n_points))
        for task in config.task_names
    ]
    if config.data is not None:
        data, target = Path(config.data), config.target
        assert target is not None  # validate() checked it
        loaders.append((data.stem, lambda: load_custom_task(data, target, config.task_type)))
    fits = len(loaders) * len(config.splits) * config.seeds * len(encoders) * len(config.probes)
    outcomes = []
    with progress_bar(progress, fits, "Probing", unit="fits") as advance:
        for name, load in loaders:
            outcome = _run_task(name, load(), config, encoders, advance)
            outcomes.append(outcome)
            if on_task is not None:
                on_task(outcome)
    json_path, csv_path = write_results([row for outcome in outcomes for row in outcome.rows], Path(config.out))
    return ProbeSummary(outcomes=tuple(outcomes), results_json=json_path, results_csv=csv_path)


def _run_task(
    name: str,
    data: TaskData,
    config: ProbeConfig,
    encoders: list[ProbeEncoder],
    advance: Callable[[int], None],
) -> TaskOutcome:
    from satclip_cli.probing.metrics import classification_metrics, regression_metrics
    from satclip_cli.probing.probes import fit_predict

    outcome = TaskOutcome(task=name, warnings=list(data.warnings()))
    classification = data.type == "classification"
    features = {encoder.name: encoder.encode(data.lonlat) for encoder in encoders}
    test_features = (
        {encoder.name: encoder.encode(data.test_lonlat) for encoder in encoders} if data.has_test_set else {}
    )
    continents = _continents(data, config) if config.holds_out_continents else None
    rows: dict[tuple[str, str, str], ResultRow] = {}
    first_seed: dict[tuple[str, str, str], _Prediction] = {}
    for split_name in config.splits:
        if split_name.startswith("holdout-") and data.has_test_set:
            outcome.warnings.append(f"{name} has its own test grid: split {split_name} skipped")
            advance(config.seeds * len(encoders) * len(config.probes))
            continue
        for seed in range(config.seeds):
            split, note = _split(split_name, data, continents, config.few_shot, seed)
            if note and seed == 0:
                outcome.warnings.append(note)
            y = data.target
            y_train, y_val = y[split.train], y[split.val]
            y_test = data.test_target if data.has_test_set else y[split.test]
            for encoder in encoders:
                X = features[encoder.name]
                X_test = test_features[encoder.name] if data.has_test_set else X[split.test]
                for probe in config.probes:
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
                    advance(1)
    outcome.rows = list(rows.values())
    if config.maps and outcome.rows:
        outcome.map_path = _write_best_map(name, data, outcome.rows, first_seed, Path(config.out))
    return outcome


def _continents(data: TaskData, config: ProbeConfig) -> np.ndarray:
    from satclip_cli.probing.continents import continent_of

    return continent_of(data.lonlat, data_dir=config.data_dir)


def _split(
    split_name: str, data: TaskData, continents: np.ndarray | None, few: float | None, seed: int
) -> tuple[Split, str | None]:
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
    name: str, data: TaskData, rows: list[ResultRow], predictions: dict[tuple[str, str, str], _Prediction], out: Path
) -> Path:
    from satclip_cli.probing.report import write_task_maps

    metric = "accuracy" if data.type == "classification" else "r2"
    candidates = [row for row in rows if row.split == rows[0].split and row.probe == rows[0].probe]
    sign = 1.0 if HIGHER_IS_BETTER[metric] else -1.0
    best = max(candidates, key=lambda row: sign * row.mean(metric))
    prediction = predictions[(best.encoder, best.probe, best.split)]
    title = f"{name}: {best.encoder} + {best.probe} probe, {best.split} split ({metric} {best.mean(metric):.3f})"
    return write_task_maps(
        out / "maps" / f"{name}.png",
        title,
        prediction.lonlat,
        np.asarray(prediction.truth),
        np.asarray(prediction.prediction),
        classification=data.type == "classification",
    )
