"""Bootstrap intervals of the probe metrics (satclip_cli.probing.bootstrap)."""

from __future__ import annotations

import numpy as np
import pytest

from satclip_cli.probing.bootstrap import ScoredGroup, bootstrap_intervals
from satclip_cli.probing.metrics import classification_metrics, pooled_r2, regression_metrics


def test_regression_interval_brackets_the_score_and_shrinks_with_more_points() -> None:
    rng = np.random.default_rng(0)

    def group(n: int) -> ScoredGroup:
        truth = rng.normal(size=n)
        return ScoredGroup(truth, truth + 0.5 * rng.normal(size=n), train_std=1.0)

    small, large = group(200), group(5000)
    ci_small = bootstrap_intervals([small], classification=False, n_boot=500)
    ci_large = bootstrap_intervals([large], classification=False, n_boot=500)
    for metric in ("r2", "mse", "mae"):
        score = regression_metrics(large.truth, large.prediction, np.array([-1.0, 1.0]))[metric]
        low, high = ci_large[metric]
        assert low < score < high
        assert high - low < ci_small[metric][1] - ci_small[metric][0]
    # predicting y + N(0, 0.5^2) leaves 1/4 of the variance: r2 = 0.75, pinned to about +-0.015 by 5000 points
    assert 0.72 < ci_large["r2"][0] < 0.75 < ci_large["r2"][1] < 0.78


def test_pooled_folds_get_an_interval_of_the_pooled_r2_and_other_metrics_are_unchanged() -> None:
    rng = np.random.default_rng(5)
    big_truth = rng.normal(0.0, 10.0, 2000)
    big = (big_truth, big_truth + rng.normal(0.0, 5.0, 2000))
    tiny = (np.array([3.0, 3.01, 3.02]), np.array([4.0, 2.0, 3.5]))  # a flat fold of 3 points, badly predicted
    separate = [ScoredGroup(*big), ScoredGroup(*tiny)]
    pooled = [ScoredGroup(*big, pool=0), ScoredGroup(*tiny, pool=0)]
    ci_separate = bootstrap_intervals(separate, classification=False, n_boot=400, seed=1)
    ci_pooled = bootstrap_intervals(pooled, classification=False, n_boot=400, seed=1)
    assert ci_separate["r2"][0] < -100  # the mean of per-fold R² is absurd
    score = pooled_r2([big[0], tiny[0]], [big[1], tiny[1]])
    low, high = ci_pooled["r2"]
    assert 0.7 < low < score < high < 0.8
    assert ci_pooled["mse"] == ci_separate["mse"] and ci_pooled["mae"] == ci_separate["mae"]
    # two pools (two seeds): the interval is of the mean of the two pooled R²
    other = [ScoredGroup(*big, pool=1), ScoredGroup(big[0][:3], big[0][:3], pool=1)]  # a perfect small fold
    both = bootstrap_intervals(pooled + other, classification=False, n_boot=400, seed=1)
    second = pooled_r2([big[0], big[0][:3]], [big[1], big[0][:3]])
    assert both["r2"][0] < (score + second) / 2 < both["r2"][1] and both["r2"][1] - both["r2"][0] < 0.05


def test_classification_interval_and_pooling_over_groups() -> None:
    rng = np.random.default_rng(1)
    groups = []
    for _ in range(5):  # five folds
        truth = rng.integers(0, 4, size=400)
        prediction = np.where(rng.random(400) < 0.7, truth, rng.integers(0, 4, size=400))
        groups.append(ScoredGroup(truth, prediction))
    ci = bootstrap_intervals(groups, classification=True, n_boot=400, seed=3)
    assert set(ci) == {"accuracy", "macro_f1"}
    mean = {m: np.mean([classification_metrics(g.truth, g.prediction)[m] for g in groups]) for m in ci}
    for metric, (low, high) in ci.items():
        assert low < mean[metric] < high and high - low < 0.06
    # the same seed gives the same interval; no replicates, no interval
    assert bootstrap_intervals(groups, classification=True, n_boot=400, seed=3) == ci
    assert bootstrap_intervals(groups, classification=True, n_boot=0) == {}


def test_macro_f1_of_each_replicate_matches_the_metric_module() -> None:
    from satclip_cli.probing.bootstrap import _classification_scores

    rng = np.random.default_rng(2)
    truth = rng.integers(0, 5, size=(6, 50))
    prediction = np.where(rng.random((6, 50)) < 0.5, truth, rng.integers(0, 6, size=(6, 50)))  # 5 = not a class
    scores = _classification_scores(truth, prediction, 5)
    for row in range(6):
        expected = classification_metrics(truth[row], prediction[row])
        assert scores["accuracy"][row] == pytest.approx(expected["accuracy"])
        assert scores["macro_f1"][row] == pytest.approx(expected["macro_f1"])
