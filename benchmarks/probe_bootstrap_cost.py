"""Cost of the bootstrap 95 % intervals of ``satclip probe`` next to the probe fit they accompany.

    python benchmarks/probe_bootstrap_cost.py [--test-points 10000] [--replicates 1000] [--folds 5] [--classes 800]

Measured in the same run and process: ``bootstrap_intervals`` over ``--test-points`` test points split into
``--folds`` groups (as a K-fold run pools them), for a regression (r2, mse, mae) and a classification
(accuracy, macro F1 over ``--classes`` classes, the ecoregions task's order of magnitude) row; and, as the
reference, the linear probe's ``fit_predict`` on the same split (4 x ``--test-points`` training points,
256 features: the ridge with its leave-one-out penalty path, and the logistic regression's C path on
``--classes``/8 classes so that it finishes in seconds). The ratio bootstrap / fit is what to compare; on a
shared machine times vary by 2x from run to run.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--test-points", type=int, default=10_000)
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--classes", type=int, default=800)
    parser.add_argument("--dims", type=int, default=256)
    args = parser.parse_args()

    from satclip_cli.probing.bootstrap import ScoredGroup, bootstrap_intervals
    from satclip_cli.probing.probes import fit_predict

    rng = np.random.default_rng(0)
    n_test, n_train = args.test_points, 4 * args.test_points
    X = rng.normal(size=(n_train + n_test, args.dims)).astype(np.float32)
    y = X @ rng.normal(size=args.dims) + rng.normal(scale=5.0, size=n_train + n_test)
    train, test = slice(0, n_train), slice(n_train, None)
    fit_seconds, result = timed(
        lambda: fit_predict("linear", "regression", X[train], y[train], X[train][:10], y[train][:10], X[test], 0)
    )
    prediction = result.predictions
    groups = [
        ScoredGroup(truth, pred, float(np.std(y[train])))
        for truth, pred in zip(np.array_split(y[test], args.folds), np.array_split(prediction, args.folds), strict=True)
    ]
    boot_seconds, ci = timed(lambda: bootstrap_intervals(groups, False, args.replicates))
    print(
        f"regression, {n_test} test points in {args.folds} folds, {args.replicates} replicates: "
        f"bootstrap {boot_seconds:.2f} s (r2 {ci['r2'][0]:.3f}..{ci['r2'][1]:.3f}); "
        f"ridge fit_predict on {n_train} x {args.dims}: {fit_seconds:.2f} s; ratio {boot_seconds / fit_seconds:.2f}"
    )

    labels = rng.integers(0, args.classes, size=n_test)
    predicted = np.where(rng.random(n_test) < 0.6, labels, rng.integers(0, args.classes, size=n_test))
    class_groups = [
        ScoredGroup(truth, pred)
        for truth, pred in zip(np.array_split(labels, args.folds), np.array_split(predicted, args.folds), strict=True)
    ]
    boot_seconds, ci = timed(lambda: bootstrap_intervals(class_groups, True, args.replicates))
    n_classes_fit = max(2, args.classes // 8)
    centres = rng.normal(size=(n_classes_fit, args.dims)).astype(np.float32)
    label_all = rng.integers(0, n_classes_fit, size=n_train + n_test)
    Xc = centres[label_all] + 2.0 * rng.normal(size=(n_train + n_test, args.dims)).astype(np.float32)
    val = slice(n_train - n_test, n_train)
    fit_part = slice(0, n_train - n_test)
    fit_seconds, _ = timed(
        lambda: fit_predict(
            "linear", "classification", Xc[fit_part], label_all[fit_part], Xc[val], label_all[val], Xc[test], 0
        )
    )
    print(
        f"classification, {n_test} test points, {args.classes} classes, {args.replicates} replicates: "
        f"bootstrap {boot_seconds:.2f} s (accuracy {ci['accuracy'][0]:.3f}..{ci['accuracy'][1]:.3f}); "
        f"logistic fit_predict ({n_classes_fit} classes): {fit_seconds:.2f} s; "
        f"ratio {boot_seconds / fit_seconds:.2f}"
    )


if __name__ == "__main__":
    main()
