"""Probes that predict a task from location embeddings: ``linear``, ``mlp`` and ``knn``, behind one function.

:func:`fit_predict` fits a probe on the training part, chooses its hyperparameter, and predicts the test part.
Features are standardised with the mean and standard deviation of the *training* part only (a constant
feature keeps scale 1); regression targets are standardised the same way for fitting, and predictions are
returned in the original units.

* ``linear``, regression: closed-form ridge, penalty chosen from :data:`RIDGE_ALPHAS` by exact leave-one-out
  (LOO) mean squared error on the training part, as sklearn's ``RidgeCV`` default (its "efficient LOO"). One
  eigendecomposition of the centred ``X'X`` (or of ``XX'`` when there are fewer points than features) gives
  the LOO errors of every penalty at once through a few matrix products (10^5 x 256: 1.4 s on 2 cores);
  the validation part is not used (LOO on the training part is a lower-variance choice than a hold-out,
  and it keeps the fit identical to ``RidgeCV`` on the same data).
* ``linear``, classification: multinomial logistic regression with an unpenalised intercept, the objective
  of sklearn's ``LogisticRegression`` (``mean cross-entropy + ||W||^2 / (2 C n)``), minimised by full-batch
  L-BFGS in torch (float32). ``C`` runs over :data:`LOGISTIC_CS` from the strongest penalty up, each fit
  warm-started from the previous one, and the ``C`` with the best validation accuracy wins (sklearn's
  ``LogisticRegressionCV`` scores by accuracy too). The path stops once two ``C`` in a row are worse than the
  best, or as soon as a ``C`` is perfect on the validation part (no later one could win the tie). Each fit
  stops when the largest absolute gradient of the (mean) objective is below :data:`LOGISTIC_TOL` (1e-4, the
  ``tol`` sklearn's lbfgs applies to the same objective by default) or after 200 iterations. Why not
  sklearn: its lbfgs works in float64 and restarts from zero for each ``C``; one loss-and-gradient evaluation
  here is about 4x cheaper at 6,000 x 256 x 800 classes (ecoregions), where the whole C path takes about
  10 s. It runs on one torch thread unless ``threads`` says otherwise (see :func:`fit_predict`): on the
  shared 2-core machine, countries x ``sh40`` (2,938 x 1,600 x 115 classes) took 4x longer on 2 threads.
* ``mlp``: ``d -> 256 -> 256 -> out`` with ReLU, Adam (lr 1e-3, batches of 256), up to 200 epochs; after every
  epoch the validation loss (MSE of the standardised target, or cross-entropy) is computed, training stops
  when it has not improved for 10 epochs and the weights of the best epoch are restored. It trains on one
  CPU thread: its mini-batch products are too small to gain from more, and on a busy machine torch's
  threads wait on each other (a 2-thread run was 20x slower than a 1-thread run on a loaded 2-core
  machine). So the same seed gives the same predictions whatever the thread count.
* ``knn``: k nearest neighbours (Euclidean, standardised features, uniform weights), ``k`` chosen from
  :data:`KNN_KS` (those ``<= n_train``) by validation MSE or accuracy; neighbours are searched once for the
  largest ``k`` and every smaller ``k`` is read off the same sorted lists.

Classification labels can be any sortable values; the probe's classes are the sorted unique training labels,
and validation points of other classes count as errors (accuracy) or are left out of the validation loss.
Ties in the validation score go to the first candidate (strongest penalty, smallest ``k``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from satclip_cli.errors import InputError
from satclip_cli.probing.tasks.data import TASK_TYPES

PROBES = ("linear", "mlp", "knn")

#: Ridge penalties tried by leave-one-out (on standardised features, so they compare with ``n_train``).
RIDGE_ALPHAS = tuple(float(a) for a in np.logspace(-4, 6, 51))
#: Inverse L2 strengths of the logistic regression, tried from the strongest penalty up.
LOGISTIC_CS = (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)
#: A logistic fit stops when no gradient component of its mean objective exceeds this (sklearn's default ``tol``).
LOGISTIC_TOL = 1e-4
#: Neighbour counts tried by the knn probe.
KNN_KS = (1, 3, 5, 10, 20, 50, 100)
#: Hidden layer widths of the MLP probe.
MLP_HIDDEN = (256, 256)

_CHUNK_ROWS = 8192
#: Below this many multiply-adds per logistic loss evaluation (n x d x classes), torch runs on one thread.
_LOGISTIC_SINGLE_THREAD_WORK = 2**24


@dataclass(frozen=True)
class ProbeResult:
    """Test predictions of one probe.

    Attributes:
        predictions: regression: float64 [n_test] in the target's units; classification: [n_test] labels
            (values of ``classes``).
        probabilities: classification: float32 [n_test, n_classes], columns in the order of ``classes``
            (knn: neighbour vote shares); ``None`` for regression.
        classes: classification: the sorted unique training labels [n_classes]; ``None`` for regression.
        params: the chosen hyperparameter(s), e.g. ``{"alpha": 10.0}``, ``{"C": 1.0}``, ``{"k": 5}``,
            ``{"epochs": 37}``.
    """

    predictions: np.ndarray
    probabilities: np.ndarray | None = None
    classes: np.ndarray | None = None
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Standardizer:
    """Per-column ``(x - mean) / scale`` with statistics of the data it was fitted on.

    Attributes:
        mean: float64 [d].
        scale: float64 [d], the population standard deviation (``ddof=0``), 1 where it is 0.
    """

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, X: np.ndarray) -> Standardizer:
        """Statistics of the columns of ``X`` [n, d] (computed in float64)."""
        X = np.asarray(X)
        mean = X.mean(axis=0, dtype=np.float64)
        scale = X.std(axis=0, dtype=np.float64)
        return cls(mean, np.where(scale > 0, scale, 1.0))

    def transform(self, X: np.ndarray, dtype: type = np.float64) -> np.ndarray:
        """``X`` [n, d] standardised, as ``dtype`` [n, d] (computed in float64, in row chunks)."""
        X = np.asarray(X)
        out = np.empty(X.shape, dtype=dtype)
        for start in range(0, X.shape[0], _CHUNK_ROWS):
            stop = start + _CHUNK_ROWS
            out[start:stop] = (X[start:stop].astype(np.float64) - self.mean) / self.scale
        return out


# ----------------------------------------------------------------------------------------------- ridge


@dataclass(frozen=True)
class RidgeCVFit:
    """A ridge regression with its penalty chosen by leave-one-out, as fitted by :func:`ridge_cv`.

    Attributes:
        alphas: float64 [n_alphas], the penalties tried.
        loo_mse: float64 [n_alphas], mean squared leave-one-out error of each (``inf`` where undefined).
        alpha: the chosen penalty (the first with the smallest ``loo_mse``).
        coef: float64 [d]; intercept: float, unpenalised.
    """

    alphas: np.ndarray
    loo_mse: np.ndarray
    alpha: float
    coef: np.ndarray
    intercept: float

    def predict(self, X: np.ndarray) -> np.ndarray:
        """float64 [n] predictions for ``X`` [n, d]."""
        return np.asarray(X, dtype=np.float64) @ self.coef + self.intercept


def ridge_cv(X: np.ndarray, y: np.ndarray, alphas: tuple[float, ...] | np.ndarray = RIDGE_ALPHAS) -> RidgeCVFit:
    """Ridge regression of ``y`` [n] on ``X`` [n, d] (float32 or float64) with the penalty chosen by exact LOO.

    Minimises ``||y - X b - c||^2 + alpha ||b||^2`` (intercept ``c`` not penalised) for every ``alpha`` and
    picks the one with the smallest mean squared leave-one-out error: the same fit, penalty and scores as
    ``sklearn.linear_model.RidgeCV(alphas, fit_intercept=True)`` with its default efficient LOO.

    With ``X`` centred, ``X'X = V diag(lam) V'`` and ``Z = X V``; for each ``alpha`` the hat matrix is
    ``1/n + Z diag(1/(lam + alpha)) Z'``, so the fitted values (``Z @ (w * Z'y)``) and the hat diagonals
    (``(Z * Z) @ w``) of all penalties are two matrix products per row chunk, and the LOO residuals are
    ``(y - fitted) / (1 - hat)``. Cost: ``O(n d^2 + n d n_alphas)`` in float64, memory ``O(d^2 + chunk d)``
    beyond ``X``. With fewer points than features the same is done with the eigendecomposition of ``XX'``.
    """
    X = np.asarray(X)
    y = np.asarray(y, dtype=np.float64).ravel()
    alphas_array = np.asarray(alphas, dtype=np.float64).ravel()
    if X.ndim != 2 or X.shape[0] != y.size:
        raise ValueError(f"X must be [n, d] with n = len(y) = {y.size}, got shape {X.shape}")
    if alphas_array.size == 0 or (alphas_array <= 0).any():
        raise ValueError("ridge penalties must be positive")
    n, d = X.shape
    if n < 2:
        raise InputError(f"a ridge probe needs at least 2 training points, got {n}")
    x_mean = X.mean(axis=0, dtype=np.float64)
    y_mean = float(y.mean())
    yc = y - y_mean

    def centred(start: int, stop: int) -> np.ndarray:
        return X[start:stop].astype(np.float64) - x_mean

    squared_errors = np.zeros(alphas_array.size)
    with np.errstate(divide="ignore", invalid="ignore"):
        if n > d:
            gram = np.zeros((d, d))
            xty = np.zeros(d)
            for start in range(0, n, _CHUNK_ROWS):
                block = centred(start, start + _CHUNK_ROWS)
                gram += block.T @ block
                xty += block.T @ yc[start : start + _CHUNK_ROWS]
            lam, V = _eigh(gram)
            lam = np.clip(lam, 0.0, None)
            weights = 1.0 / (lam[:, None] + alphas_array[None, :])  # [d, A]
            zty = V.T @ xty  # Z'y, [d]
            fit_weights = weights * zty[:, None]  # fitted = Z @ fit_weights, [d, A]
            for start in range(0, n, _CHUNK_ROWS):
                Z = centred(start, start + _CHUNK_ROWS) @ V
                hat = (Z * Z) @ weights + 1.0 / n
                residual = yc[start : start + _CHUNK_ROWS, None] - Z @ fit_weights
                squared_errors += np.sum((residual / (1.0 - hat)) ** 2, axis=0)
            loo_mse, best = _loo_choice(squared_errors, n)
            coef = V @ (weights[:, best] * zty)
        else:
            Xc = centred(0, n)
            lam, Q = _eigh(Xc @ Xc.T)
            lam = np.clip(lam, 0.0, None)
            # 1 - hat and y - fitted through alpha / (lam + alpha), without cancellation when hat is near 1
            # (Q is square and orthogonal; the constant vector is its lam = 0 direction, the intercept's 1/n).
            keep = alphas_array[None, :] / (lam[:, None] + alphas_array[None, :])  # [n, A]
            qty = Q.T @ yc
            one_minus_hat = (Q * Q) @ keep - 1.0 / n
            residual = Q @ (keep * qty[:, None])
            loo_mse, best = _loo_choice(np.sum((residual / one_minus_hat) ** 2, axis=0), n)
            coef = Xc.T @ (Q @ (qty / (lam + alphas_array[best])))
    return RidgeCVFit(alphas_array, loo_mse, float(alphas_array[best]), coef, y_mean - float(x_mean @ coef))


def _eigh(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.linalg.eigh`` on one BLAS thread: for these small matrices threads gain nothing, and on a busy
    machine a threaded ``eigh`` of a 256 x 256 matrix was seen to take 0.9 s instead of 0.01 s."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return np.linalg.eigh(matrix)


def _loo_choice(squared_errors: np.ndarray, n: int) -> tuple[np.ndarray, int]:
    """``(mean squared LOO error per penalty, inf where undefined; index of the first smallest)``."""
    loo_mse = squared_errors / n
    loo_mse = np.where(np.isfinite(loo_mse), loo_mse, np.inf)
    return loo_mse, int(np.argmin(loo_mse))


# ------------------------------------------------------------------------------------------- helpers


def _check_inputs(
    task_type: str,
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    X_test: np.ndarray,
) -> None:
    if task_type not in TASK_TYPES:
        raise ValueError(f"unknown task type {task_type!r}; expected one of {TASK_TYPES}")
    d = X_train.shape[1] if X_train.ndim == 2 else None
    for part, X, y in (("train", X_train, y_train), ("val", X_val, y_val), ("test", X_test, None)):
        if X.ndim != 2 or X.shape[1] != d:
            raise ValueError(f"X_{part} must be [n, {d}], got shape {X.shape}")
        if X.shape[0] == 0:
            raise InputError(f"the {part} part is empty")
        if y is not None and y.shape != (X.shape[0],):
            raise ValueError(f"y_{part} must be [{X.shape[0]}], got shape {y.shape}")
        if not np.isfinite(X).all():
            raise InputError(f"the {part} features contain NaN or infinite values")
        if y is not None and task_type == "regression" and not np.isfinite(y.astype(np.float64)).all():
            raise InputError(f"the {part} targets contain NaN or infinite values (drop them before probing)")


def _encode_labels(y_train: np.ndarray, y_val: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(classes [K], train codes [n_train], val codes [n_val] with -1 for classes not in training)``."""
    classes, train_codes = np.unique(y_train, return_inverse=True)
    if classes.size < 2:
        raise InputError(f"classification needs at least 2 classes in the training part, got {classes.size}")
    position = np.minimum(np.searchsorted(classes, y_val), classes.size - 1)
    val_codes = np.where(classes[position] == y_val, position, -1)
    if (val_codes < 0).all():
        raise InputError("no validation point has a class that is in the training part")
    return classes, train_codes.astype(np.int64), val_codes.astype(np.int64)


