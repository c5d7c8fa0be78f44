"""Raster embedding throughput: a global grid with an L=10 SIREN model, in pixels/s.

    python benchmarks/raster_throughput.py [--resolution 0.1] [--threads 2] [--keep out.tif]

Builds a released-size L=10 location encoder (random weights: speed does not depend on
them), embeds every pixel centre of a global grid into a float32 256-band COG with
``embed_raster`` (what ``satclip embed --bbox ... -o out.tif`` runs), and, as the reference
measured in the same run, embeds the same number of points through the model alone. The
ratio is the cost of the raster machinery (pixel centres, tiling, overviews, compression).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from satclip_cli.embedding.raster import embed_raster
from satclip_cli.geo.raster_grid import RasterGrid
from satclip_cli.models.inference import make_embed_fn
from satclip_cli.models.location_encoder import build_location_encoder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resolution", type=float, default=0.1, help="degrees")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="keep the COG at this path (default: deleted)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    encoder = build_location_encoder(legendre_polys=10).eval()
    embed_fn = make_embed_fn(encoder, "cpu", torch.float32, batch_size=16384)
    grid = RasterGrid.from_bbox((-180.0, -90.0, 180.0, 90.0), args.resolution)
    print(f"global grid {grid.width} x {grid.height} = {grid.n_pixels:,} pixels, 256 bands, {args.threads} threads")

    workdir = Path(tempfile.mkdtemp(prefix="satclip-raster-bench-", dir=args.keep.parent if args.keep else None))
    try:
        output = args.keep or workdir / "world.tif"
        summary = embed_raster(output, grid, embed_fn, encoder.embed_dim, progress=False, overwrite=True)
        print(
            f"raster:    {summary.seconds:8.1f} s  {summary.pixels_per_second:>10,.0f} pixels/s  "
            f"(embedding loop {summary.embed_seconds:.1f} s, COG {summary.output_bytes / 2**30:.2f} GiB)"
        )
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    rng = np.random.default_rng(0)
    points = np.stack([rng.uniform(-180, 180, 1_000_000), rng.uniform(-90, 90, 1_000_000)], axis=1)
    start = time.perf_counter()
    embed_fn(points)
    model_rate = points.shape[0] / (time.perf_counter() - start)
    print(f"reference: model alone {model_rate:>10,.0f} points/s")
    print(f"raster throughput = {summary.pixels_per_second / model_rate:.2f} x the model alone")


if __name__ == "__main__":
    main()
