"""Probe metrics: ``r2``, ``mse``, ``mae`` for regression, ``accuracy`` and ``macro_f1`` for classification.

* ``r2``: coefficient of determination on the test part, ``1 - SS_res / SS_tot`` with the test mean (as
  sklearn's ``r2_score``; a constant test target gives 1.0 for a perfect prediction, else 0.0).
  Under K-fold cross-validation a seed's ``r2`` is :func:`pooled_r2`: one R² over the predictions of all
  folds pooled (each point predicted by the fold model that did not see it), about the mean of all points.
* ``mse``: mean squared error of the target standardised with the *training* mean and standard deviation
  (population std, ``ddof=0``), as the SatCLIP paper reports it; equal to ``MSE / std_train**2``.
* ``mae``: mean absolute error in the target's original units.
* ``accuracy``: share of test points whose predicted class is right.
* ``macro_f1``: unweighted mean of the per-class F1 over the classes present in ``y_true`` (sklearn's
  ``f1_score(y_true, y_pred, labels=np.unique(y_true), average="macro", zero_division=0)``). Classes that are
  only predicted do not add a zero to the average: wrong predictions already lower the recall of the true
  classes. This matters for a continent hold-out, where the probe predicts classes the test part lacks.
"""

from __future__ import annotations

import numpy as np

from satclip_cli.errors import InputError


def _check_pair(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y_true, y_pred = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has {y_true.size} values but y_pred has {y_pred.size}")
    if y_true.size == 0:
        raise InputError("cannot score an empty test part")
    return y_true, y_pred


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray, y_train: np.ndarray) -> dict[str, float]:
    """``{"r2", "mse", "mae"}`` of float [n_test] predictions; ``y_train`` [n_train] gives the scale of ``mse``."""
    y_true, y_pred = _check_pair(y_true, y_pred)
    y_true, y_pred = y_true.astype(np.float64), y_pred.astype(np.float64)
    train_std = float(np.std(np.asarray(y_train, dtype=np.float64)))
    residual = y_true - y_pred
    ss_res = float(np.sum(residual**2))
    ss_tot = float(np.sum((y_true - y_true.mean()) ** 2))
    # A constant test target (ss_tot = 0) scores 1.0 if predicted exactly, else 0.0 (sklearn's r2_score).
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else float(ss_res == 0)
    mse = float(np.mean(residual**2))
    return {
        "r2": r2,
        "mse": mse / train_std**2 if train_std > 0 else mse,
        "mae": float(np.mean(np.abs(residual))),
    }


def pooled_r2(truths: list[np.ndarray], predictions: list[np.ndarray]) -> float:
    """R² of the out-of-fold predictions of all folds pooled: ``1 - sum SS_res / SS_tot`` about the pooled mean.

    ``truths``, ``predictions``: one float [n_k] array per fold. Unlike the mean of per-fold R² (each with
    its fold's own test mean), a fold of few points whose targets barely vary cannot dominate it: every
    residual is weighed against the variance of the whole data set (as sklearn's ``r2_score`` of
    ``cross_val_predict``).
    """
    return regression_metrics(np.concatenate(truths), np.concatenate(predictions), np.zeros(1))["r2"]


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """``{"accuracy", "macro_f1"}`` of [n_test] predicted labels; macro F1 over the classes present in ``y_true``."""
    y_true, y_pred = _check_pair(y_true, y_pred)
    classes, true_index = np.unique(y_true, return_inverse=True)
    n_classes = classes.size
    # Index of each prediction among the true classes; n_classes for a class absent from y_true.
    position = np.searchsorted(classes, y_pred)
    position = np.minimum(position, n_classes - 1)
    pred_index = np.where(classes[position] == y_pred, position, n_classes)
    correct = true_index == pred_index
    true_positive = np.bincount(true_index[correct], minlength=n_classes)
    support = np.bincount(true_index, minlength=n_classes)
    predicted = np.bincount(pred_index, minlength=n_classes + 1)[:n_classes]
    # F1 = 2 TP / (2 TP + FP + FN) = 2 TP / (predicted + support); support > 0 for every class here.
    f1 = 2.0 * true_positive / (predicted + support)
    return {"accuracy": float(correct.mean()), "macro_f1": float(f1.mean())}