@contextmanager
def _torch_threads(count: int | None) -> Iterator[None]:
    """Run torch's CPU ops on ``count`` threads (``None``: unchanged) inside the block."""
    import torch

    previous = torch.get_num_threads()
    if count is not None:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _best_index(scores: list[float], higher_is_better: bool) -> int:
    """Index of the first best score."""
    values = np.asarray(scores, dtype=np.float64)
    return int(np.argmax(values) if higher_is_better else np.argmin(values))


# --------------------------------------------------------------------------------------- logistic


def _logistic_probe(
    X_train: np.ndarray,
    train_codes: np.ndarray,
    X_val: np.ndarray,
    val_codes: np.ndarray,
    X_test: np.ndarray,
    n_classes: int,
    Cs: tuple[float, ...] = LOGISTIC_CS,
    max_iter: int = 200,
    threads: int | None = 1,
    tol: float = LOGISTIC_TOL,
) -> tuple[np.ndarray, float]:
    """Multinomial logistic regression on float32 standardised features; ``(test probabilities [n_test, K], C)``.

    ``threads``: torch threads for large problems (``None``: torch's setting); small ones always use 1.
    ``tol``: each fit stops when every component of the gradient of the mean objective is below it.
    """
    import torch

    Xt = torch.from_numpy(np.ascontiguousarray(X_train, dtype=np.float32))
    yt = torch.from_numpy(train_codes)
    Xv = torch.from_numpy(np.ascontiguousarray(X_val, dtype=np.float32))
    yv = torch.from_numpy(val_codes)
    n, d = Xt.shape
    weight = torch.zeros(d, n_classes, requires_grad=True)
    bias = torch.zeros(n_classes, requires_grad=True)

    best_accuracy, best_C, best_state, worse_in_a_row = -1.0, Cs[0], None, 0
    small = n * d * n_classes < _LOGISTIC_SINGLE_THREAD_WORK
    with _torch_threads(1 if small else threads):
        for C in Cs:
            penalty = 0.5 / (C * n)
            optimizer = torch.optim.LBFGS(
                [weight, bias],
                lr=1.0,
                max_iter=max_iter,
                tolerance_grad=tol,
                tolerance_change=1e-9,
                history_size=10,
                line_search_fn="strong_wolfe",
            )

            def closure(penalty: float = penalty, optimizer: torch.optim.Optimizer = optimizer) -> torch.Tensor:
                optimizer.zero_grad()
                loss = torch.nn.functional.cross_entropy(Xt @ weight + bias, yt) + penalty * weight.pow(2).sum()
                loss.backward()
                return loss

            optimizer.step(closure)
            with torch.no_grad():
                accuracy = float(((Xv @ weight + bias).argmax(dim=1) == yv).double().mean())
            if accuracy > best_accuracy:
                best_accuracy, best_C, worse_in_a_row = accuracy, C, 0
                best_state = (weight.detach().clone(), bias.detach().clone())
            else:
                worse_in_a_row += 1 if accuracy < best_accuracy else 0
            if worse_in_a_row >= 2 or best_accuracy == 1.0:
                break
    assert best_state is not None
    with torch.no_grad():
        logits = torch.from_numpy(np.ascontiguousarray(X_test, dtype=np.float32)) @ best_state[0] + best_state[1]
        probabilities = torch.softmax(logits, dim=1).numpy()
    return probabilities, best_C


