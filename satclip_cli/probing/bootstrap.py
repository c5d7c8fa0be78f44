"""Bootstrap 95 % confidence intervals of probe metrics, over test points, pooled over seeds and folds.

A result row is scored on several *groups* of test points: one per seed (a split) or one per seed and
fold (K-fold cross-validation). Its reported value is the mean of the metric over the groups. One bootstrap
replicate resamples, with replacement, the test points of every group independently (same size as the
group), scores each resampled group with the same metric (:mod:`~satclip_cli.probing.metrics`, vectorised
over replicates here) and averages over the groups; the interval is the 2.5th and 97.5th percentile of
``n_boot`` replicates (the percentile bootstrap). The replicates of all metrics of a row share the same
resampled indices.

The folds of one seed of a K-fold split form a *pool* (:attr:`ScoredGroup.pool`): their ``r2`` is the pooled
out-of-fold R² (:func:`~satclip_cli.probing.metrics.pooled_r2`), so a replicate resamples each fold's points
as above and scores the ``r2`` of their union (each replicate's sums of squares about a fixed centre, the
pool's mean); the ``r2`` replicate of the row is then the mean over pools and un-pooled groups.

Cost: one replicate touches each test point once per metric, so 1000 replicates of 10,000 test points are
about 10^7 gathers per metric; the index matrix is drawn in chunks of about :data:`_CHUNK_ELEMENTS` values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_CHUNK_ELEMENTS = 2_000_000


@dataclass(frozen=True)
class ScoredGroup:
    """Test points of one seed (and fold): truth, prediction, and the training target's scale.

    Attributes:
        truth: [n] targets (float, regression) or labels (classification).
        prediction: [n] predictions, same kind as ``truth``.
        train_std: regression: population standard deviation of the training target (the ``mse`` scale,
            as in :func:`~satclip_cli.probing.metrics.regression_metrics`); ignored for classification.
        pool: regression: groups with the same ``pool`` (the folds of one seed) score one pooled ``r2``;
            ``None``: the group's own ``r2``. Ignored for classification.
    """

    truth: np.ndarray
    prediction: np.ndarray
    train_std: float = 1.0
    pool: int | None = None


def bootstrap_intervals(
    groups: list[ScoredGroup], classification: bool, n_boot: int = 1000, seed: int = 0
) -> dict[str, tuple[float, float]]:
    """``{metric: (low, high)}``: percentile-bootstrap 95 % interval of the mean-over-groups metric (``r2`` of
    pooled groups: the mean over pools of the pooled R², see the module docstring).

    Regression metrics: ``r2``, ``mse``, ``mae``; classification: ``accuracy``, ``macro_f1``.
    ``n_boot`` replicates (0 gives ``{}``); ``seed`` makes the intervals reproducible.
    """
    if n_boot <= 0 or not groups:
        return {}
    rng = np.random.default_rng(seed)
    centres = _pool_centres(groups) if not classification else {}
    totals: dict[str, np.ndarray] = {}
    pool_sums: dict[int, dict[str, np.ndarray]] = {}
    for group in groups:
        centre = centres.get(group.pool) if group.pool is not None else None
        scores = _group_replicates(group, classification, n_boot, rng, centre)
        if centre is not None:
            sums = pool_sums.setdefault(group.pool, {})
            for name in ("ss_res", "sum", "sum_sq", "n"):
                sums[name] = sums.get(name, 0.0) + scores.pop(name)
            scores.pop("r2")
        for metric, values in scores.items():
            totals[metric] = totals.get(metric, 0.0) + values
    units = {metric: len(groups) for metric in totals}
    if pool_sums:
        unpooled = sum(1 for group in groups if group.pool is None)
        totals["r2"] = totals.get("r2", 0.0) + sum(_pooled_r2(sums) for sums in pool_sums.values())
        units["r2"] = unpooled + len(pool_sums)
    return {
        metric: (
            float(np.percentile(total / units[metric], 2.5)),
            float(np.percentile(total / units[metric], 97.5)),
        )
        for metric, total in totals.items()
    }


def _pool_centres(groups: list[ScoredGroup]) -> dict[int, float]:
    """The mean truth of each pool's points (sums of squares are taken about it, to avoid cancellation)."""
    truths: dict[int, list[np.ndarray]] = {}
    for group in groups:
        if group.pool is not None:
            truths.setdefault(group.pool, []).append(np.asarray(group.truth, dtype=np.float64))
    return {pool: float(np.concatenate(parts).mean()) for pool, parts in truths.items()}


