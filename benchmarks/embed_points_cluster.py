"""Points per second of ``satclip embed`` in-process and on local Dask clusters of 1 and 2 workers, same run.

    python benchmarks/embed_points_cluster.py [--points 2000000] [--model CKPT] [--partition-rows 65536]

Writes ``--points`` area-uniform random points as a GeoParquet-free plain Parquet table (``id``, ``lon``, ``lat``),
then times whole ``satclip embed`` processes on it: in-process to one GeoParquet file, and with
``--scheduler local:1`` and ``local:2`` to a GeoParquet dataset folder (cluster start-up and the model load on each
worker included). Prints seconds and points/s of each. On 2 cores, ``local:2`` can at best double ``local:1``;
the in-process run already uses both cores through torch's threads.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DEFAULT_MODEL = REPO / "tests" / "data" / "fixtures" / "satclip_resnet18_l10.ckpt"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=2_000_000)
    parser.add_argument("--model", default=str(DEFAULT_MODEL))
    parser.add_argument("--partition-rows", type=int, default=65536)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="embed-points-bench-"))
    try:
        rng = np.random.default_rng(0)
        n = args.points
        table = pd.DataFrame({"id": np.arange(n), "lon": rng.uniform(-180, 180, n)})
        table["lat"] = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
        points = folder / "points.csv"
        table.to_csv(points, index=False)
        print(f"{n:,} points (CSV), model {args.model}, partitions of {args.partition_rows:,} rows")
        print(f"{'run':<16} {'seconds':>8} {'points/s':>10}")
        for label, extra in (
            ("in-process", []),
            ("local:1", ["--scheduler", "local:1", "--partition-rows", str(args.partition_rows)]),
            ("local:2", ["--scheduler", "local:2", "--partition-rows", str(args.partition_rows)]),
        ):
            out = folder / f"out-{label.replace(':', '')}.parquet"
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "satclip_cli", "embed", str(points), "-o", str(out), "--model", args.model,
                 "--device", "cpu", "-q", *extra],
                check=True,
            )  # fmt: skip
            seconds = time.perf_counter() - started
            print(f"{label:<16} {seconds:>8.1f} {n / seconds:>10,.0f}")
            shutil.rmtree(out, ignore_errors=True) if out.is_dir() else out.unlink()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