# -------------------------------------------------------------------------------------------- mlp


def _mlp_probe(
    X_train: np.ndarray,
    targets: np.ndarray,
    X_val: np.ndarray,
    val_targets: np.ndarray,
    X_test: np.ndarray,
    out_dim: int,
    classification: bool,
    seed: int,
    hidden: tuple[int, ...] = MLP_HIDDEN,
    max_epochs: int = 200,
    patience: int = 10,
    batch_size: int = 256,
    lr: float = 1e-3,
) -> tuple[np.ndarray, int]:
    """Train the MLP with early stopping; ``(test outputs float32 [n_test, out_dim], best epoch)``.

    ``targets``: standardised float [n_train] (regression) or int64 codes [n_train]; ``val_targets`` likewise,
    codes ``-1`` (classes not in training) are left out of the validation loss. Classification outputs are
    softmax probabilities.
    """
    import torch
    from torch import nn

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        layers: list[nn.Module] = []
        width = X_train.shape[1]
        for size in hidden:
            layers += [nn.Linear(width, size), nn.ReLU()]
            width = size
        layers.append(nn.Linear(width, out_dim))
        model = nn.Sequential(*layers)
    generator = torch.Generator().manual_seed(seed)

    Xt = torch.from_numpy(np.ascontiguousarray(X_train, dtype=np.float32))
    Xv = torch.from_numpy(np.ascontiguousarray(X_val, dtype=np.float32))
    if classification:
        yt = torch.from_numpy(targets.astype(np.int64))
        known = val_targets >= 0
        Xv, yv = Xv[torch.from_numpy(known)], torch.from_numpy(val_targets[known].astype(np.int64))
        loss_fn: nn.Module = nn.CrossEntropyLoss()
    else:
        yt = torch.from_numpy(targets.astype(np.float32)).unsqueeze(1)
        yv = torch.from_numpy(val_targets.astype(np.float32)).unsqueeze(1)
        loss_fn = nn.MSELoss()

    def predict(X: torch.Tensor) -> torch.Tensor:
        model.eval()
        with torch.no_grad():
            return torch.cat([model(X[start : start + 65536]) for start in range(0, X.shape[0], 65536)])

    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    n = Xt.shape[0]
    batch_size = min(batch_size, n)
    best_loss, best_epoch, best_state = float("inf"), 0, None
    with _torch_threads(1):
        for epoch in range(1, max_epochs + 1):
            model.train()
            order = torch.randperm(n, generator=generator)
            for start in range(0, n, batch_size):
                batch = order[start : start + batch_size]
                optimizer.zero_grad()
                loss_fn(model(Xt[batch]), yt[batch]).backward()
                optimizer.step()
            val_loss = float(loss_fn(predict(Xv), yv))
            if val_loss < best_loss:
                best_loss, best_epoch = val_loss, epoch
                best_state = {key: value.clone() for key, value in model.state_dict().items()}
            elif epoch - best_epoch >= patience:
                break
        if best_state is not None:  # None only if every validation loss was NaN
            model.load_state_dict(best_state)
        outputs = predict(torch.from_numpy(np.ascontiguousarray(X_test, dtype=np.float32)))
    if classification:
        outputs = torch.softmax(outputs, dim=1)
    return outputs.numpy(), best_epoch


