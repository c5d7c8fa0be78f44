"""Peak memory of ``satclip embed`` on vector files stays bounded as the input grows.

    python benchmarks/vector_streaming_memory.py [--small 250000] [--large 2000000]

Writes two GeoParquet and two CSV point files (``--small`` and ``--large`` rows), embeds
each with ``satclip embed`` in a fresh process (a small L=4 model: the point is the I/O
path, not the model) and prints each run's peak resident memory and the large/small
ratio, measured in the same run. Streaming means the ratio stays near 1 even though the
input is 8x larger; holding everything in memory would scale with the rows.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import torch

from satclip_cli.models.checkpoints import save_location_encoder
from satclip_cli.models.location_encoder import build_location_encoder


def write_points(path: Path, rows: int) -> None:
    rng = np.random.default_rng(rows)
    frame = pd.DataFrame(
        {"id": np.arange(rows), "lon": rng.uniform(-180, 180, rows), "lat": rng.uniform(-90, 90, rows)}
    )
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        gpd.GeoDataFrame(frame[["id"]], geometry=gpd.points_from_xy(frame.lon, frame.lat), crs=4326).to_parquet(path)


def peak_rss_mb(command: list[str]) -> float:
    """Run ``command`` in a child process (via a tiny wrapper) and return its peak RSS in MB."""
    wrapper = (
        "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    result = subprocess.run([sys.executable, "-c", wrapper, *command], capture_output=True, text=True, check=True)
    return int(result.stdout.strip().splitlines()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=250_000)
    parser.add_argument("--large", type=int, default=2_000_000)
    args = parser.parse_args()
    satclip = str(Path(sys.executable).with_name("satclip"))

    with tempfile.TemporaryDirectory(prefix="satclip-memory-") as folder:
        work = Path(folder)
        torch.manual_seed(0)
        model = save_location_encoder(
            build_location_encoder(legendre_polys=4, embed_dim=64, capacity=64), work / "m.safetensors"
        )
        print(f"{'input':>10} {'output':>8} {'rows':>10} {'peak MB':>9}")
        for suffix, out_suffix in ((".parquet", ".parquet"), (".csv", ".npy")):
            peaks = {}
            for rows in (args.small, args.large):
                source = work / f"points_{rows}{suffix}"
                write_points(source, rows)
                output = work / f"out_{rows}{out_suffix}"
                peaks[rows] = peak_rss_mb(
                    [satclip, "embed", str(source), "-o", str(output), "--model", str(model), "-q"]
                )
                print(f"{suffix:>10} {out_suffix:>8} {rows:>10,} {peaks[rows]:>9.0f}")
            print(f"{'':>10} peak memory ratio large/small: {peaks[args.large] / peaks[args.small]:.2f} "
                  f"for {args.large / args.small:.0f}x the rows")  # fmt: skip


if __name__ == "__main__":
    main()
