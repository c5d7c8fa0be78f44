"""End-to-end embedding throughput with an L=40 SIREN model, and the spherical-harmonics share.

    python benchmarks/embed_throughput.py [--points 1000000] [--threads 2] [--dtype float32]

Builds a released-size location encoder (L=40, SIREN 512x2, 256-d; random weights: speed
does not depend on their values), then times, in the same run and on the same points:
the whole ``make_embed_fn`` path that ``satclip embed`` uses, and the positional encoding
alone. Reported for the exact and the legacy SH evaluation.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from satclip_cli.models.inference import DTYPES, make_embed_fn
from satclip_cli.models.location_encoder import build_location_encoder


def random_points(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([rng.uniform(-180, 180, n), np.degrees(np.arcsin(rng.uniform(-1, 1, n)))], axis=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=16384)
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="float32")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    dtype = DTYPES[args.dtype]
    points = random_points(args.points)

    print(f"{args.points:,} points, L=40 SIREN 512x2 -> 256, {args.dtype}, {args.threads} threads")
    print(f"{'SH':>7} {'total s':>8} {'points/s':>10} {'SH s':>7} {'SH share':>9}")
    for method in ("exact", "legacy"):
        encoder = build_location_encoder(legendre_polys=40, sh_method=method).eval()
        embed = make_embed_fn(encoder, "cpu", dtype, args.batch_size)
        embed(points[:1000])  # warm-up
        start = time.perf_counter()
        embed(points)
        total = time.perf_counter() - start

        posenc = encoder.posenc
        start = time.perf_counter()
        with torch.inference_mode():
            for first in range(0, args.points, args.batch_size):
                posenc(torch.from_numpy(points[first : first + args.batch_size]).to(dtype))
        sh_seconds = time.perf_counter() - start
        print(f"{method:>7} {total:>8.1f} {args.points / total:>10,.0f} {sh_seconds:>7.1f} {sh_seconds / total:>8.0%}")


if __name__ == "__main__":
    main()