def _pooled_r2(sums: dict[str, np.ndarray]) -> np.ndarray:
    """Per replicate: R² of a pool's resampled points, from the sums over its groups."""
    ss_tot = sums["sum_sq"] - sums["sum"] ** 2 / sums["n"]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ss_tot > 0, 1.0 - sums["ss_res"] / ss_tot, (sums["ss_res"] == 0).astype(np.float64))


def _group_replicates(
    group: ScoredGroup, classification: bool, n_boot: int, rng: np.random.Generator, centre: float | None = None
) -> dict[str, np.ndarray]:
    """Per-replicate metrics of one group [n_boot] each; with a ``centre`` (regression, pooled r2) also the
    sums a pool's r2 needs: ``ss_res``, ``sum`` and ``sum_sq`` of ``truth - centre``, and ``n``."""
    n = len(group.truth)
    chunk = max(1, _CHUNK_ELEMENTS // max(1, n))
    parts: dict[str, list[np.ndarray]] = {}
    if classification:
        classes, truth = np.unique(np.asarray(group.truth), return_inverse=True)
        prediction = _label_positions(classes, np.asarray(group.prediction))
    for start in range(0, n_boot, chunk):
        index = rng.integers(0, n, size=(min(chunk, n_boot - start), n))
        if classification:
            scores = _classification_scores(truth[index], prediction[index], classes.size)
        else:
            values = np.asarray(group.truth, dtype=np.float64)[index]
            predicted = np.asarray(group.prediction, dtype=np.float64)[index]
            scores = _regression_scores(values, predicted, group.train_std)
            if centre is not None:
                scores["ss_res"] = np.sum((values - predicted) ** 2, axis=1)
                shifted = values - centre
                scores["sum"], scores["sum_sq"] = shifted.sum(axis=1), np.sum(shifted**2, axis=1)
                scores["n"] = np.full(values.shape[0], float(n))
        for metric, values in scores.items():
            parts.setdefault(metric, []).append(values)
    return {metric: np.concatenate(values) for metric, values in parts.items()}


def _regression_scores(truth: np.ndarray, prediction: np.ndarray, train_std: float) -> dict[str, np.ndarray]:
    """Per row of [B, n] resampled truth/prediction: r2, mse (scaled by ``train_std**2``), mae."""
    residual = truth - prediction
    ss_res = np.sum(residual**2, axis=1)
    ss_tot = np.sum((truth - truth.mean(axis=1, keepdims=True)) ** 2, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(ss_tot > 0, 1.0 - ss_res / ss_tot, (ss_res == 0).astype(np.float64))
    mse = ss_res / truth.shape[1]
    return {
        "r2": r2,
        "mse": mse / train_std**2 if train_std > 0 else mse,
        "mae": np.mean(np.abs(residual), axis=1),
    }


def _label_positions(classes: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Index of each label among ``classes``; ``classes.size`` for a label that is not a true class."""
    position = np.minimum(np.searchsorted(classes, labels), classes.size - 1)
    return np.where(classes[position] == labels, position, classes.size)


def _classification_scores(truth: np.ndarray, prediction: np.ndarray, n_classes: int) -> dict[str, np.ndarray]:
    """Per row of [B, n] resampled class indices: accuracy and macro F1 over the classes present in the row."""
    n_rows = truth.shape[0]
    correct = truth == prediction
    offset = (np.arange(n_rows) * (n_classes + 1))[:, None]
    size = n_rows * (n_classes + 1)
    support = np.bincount((truth + offset).ravel(), minlength=size).reshape(n_rows, -1)[:, :n_classes]
    predicted = np.bincount((prediction + offset).ravel(), minlength=size).reshape(n_rows, -1)[:, :n_classes]
    true_positive = np.bincount((truth + offset)[correct], minlength=size).reshape(n_rows, -1)[:, :n_classes]
    present = support > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(present, 2.0 * true_positive / (predicted + support), 0.0)
    return {"accuracy": correct.mean(axis=1), "macro_f1": f1.sum(axis=1) / present.sum(axis=1)}
