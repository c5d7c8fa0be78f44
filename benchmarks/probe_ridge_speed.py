"""Wall time of the linear probe's closed-form ridge with leave-one-out CV vs sklearn's ``RidgeCV``.

    python benchmarks/probe_ridge_speed.py [--points 100000] [--dims 256] [--threads 2] [--repeats 1]

Data: ``--points`` x ``--dims`` float32 features with correlated columns (a random linear mix of Gaussians,
so the spectrum is uneven like an embedding's), standardised, and a target that is a linear function of
them plus noise (R^2 about 0.8). Both sides get the same standardised float32 array and the same penalty
grid (``RIDGE_ALPHAS``, 51 values) and choose the penalty by exact leave-one-out MSE; sklearn's ``RidgeCV``
runs its default efficient LOO (for n > d an eigendecomposition of X'X, then a diagonal of ``X A X'`` per
penalty). Measured, in the same run and process: ``ridge_cv`` alone, the whole ``fit_predict("linear",
"regression", ...)`` (standardising train and test, fitting, predicting a test part of ``--points / 4``),
and ``RidgeCV(alphas).fit``, after a small warm-up of both. The best of ``--repeats`` runs of each is
reported, with the chosen penalties and the largest coefficient difference (they must agree). On a shared
machine the times vary by 2x from run to run; the ratio is what to compare.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable


def best_time(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--dims", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2, help="BLAS threads (set before numpy is imported)")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(args.threads)

    import numpy as np
    from sklearn.linear_model import RidgeCV

    from satclip_cli.probing.probes import RIDGE_ALPHAS, Standardizer, fit_predict, ridge_cv

    rng = np.random.default_rng(0)
    n, d = args.points, args.dims
    mixing = rng.normal(size=(d, d)) * np.exp(-np.arange(d) / 32.0)[:, None]
    X_raw = (rng.normal(size=(n, d)) @ mixing).astype(np.float32)
    X = Standardizer.fit(X_raw).transform(X_raw, np.float32)
    signal = X.astype(np.float64) @ rng.normal(size=d)
    y = signal + rng.normal(scale=0.5 * signal.std(), size=n)
    X_test = X_raw[: n // 4]

    print(f"{n:,} points x {d} dims float32, {len(RIDGE_ALPHAS)} penalties, {args.threads} threads")
    ridge_cv(X[:2000], y[:2000])  # warm-up: imports, BLAS thread pool
    RidgeCV(alphas=RIDGE_ALPHAS).fit(X[:2000], y[:2000])
    ours, fit = best_time(lambda: ridge_cv(X, y, RIDGE_ALPHAS), args.repeats)
    probe, _ = best_time(lambda: fit_predict("linear", "regression", X_raw, y, X_raw[:2], y[:2], X_test), args.repeats)
    theirs, reference = best_time(lambda: RidgeCV(alphas=RIDGE_ALPHAS).fit(X, y), args.repeats)

    difference = float(np.abs(fit.coef - reference.coef_).max() / np.abs(reference.coef_).max())
    print(f"ridge_cv (ours)        {ours:8.2f} s   alpha {fit.alpha:.4g}")
    print(f"fit_predict linear     {probe:8.2f} s   (standardise + ridge_cv + predict {n // 4:,})")
    print(f"sklearn RidgeCV        {theirs:8.2f} s   alpha {reference.alpha_:.4g}   coef rel. diff {difference:.1e}")
    print(f"ratio ours / sklearn   {ours / theirs:8.3f} x   (fit_predict / sklearn {probe / theirs:.3f} x)")


if __name__ == "__main__":
    main()
