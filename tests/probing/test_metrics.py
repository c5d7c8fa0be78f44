"""Probe metrics agree with sklearn; ``mse`` is on the target standardised with the training statistics."""

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, mean_absolute_error, mean_squared_error, r2_score

from satclip_cli.errors import InputError
from satclip_cli.probing.metrics import classification_metrics, pooled_r2, regression_metrics


def test_regression_metrics_match_sklearn() -> None:
    rng = np.random.default_rng(0)
    y_train = rng.normal(10.0, 4.0, 300)
    y_true = rng.normal(12.0, 3.0, 100)
    y_pred = y_true + rng.normal(0.5, 1.5, 100)
    metrics = regression_metrics(y_true, y_pred, y_train)
    assert set(metrics) == {"r2", "mse", "mae"}
    assert metrics["r2"] == pytest.approx(r2_score(y_true, y_pred), rel=1e-12)
    assert metrics["mae"] == pytest.approx(mean_absolute_error(y_true, y_pred), rel=1e-12)
    mean, std = y_train.mean(), y_train.std()
    standardised = mean_squared_error((y_true - mean) / std, (y_pred - mean) / std)
    assert metrics["mse"] == pytest.approx(standardised, rel=1e-12)
    assert metrics["mse"] == pytest.approx(mean_squared_error(y_true, y_pred) / 16.0, rel=0.2)  # std about 4


def test_regression_metrics_edge_cases() -> None:
    assert regression_metrics([2.0, 2.0], [2.0, 2.0], [1.0, 3.0])["r2"] == 1.0
    assert regression_metrics([2.0, 2.0], [2.0, 3.0], [1.0, 3.0])["r2"] == r2_score([2.0, 2.0], [2.0, 3.0])
    assert regression_metrics([1.0, 3.0], [1.0, 2.0], [5.0, 5.0])["mse"] == 0.5  # constant train: raw MSE
    with pytest.raises(InputError, match="empty test part"):
        regression_metrics([], [], [1.0, 2.0])


def test_pooled_r2_is_one_r2_over_all_folds_so_a_tiny_flat_fold_cannot_dominate() -> None:
    rng = np.random.default_rng(4)
    big_truth = rng.normal(0.0, 10.0, 1000)
    big_pred = big_truth + rng.normal(0.0, 5.0, 1000)  # R² about 0.75
    tiny_truth, tiny_pred = np.array([3.0, 3.01]), np.array([4.0, 2.0])  # 2 points, almost no variance
    per_fold = [r2_score(big_truth, big_pred), r2_score(tiny_truth, tiny_pred)]
    assert np.mean(per_fold) < -1000  # the mean of per-fold R² explodes on the tiny fold
    pooled = pooled_r2([big_truth, tiny_truth], [big_pred, tiny_pred])
    expected = r2_score(np.r_[big_truth, tiny_truth], np.r_[big_pred, tiny_pred])
    assert pooled == pytest.approx(expected, rel=1e-12) and 0.7 < pooled < 0.8


def test_classification_metrics_match_sklearn_over_the_classes_in_y_true() -> None:
    rng = np.random.default_rng(1)
    y_true = rng.integers(0, 6, 500)
    y_pred = np.where(rng.random(500) < 0.7, y_true, rng.integers(0, 9, 500))  # 6..8 are never true
    metrics = classification_metrics(y_true, y_pred)
    assert set(metrics) == {"accuracy", "macro_f1"}
    assert metrics["accuracy"] == pytest.approx(accuracy_score(y_true, y_pred), rel=1e-12)
    expected = f1_score(y_true, y_pred, labels=np.unique(y_true), average="macro", zero_division=0)
    assert metrics["macro_f1"] == pytest.approx(expected, rel=1e-12)
    assert metrics["macro_f1"] > f1_score(y_true, y_pred, average="macro")  # sklearn's default adds zeros


def test_classification_metrics_with_string_labels_and_a_never_predicted_class() -> None:
    y_true = np.array(["forest", "desert", "tundra", "forest", "desert", "ice"])
    y_pred = np.array(["forest", "forest", "tundra", "forest", "desert", "steppe"])
    metrics = classification_metrics(y_true, y_pred)
    assert metrics["accuracy"] == pytest.approx(4 / 6)
    expected = f1_score(y_true, y_pred, labels=np.unique(y_true), average="macro", zero_division=0)
    assert metrics["macro_f1"] == pytest.approx(expected, rel=1e-12)
    with pytest.raises(InputError):
        classification_metrics(np.array([], dtype=int), np.array([], dtype=int))