# -------------------------------------------------------------------------------------------- knn


def _knn_probe(
    X_train: np.ndarray,
    targets: np.ndarray,
    X_val: np.ndarray,
    val_targets: np.ndarray,
    X_test: np.ndarray,
    n_classes: int | None,
    ks: tuple[int, ...] = KNN_KS,
) -> tuple[np.ndarray, int]:
    """k-NN with ``k`` chosen on the validation part; ``(test outputs, k)``.

    Regression (``n_classes is None``): ``targets`` float [n_train], outputs float64 [n_test] neighbour means.
    Classification: ``targets`` int64 codes, outputs float32 [n_test, n_classes] vote shares (the prediction
    is the first class with the most votes, as sklearn's ``KNeighborsClassifier``).
    """
    from sklearn.neighbors import NearestNeighbors

    n = X_train.shape[0]
    candidates = [k for k in ks if k <= n] or [n]
    index = NearestNeighbors(n_neighbors=max(candidates)).fit(X_train)
    neighbours = index.kneighbors(X_val, return_distance=False)
    scores = []
    if n_classes is None:
        running = np.cumsum(targets[neighbours], axis=1)
        for k in candidates:
            scores.append(float(np.mean((running[:, k - 1] / k - val_targets) ** 2)))
        k = candidates[_best_index(scores, higher_is_better=False)]
        return targets[index.kneighbors(X_test, n_neighbors=k, return_distance=False)].mean(axis=1), k
    votes = np.zeros((X_val.shape[0], n_classes), dtype=np.int32)
    rows = np.arange(X_val.shape[0])
    neighbour_codes = targets[neighbours]
    for j in range(max(candidates)):
        votes[rows, neighbour_codes[:, j]] += 1
        if j + 1 in candidates:
            scores.append(float(np.mean(votes.argmax(axis=1) == val_targets)))
    k = candidates[_best_index(scores, higher_is_better=True)]
    test_codes = targets[index.kneighbors(X_test, n_neighbors=k, return_distance=False)]
    shares = np.zeros((X_test.shape[0], n_classes), dtype=np.float32)
    np.add.at(shares, (np.arange(X_test.shape[0])[:, None], test_codes), 1.0 / k)
    return shares, k


