"""Wall and CPU time of the logistic probe's C path, as before and after the speed-up, on one fold of a task.

    python benchmarks/probe_logistic_speed.py --data-dir ../shared/data [--task countries] [--encoder sh40]
        [--split random|spatial-block] [--modes new,old,old1]

The task (``--n-points 5000``, as in docs/benchmarks.md) is embedded with a baseline encoder (``sh40``:
1,600 features), split as the probe's 5-fold ``--split`` (fold 0, seed 0, 500 km blocks), rare classes
dropped, features standardised on the training part; then the same ``_logistic_probe`` runs under each mode:

* ``new``: the current defaults, each fit stopped at ``tol`` 1e-4 (sklearn's default), one torch thread;
* ``old``: as before, ``tol`` 1e-5 and torch's own thread count (one per core);
* ``old1``: ``tol`` 1e-5 on one thread (the effect of the tolerance alone).

Printed per mode: wall seconds, CPU seconds of the process (all threads), the chosen C and the test accuracy,
and the load average before the run. On a machine shared with other jobs the wall time varies by 2-4x from
run to run; compare modes within one run. Reads the task's sources from ``--data-dir`` (not the package).
"""

from __future__ import annotations

import argparse
import os
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--task", default="countries")
    parser.add_argument("--encoder", default="sh40")
    parser.add_argument("--split", choices=("random", "spatial-block"), default="random")
    parser.add_argument("--n-points", type=int, default=5000)
    parser.add_argument("--modes", default="new,old1,old")
    args = parser.parse_args()

    import numpy as np

    from satclip_cli.probing import probes
    from satclip_cli.probing.encoders import baseline_encoder
    from satclip_cli.probing.splits import drop_rare_classes_quietly, random_kfold, spatial_block_kfold
    from satclip_cli.probing.tasks import load_task

    data = load_task(args.task, data_dir=args.data_dir, n_points=args.n_points)
    X = baseline_encoder(args.encoder).encode(data.lonlat)
    if args.split == "random":
        kfold = random_kfold(len(data.lonlat), 5, seed=0)
    else:
        kfold = spatial_block_kfold(data.lonlat, 5, 500.0, seed=0)
    split, _, _ = drop_rare_classes_quietly(data.target, kfold.splits[0])
    y = data.target
    scaler = probes.Standardizer.fit(X[split.train])
    Xtr, Xv, Xte = (scaler.transform(X[part], np.float32) for part in (split.train, split.val, split.test))
    classes, train_codes, val_codes = probes._encode_labels(y[split.train], y[split.val])
    print(
        f"{args.task} x {args.encoder}, {args.split} fold 1 of 5: train {split.train.size:,} x {X.shape[1]} features, "
        f"{classes.size} classes, val {split.val.size:,}, test {split.test.size:,}"
    )
    settings = {
        "new": {"tol": probes.LOGISTIC_TOL, "threads": 1},
        "old": {"tol": 1e-5, "threads": None},
        "old1": {"tol": 1e-5, "threads": 1},
    }
    for mode in args.modes.split(","):
        load = os.getloadavg()[0]
        wall, cpu = time.perf_counter(), time.process_time()
        probabilities, C = probes._logistic_probe(Xtr, train_codes, Xv, val_codes, Xte, classes.size, **settings[mode])
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        accuracy = float(np.mean(classes[probabilities.argmax(axis=1)] == y[split.test]))
        print(f"{mode:5s} {wall:7.1f} s wall {cpu:7.1f} s CPU   C {C:<6g} accuracy {accuracy:.4f}   (load {load:.1f})")


if __name__ == "__main__":
    main()
