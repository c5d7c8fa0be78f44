"""Probes: the closed-form ridge equals sklearn's RidgeCV, every probe learns what it should, training-only
standardisation, seeded determinism, and one-line errors for bad input."""

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

from satclip_cli.errors import InputError
from satclip_cli.probing.metrics import classification_metrics, regression_metrics
from satclip_cli.probing.probes import (
    LOGISTIC_TOL,
    RIDGE_ALPHAS,
    Standardizer,
    _logistic_probe,
    _mlp_probe,
    fit_predict,
    ridge_cv,
)


def correlated_regression(n: int, d: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Features with uneven scales, offsets and correlations; a noisy linear target with an offset."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) * rng.uniform(0.1, 5.0, d) + rng.normal(0, 3, d)
    y = X @ rng.normal(size=d) * 0.3 + rng.normal(0, 2.0, n) + 7.0
    return X, y


def three_parts(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, ...]:
    """60/20/20 contiguous parts: X_train, y_train, X_val, y_val, X_test, y_test."""
    a, b = int(0.6 * len(y)), int(0.8 * len(y))
    return X[:a], y[:a], X[a:b], y[a:b], X[b:], y[b:]


@pytest.mark.parametrize(("n", "d"), [(400, 12), (40, 60), (1500, 80)])
def test_ridge_cv_equals_sklearn_ridgecv(n: int, d: int) -> None:
    X, y = correlated_regression(n, d)
    ours = ridge_cv(X, y, RIDGE_ALPHAS)
    reference = RidgeCV(alphas=RIDGE_ALPHAS, store_cv_results=True).fit(X, y)
    assert ours.alpha == reference.alpha_
    np.testing.assert_allclose(ours.loo_mse, reference.cv_results_.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(ours.coef, reference.coef_, rtol=1e-7, atol=1e-10 * np.abs(reference.coef_).max())
    X_new, _ = correlated_regression(50, d, seed=1)
    np.testing.assert_allclose(ours.predict(X_new), reference.predict(X_new), rtol=1e-8, atol=1e-8)


def test_ridge_cv_float32_input_and_interior_alpha() -> None:
    X, y = correlated_regression(3000, 40, seed=2)
    X32 = X.astype(np.float32)
    ours = ridge_cv(X32, y)
    reference = RidgeCV(alphas=RIDGE_ALPHAS).fit(X32, y)  # fits in float64, returns float32 coefficients
    assert ours.alpha == reference.alpha_
    assert RIDGE_ALPHAS[0] < ours.alpha < RIDGE_ALPHAS[-1]  # the grid brackets the optimum here
    np.testing.assert_allclose(ours.coef, reference.coef_, rtol=1e-6)
    np.testing.assert_allclose(ours.predict(X32[:100]), reference.predict(X32[:100]), rtol=1e-5, atol=1e-4)


def test_linear_regression_probe_learns_a_linear_target_like_ridgecv_on_standardised_data() -> None:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(2000, 16)) * rng.uniform(0.5, 20.0, 16) + 100.0
    y = X @ rng.normal(size=16) + rng.normal(0, 0.5, 2000)
    X_train, y_train, X_val, y_val, X_test, y_test = three_parts(X, y)
    result = fit_predict("linear", "regression", X_train, y_train, X_val, y_val, X_test)
    assert regression_metrics(y_test, result.predictions, y_train)["r2"] > 0.99
    scaler = Standardizer.fit(X_train)
    reference = RidgeCV(alphas=RIDGE_ALPHAS).fit(scaler.transform(X_train), (y_train - y_train.mean()) / y_train.std())
    assert result.params == {"alpha": reference.alpha_}
    expected = reference.predict(scaler.transform(X_test)) * y_train.std() + y_train.mean()
    np.testing.assert_allclose(result.predictions, expected, rtol=1e-9)
    assert result.probabilities is None and result.classes is None


def test_standardisation_uses_training_statistics_only() -> None:
    rng = np.random.default_rng(4)
    X_train = rng.normal(size=(300, 2))
    X_val = rng.normal(size=(100, 2))
    X_test = rng.normal(size=(100, 2)) * 3.0 + 10.0  # shifted and wider: its own statistics would be wrong

    def target(X: np.ndarray) -> np.ndarray:
        return 3.0 * X[:, 0] - 2.0 * X[:, 1] + 5.0

    result = fit_predict("linear", "regression", X_train, target(X_train), X_val, target(X_val), X_test)
    np.testing.assert_allclose(result.predictions, target(X_test), atol=0.05)

    scaler = Standardizer.fit(np.array([[1.0, 5.0], [3.0, 5.0]]))
    np.testing.assert_array_equal(scaler.mean, [2.0, 5.0])
    np.testing.assert_array_equal(scaler.scale, [1.0, 1.0])  # a constant column keeps scale 1
    np.testing.assert_array_equal(scaler.transform(np.array([[4.0, 7.0]]), np.float32), [[2.0, 2.0]])


def test_mlp_and_knn_beat_linear_on_a_nonlinear_target() -> None:
    rng = np.random.default_rng(5)
    X = rng.uniform(-1.0, 1.0, size=(3000, 2))
    y = np.sin(np.pi * X[:, 0]) * np.sin(np.pi * X[:, 1]) + rng.normal(0, 0.05, 3000)
    X_train, y_train, X_val, y_val, X_test, y_test = three_parts(X, y)
    r2 = {
        kind: regression_metrics(
            y_test, fit_predict(kind, "regression", X_train, y_train, X_val, y_val, X_test).predictions, y_train
        )["r2"]
        for kind in ("linear", "mlp", "knn")
    }
    assert r2["linear"] < 0.05
    assert r2["mlp"] > 0.8
    assert r2["knn"] > 0.9


def test_knn_regression_equals_sklearn_at_the_chosen_k() -> None:
    rng = np.random.default_rng(6)
    X = rng.normal(size=(1000, 3)) * [1.0, 10.0, 100.0]
    y = np.sin(X[:, 0]) + X[:, 1] / 10.0 + rng.normal(0, 0.3, 1000)
    X_train, y_train, X_val, y_val, X_test, _ = three_parts(X, y)
    result = fit_predict("knn", "regression", X_train, y_train, X_val, y_val, X_test)
    k = result.params["k"]
    scaler = Standardizer.fit(X_train)
    Xtr, Xv, Xte = (scaler.transform(part, np.float32) for part in (X_train, X_val, X_test))
    val_mse = {
        kk: np.mean((KNeighborsRegressor(n_neighbors=kk).fit(Xtr, y_train).predict(Xv) - y_val) ** 2)
        for kk in (1, 3, 5, 10, 20, 50, 100)
    }
    assert k == min(val_mse, key=val_mse.get)
    expected = KNeighborsRegressor(n_neighbors=k).fit(Xtr, y_train).predict(Xte)
    np.testing.assert_allclose(result.predictions, expected, rtol=1e-9, atol=1e-12)


def blobs(n: int, d: int, n_classes: int, spread: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 4.0, size=(n_classes, d))
    codes = rng.integers(0, n_classes, n)
    return centres[codes] + rng.normal(0, spread, size=(n, d)) + 50.0, codes


@pytest.mark.parametrize("kind", ["linear", "mlp", "knn"])
def test_classification_on_separable_blobs(kind: str) -> None:
    X, codes = blobs(1200, 8, 4, 0.5, seed=7)
    labels = np.array(["water", "forest", "desert", "ice"])[codes]
    X_train, y_train, X_val, y_val, X_test, y_test = three_parts(X, labels)
    result = fit_predict(kind, "classification", X_train, y_train, X_val, y_val, X_test)
    assert list(result.classes) == ["desert", "forest", "ice", "water"]
    assert result.probabilities.shape == (X_test.shape[0], 4)
    np.testing.assert_allclose(result.probabilities.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(result.predictions, result.classes[result.probabilities.argmax(axis=1)])
    metrics = classification_metrics(y_test, result.predictions)
    assert metrics["accuracy"] > 0.98 and metrics["macro_f1"] > 0.98


def test_logistic_probe_matches_sklearn_logistic_regression_at_the_chosen_c() -> None:
    X, y = blobs(900, 5, 3, 2.5, seed=8)  # overlapping blobs: the penalty matters
    X_train, y_train, X_val, y_val, X_test, _ = three_parts(X, y)
    result = fit_predict("linear", "classification", X_train, y_train, X_val, y_val, X_test)
    scaler = Standardizer.fit(X_train)
    reference = LogisticRegression(C=result.params["C"], tol=1e-10, max_iter=10_000)
    reference.fit(scaler.transform(X_train), y_train)
    probabilities = reference.predict_proba(scaler.transform(X_test))
    np.testing.assert_allclose(result.probabilities, probabilities, atol=2e-3)
    assert np.mean(result.predictions == reference.predict(scaler.transform(X_test))) > 0.98


def test_logistic_path_at_the_default_tolerance_matches_a_tight_one_on_many_classes() -> None:
    """The C path stops each fit at sklearn's default tol (1e-4 on the mean objective's gradient) on one thread;
    a 100x tighter tolerance with 10x the iterations, on 2 threads, must choose the same C and predict the same."""
    X, y = blobs(1500, 30, 40, 6.0, seed=12)  # 40 overlapping classes (accuracy 0.8, C 0.1): countries in small
    X_train, y_train, X_val, y_val, X_test, y_test = three_parts(X, y)
    scaler = Standardizer.fit(X_train)
    Xtr, Xv, Xte = (scaler.transform(part, np.float32) for part in (X_train, X_val, X_test))
    classes, codes = np.unique(y_train, return_inverse=True)
    val_codes = np.searchsorted(classes, y_val)
    assert np.array_equal(classes[val_codes], y_val)
    default, C = _logistic_probe(Xtr, codes, Xv, val_codes, Xte, classes.size)
    tight, C_tight = _logistic_probe(Xtr, codes, Xv, val_codes, Xte, classes.size, max_iter=2000, threads=2,
                                     tol=LOGISTIC_TOL / 100)  # fmt: skip
    assert C_tight == C
    assert np.mean(default.argmax(axis=1) == tight.argmax(axis=1)) > 0.99
    np.testing.assert_allclose(default, tight, atol=0.01)
    accuracy = [np.mean(classes[p.argmax(axis=1)] == y_test) for p in (default, tight)]
    assert abs(accuracy[0] - accuracy[1]) < 0.01 and 0.6 < accuracy[0] < 0.95


def test_knn_classification_equals_sklearn_at_the_chosen_k() -> None:
    X, y = blobs(1000, 4, 5, 3.0, seed=9)
    X_train, y_train, X_val, y_val, X_test, _ = three_parts(X, y)
    result = fit_predict("knn", "classification", X_train, y_train, X_val, y_val, X_test)
    scaler = Standardizer.fit(X_train)
    Xtr, Xte = scaler.transform(X_train, np.float32), scaler.transform(X_test, np.float32)
    reference = KNeighborsClassifier(n_neighbors=result.params["k"]).fit(Xtr, y_train)
    np.testing.assert_array_equal(result.predictions, reference.predict(Xte))
    np.testing.assert_allclose(result.probabilities, reference.predict_proba(Xte), atol=1e-6)


@pytest.mark.parametrize("task_type", ["regression", "classification"])
def test_mlp_is_seeded_and_leaves_the_global_rng_alone(task_type: str) -> None:
    X, codes = blobs(600, 6, 3, 2.0, seed=10)
    y = codes if task_type == "classification" else X[:, 0] * X[:, 1]
    X_train, y_train, X_val, y_val, X_test, _ = three_parts(X, y)
    state = torch.get_rng_state()
    runs = [fit_predict("mlp", task_type, X_train, y_train, X_val, y_val, X_test, seed=s) for s in (0, 0, 1)]
    assert torch.equal(state, torch.get_rng_state())
    np.testing.assert_array_equal(runs[0].probabilities, runs[1].probabilities)
    np.testing.assert_array_equal(runs[0].predictions, runs[1].predictions)
    assert runs[0].params == runs[1].params
    differs = runs[0].probabilities if task_type == "classification" else runs[0].predictions
    other = runs[2].probabilities if task_type == "classification" else runs[2].predictions
    assert not np.array_equal(differs, other)


def test_mlp_stops_early_and_keeps_the_best_epoch() -> None:
    rng = np.random.default_rng(11)
    X = rng.normal(size=(400, 10)).astype(np.float32)
    noise = rng.normal(size=400)  # nothing to learn: validation loss only gets worse as it overfits
    outputs, best_epoch = _mlp_probe(X[:300], noise[:300], X[300:], noise[300:], X[:5], 1, False, seed=0)
    assert outputs.shape == (5, 1)
    assert best_epoch < 30
    val_loss_at_best = np.mean(
        (_mlp_probe(X[:300], noise[:300], X[300:], noise[300:], X[300:], 1, False, seed=0)[0][:, 0] - noise[300:]) ** 2
    )
    assert val_loss_at_best < np.mean(noise[300:] ** 2) + 0.1  # the restored weights are not the overfitted ones


def test_bad_input_raises_one_line_input_errors() -> None:
    X, y = correlated_regression(60, 3)
    X_train, y_train, X_val, y_val, X_test, _ = three_parts(X, y)
    bad = y_train.copy()
    bad[3] = np.nan
    with pytest.raises(InputError, match="train targets contain NaN"):
        fit_predict("linear", "regression", X_train, bad, X_val, y_val, X_test)
    X_bad = X_val.copy()
    X_bad[0, 0] = np.inf
    with pytest.raises(InputError, match="val features contain NaN"):
        fit_predict("knn", "regression", X_train, y_train, X_bad, y_val, X_test)
    with pytest.raises(InputError, match="the test part is empty"):
        fit_predict("linear", "regression", X_train, y_train, X_val, y_val, X_test[:0])
    with pytest.raises(InputError, match="at least 2 classes in the training part, got 1"):
        fit_predict("linear", "classification", X_train, np.zeros(36, int), X_val, np.zeros(12, int), X_test)
    with pytest.raises(InputError, match="no validation point has a class that is in the training part"):
        fit_predict("mlp", "classification", X_train, np.arange(36) % 2, X_val, np.full(12, 7), X_test)
    with pytest.raises(ValueError, match="unknown probe"):
        fit_predict("forest", "regression", X_train, y_train, X_val, y_val, X_test)
