"""The probing stage's job: ``run(config)`` embeds each task's points with every encoder, fits probes, scores.

For each task, every encoder embeds the task's points once; then for each split and seed (and each fold of
a K-fold split: ``spatial-block``, or ``random`` with ``folds``) the probes are fitted on the training part
(hyper-parameters chosen on the validation part, which comes from the training folds only) and scored on
the test part. A seed's value of a metric is the mean over its folds, except ``r2``, which is the pooled
out-of-fold R² of all its folds (:func:`~satclip_cli.probing.metrics.pooled_r2`: a fold of few points with
little variance cannot dominate it); rows give mean and std over seeds and a bootstrap 95 % interval
(:mod:`~satclip_cli.probing.bootstrap`) over the test points of every seed and fold. Rows are written to
``results.json``/``results.csv``, with a PNG map per task (and the fold layout of the spatial blocks,
``maps/<task>_blocks.png``) in the report folder.
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
    blocks_map_path: Path | None = None


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
        paths = [(outcome.map_path, outcome.blocks_map_path) for outcome in self.outcomes]
        return [path for pair in paths for path in pair if path is not None]

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
    folds = sum(config.folds_of(split) or 1 for split in config.splits)
    fits = len(loaders) * folds * config.seeds * len(encoders) * len(config.probes)
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
    from satclip_cli.probing.bootstrap import ScoredGroup, bootstrap_intervals
    from satclip_cli.probing.metrics import classification_metrics, pooled_r2, regression_metrics
    from satclip_cli.probing.probes import fit_predict

    outcome = TaskOutcome(task=name, warnings=list(data.warnings()))
    classification = data.type == "classification"
    if "spatial-block" in config.splits:  # blocks that do not fit the data fail before anything is embedded
        from satclip_cli.probing.splits import spatial_block_kfold, uneven_folds_warning

        kfold = spatial_block_kfold(data.lonlat, config.n_folds, config.block_size_km, seed=0)
        uneven = uneven_folds_warning(kfold, config.block_size_km)
        if uneven:
            outcome.warnings.append(uneven)
    features = {encoder.name: encoder.encode(data.lonlat) for encoder in encoders}
    test_features = (
        {encoder.name: encoder.encode(data.test_lonlat) for encoder in encoders} if data.has_test_set else {}
    )
    continents = _continents(data, config) if config.holds_out_continents else None
    rows: dict[tuple[str, str, str], ResultRow] = {}
    groups: dict[tuple[str, str, str], list[ScoredGroup]] = {}
    first_seed: dict[tuple[str, str, str], list[_Prediction]] = {}
    blocks_fold: np.ndarray | None = None
    for split_name in config.splits:
        n_folds = config.folds_of(split_name)
        fits_per_seed = (n_folds or 1) * len(encoders) * len(config.probes)
        if split_name.startswith("holdout-") and data.has_test_set:
            outcome.warnings.append(f"{name} has its own test grid: split {split_name} skipped")
            advance(config.seeds * fits_per_seed)
            continue
        # A K-fold split tests every point of the task once, also for a task with its own test grid.
        own_test = data.has_test_set and n_folds is None
        dropped = _Dropped()
        for seed in range(config.seeds):
            splits, fold_of_point = _splits(split_name, data, continents, config, seed, dropped)
            if split_name == "spatial-block" and seed == 0:
                blocks_fold = fold_of_point
            fold_scores: dict[tuple[str, str, str], list[dict[str, float]]] = {}
            fold_predictions: dict[tuple[str, str, str], list[tuple[np.ndarray, np.ndarray]]] = {}
            for split in splits:
                y = data.target
                y_train, y_val = y[split.train], y[split.val]
                y_test = data.test_target if own_test else y[split.test]
                test_lonlat = data.test_lonlat if own_test else data.lonlat[split.test]
                for encoder in encoders:
                    X = features[encoder.name]
                    X_test = test_features[encoder.name] if own_test else X[split.test]
                    for probe in config.probes:
                        result = fit_predict(
                            probe, data.type, X[split.train], y_train, X[split.val], y_val, X_test, seed
                        )
                        if classification:
                            scores = classification_metrics(y_test, result.predictions)
                        else:
                            scores = regression_metrics(y_test, result.predictions, y_train)
                        key = (encoder.name, probe, split.name)
                        fold_scores.setdefault(key, []).append(scores)
                        fold_predictions.setdefault(key, []).append((y_test, result.predictions))
                        train_std = float(np.std(np.asarray(y_train, dtype=np.float64)))
                        pool = seed if n_folds is not None else None
                        groups.setdefault(key, []).append(ScoredGroup(y_test, result.predictions, train_std, pool))
                        row = rows.setdefault(
                            key,
                            ResultRow(name, encoder.name, probe, split.name, len(split.train), 0, folds=n_folds),
                        )
                        if seed == 0:
                            row.n_test += len(y_test)
                            first_seed.setdefault(key, []).append(_Prediction(test_lonlat, y_test, result.predictions))
                        advance(1)
            for key, per_fold in fold_scores.items():
                for metric in per_fold[0]:
                    rows[key].values.setdefault(metric, []).append(float(np.mean([s[metric] for s in per_fold])))
                if n_folds is not None and not classification:
                    truths, predictions = zip(*fold_predictions[key], strict=True)
                    rows[key].values["r2"][-1] = pooled_r2(list(truths), list(predictions))
        warning = dropped.warning(split_name, n_folds, config.seeds)
        if warning:
            outcome.warnings.append(warning)
    for key, row in rows.items():
        row.ci95 = bootstrap_intervals(groups[key], classification, config.bootstrap, seed=0)
    outcome.rows = list(rows.values())
    if config.maps and outcome.rows:
        pooled = {key: _pool(parts) for key, parts in first_seed.items()}
        outcome.map_path = _write_best_map(name, data, outcome.rows, pooled, Path(config.out))
        if blocks_fold is not None:
            outcome.blocks_map_path = _write_blocks_map(name, data, blocks_fold, config)
    return outcome


@dataclass
class _Dropped:
    """Test points of classes dropped from folds for lack of training samples, summed over folds and seeds."""

    classes: int = 0
    test_points: int = 0
    splits: int = 0
    note: str | None = None

    def warning(self, split_name: str, n_folds: int | None, seeds: int) -> str | None:
        if n_folds is None:
            return self.note
        if not self.splits:
            return None
        return (
            f"{split_name} split: {self.splits} of {n_folds * seeds} folds ({n_folds} folds x {seeds} seeds) dropped "
            f"classes with fewer than 2 training samples ({self.classes} class drops, {self.test_points} test points "
            "not scored)"
        )


def _pool(parts: list[_Prediction]) -> _Prediction:
    """The test predictions of all folds of one seed, as one."""
    return _Prediction(
        np.concatenate([part.lonlat for part in parts]),
        np.concatenate([np.asarray(part.truth) for part in parts]),
        np.concatenate([np.asarray(part.prediction) for part in parts]),
    )


def _continents(data: TaskData, config: ProbeConfig) -> np.ndarray:
    from satclip_cli.probing.continents import continent_of

    return continent_of(data.lonlat, data_dir=config.data_dir)


def _splits(
    split_name: str,
    data: TaskData,
    continents: np.ndarray | None,
    config: ProbeConfig,
    seed: int,
    dropped: _Dropped,
) -> tuple[list[Split], np.ndarray | None]:
    """The splits of ``split_name`` for ``seed`` (one, or one per fold) and each point's fold (K-fold only).

    Classification: classes with fewer than 2 training samples are dropped from each split (counted in
    ``dropped``).
    """
    from satclip_cli.probing.splits import (
        continent_holdout,
        drop_rare_classes,
        drop_rare_classes_quietly,
        few_shot,
        random_kfold,
        random_split,
        spatial_block_kfold,
    )

    n_folds = config.folds_of(split_name)
    fold_of_point = None
    if split_name == "spatial-block":
        kfold = spatial_block_kfold(data.lonlat, config.n_folds, config.block_size_km, seed)
        splits, fold_of_point = kfold.splits, kfold.fold_of_point
    elif split_name == "random" and n_folds is not None:
        kfold = random_kfold(len(data.lonlat), n_folds, seed)
        splits, fold_of_point = kfold.splits, kfold.fold_of_point
    elif split_name == "random":
        # A task with its own test points (land-ocean's grid) is scored on those; its random test part is unused.
        splits = [random_split(len(data.lonlat), seed)]
    else:
        continent = split_name.removeprefix("holdout-").title()
        split = continent_holdout(continents, continent, seed)
        if config.few_shot is not None:
            split = few_shot(split, config.few_shot, seed)
        splits = [split]
    if data.type != "classification":
        return splits, fold_of_point
    if n_folds is None:
        split, note = drop_rare_classes(data.target, splits[0])
        if seed == 0:
            dropped.note = note
        return [split], fold_of_point
    kept = []
    for split in splits:
        split, classes, test_points = drop_rare_classes_quietly(data.target, split)
        if classes:
            dropped.splits += 1
            dropped.classes += classes
            dropped.test_points += test_points
        kept.append(split)
    return kept, fold_of_point


def _write_best_map(
    name: str, data: TaskData, rows: list[ResultRow], predictions: dict[tuple[str, str, str], _Prediction], out: Path
) -> Path:
    from satclip_cli.probing.maps import write_task_maps

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


def _write_blocks_map(name: str, data: TaskData, fold_of_point: np.ndarray, config: ProbeConfig) -> Path:
    from satclip_cli.probing.maps import write_blocks_map
    from satclip_cli.probing.spatial_blocks import block_grid

    grid = block_grid(config.block_size_km)
    blocks = np.unique(grid.block_of(data.lonlat))
    title = (
        f"{name}: spatial blocks of {config.block_size_km:g} km ({blocks.size} with points) "
        f"in {config.n_folds} folds (seed 0)"
    )
    bounds = [grid.block_bounds(int(block)) for block in blocks]
    return write_blocks_map(
        Path(config.out) / "maps" / f"{name}_blocks.png", title, data.lonlat, fold_of_point, bounds, config.n_folds
    )