# ------------------------------------------------------------------------------------ entry point


def fit_predict(
    kind: str,
    task_type: str,
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    X_test: np.ndarray,
    seed: int = 0,
    threads: int | None = 1,
) -> ProbeResult:
    """Fit probe ``kind`` (``linear``, ``mlp``, ``knn``) for ``task_type`` and predict the test part.

    Args:
        kind: the probe, one of :data:`PROBES`.
        task_type: ``"regression"`` or ``"classification"``.
        X_train, X_val, X_test: float [n_train, d], [n_val, d], [n_test, d] embeddings (finite).
        y_train, y_val: [n_train], [n_val] targets: floats (regression, finite) or class labels.
        seed: seeds the MLP's initialisation and batch order (the other probes are deterministic).
        threads: torch threads of the logistic regression on large problems (default 1; ``None``: torch's
            current setting, by default one per core). More threads only pay on an otherwise idle machine:
            with 2 cores shared, 6,000 x 256 x 800 classes took 11 s on 1 thread and 21-49 s on 2, and
            2,938 x 1,600 x 115 (countries, ``sh40``) 28 s on 1 and 130 s on 2.

    Returns:
        A :class:`ProbeResult`. Raises ``InputError`` for an empty part, non-finite values or fewer than 2
        training classes.
    """
    if kind not in PROBES:
        raise ValueError(f"unknown probe {kind!r}; expected one of {PROBES}")
    X_train, X_val, X_test = (np.asarray(X) for X in (X_train, X_val, X_test))
    y_train, y_val = np.asarray(y_train).ravel(), np.asarray(y_val).ravel()
    _check_inputs(task_type, X_train, y_train, X_val, y_val, X_test)
    scaler = Standardizer.fit(X_train)
    dtype = np.float64 if kind == "linear" and task_type == "regression" else np.float32
    Xtr, Xv, Xte = (scaler.transform(X, dtype) for X in (X_train, X_val, X_test))

    if task_type == "regression":
        y_train64, y_val64 = y_train.astype(np.float64), y_val.astype(np.float64)
        y_mean, y_std = float(y_train64.mean()), float(y_train64.std())
        y_std = y_std if y_std > 0 else 1.0
        ytr, yv = (y_train64 - y_mean) / y_std, (y_val64 - y_mean) / y_std
        if kind == "linear":
            fit = ridge_cv(Xtr, ytr)
            standardised, params = fit.predict(Xte), {"alpha": fit.alpha}
        elif kind == "mlp":
            outputs, epochs = _mlp_probe(Xtr, ytr, Xv, yv, Xte, 1, False, seed)
            standardised, params = outputs[:, 0].astype(np.float64), {"epochs": epochs}
        else:
            standardised, k = _knn_probe(Xtr, ytr, Xv, yv, Xte, None)
            params = {"k": k}
        return ProbeResult(standardised * y_std + y_mean, params=params)

    classes, train_codes, val_codes = _encode_labels(y_train, y_val)
    if kind == "linear":
        probabilities, C = _logistic_probe(Xtr, train_codes, Xv, val_codes, Xte, classes.size, threads=threads)
        params: dict[str, Any] = {"C": C}
    elif kind == "mlp":
        probabilities, epochs = _mlp_probe(Xtr, train_codes, Xv, val_codes, Xte, classes.size, True, seed)
        params = {"epochs": epochs}
    else:
        probabilities, k = _knn_probe(Xtr, train_codes, Xv, val_codes, Xte, classes.size)
        params = {"k": k}
    return ProbeResult(classes[probabilities.argmax(axis=1)], probabilities.astype(np.float32), classes, params)
