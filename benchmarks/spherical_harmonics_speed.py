"""Spherical-harmonics features: our recurrence (exact) and legacy evaluation vs a scipy reference.

    python benchmarks/spherical_harmonics_speed.py [--points 1000000] [--threads 2]

Ours is timed two ways: returning one fresh ``[N, L²]`` tensor ("fresh": at L=40 float64 that
is 12.8 GB, and first-touching that much memory dominates the time on this machine), and
streaming batches of ``--batch`` points into one reused output buffer ("stream", how an
embedding pipeline consumes features).

The reference evaluates each (l, m) separately with ``scipy.special.sph_harm_y`` over all
points (a loop of L² vectorised calls, float64). It is linear in the number of points, so it
is timed on ``--reference-points`` points and scaled to ``--points``; ours is timed on all
``--points``. Everything is measured in this run, on this machine; the script prints ratios.
Target: exact L=40 float64 at least 100x faster than the reference.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from scipy.special import sph_harm_y

from satclip_cli.models.positional_encoding.legacy_harmonics import legacy_spherical_harmonics
from satclip_cli.models.positional_encoding.spherical_harmonics import spherical_harmonics


def random_points(n: int, seed: int = 0) -> np.ndarray:
    """Area-uniform (lon, lat) in degrees, ``[n, 2]``."""
    rng = np.random.default_rng(seed)
    return np.stack([rng.uniform(-180, 180, n), np.degrees(np.arcsin(rng.uniform(-1, 1, n)))], axis=1)


def scipy_reference(lonlat: np.ndarray, degree: int) -> np.ndarray:
    """Official analytic features, one ``sph_harm_y`` call per (l, m)."""
    theta = np.radians(lonlat[:, 1] + 90.0)
    phi = np.radians(lonlat[:, 0] + 180.0)
    out = np.empty((lonlat.shape[0], degree * degree))
    for l in range(degree):
        for m in range(-l, l + 1):
            y = sph_harm_y(l, abs(m), theta, phi)
            if m == 0:
                out[:, l * l + l] = np.pi * y.real
            else:
                part = y.real if m > 0 else y.imag
                out[:, l * l + l + m] = np.sqrt(2.0) * (-1.0) ** m * part
    return out


def report(degree: int, method: str, dtype: str, seconds: float, reference: float) -> None:
    print(f"{degree:>3} {method:>14} {dtype:>8} {seconds:>9.2f} {reference:>12.1f} {reference / seconds:>8.0f}x")


def timed(function, *args) -> float:
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--reference-points", type=int, default=50_000)
    parser.add_argument("--legacy-points", type=int, default=200_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=65536, help="points per batch in the streaming timing")
    parser.add_argument("--degrees", type=int, nargs="+", default=[10, 40])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    points = random_points(args.points)

    print(f"{args.points:,} points, {args.threads} threads; reference timed on {args.reference_points:,} points")
    print(f"{'L':>3} {'method':>14} {'dtype':>8} {'seconds':>9} {'reference s':>12} {'speed-up':>9}")
    for degree in args.degrees:
        scale = args.points / args.reference_points
        reference = timed(scipy_reference, points[: args.reference_points], degree) * scale
        for dtype in (torch.float32, torch.float64):
            tensor = torch.from_numpy(points).to(dtype)
            spherical_harmonics(tensor[:1000], degree, "satclip")  # warm-up
            name = str(dtype).removeprefix("torch.")
            seconds = timed(spherical_harmonics, tensor, degree, "satclip")
            report(degree, "exact fresh", name, seconds, reference)
            buffer = torch.empty(args.batch, degree * degree, dtype=dtype)
            start = time.perf_counter()
            for first in range(0, args.points, args.batch):
                batch = tensor[first : first + args.batch]
                spherical_harmonics(batch, degree, "satclip", out=buffer[: batch.shape[0]])
            seconds = time.perf_counter() - start
            report(degree, "exact stream", name, seconds, reference)
        legacy_points = torch.from_numpy(points[: args.legacy_points])
        seconds = timed(legacy_spherical_harmonics, legacy_points, degree) * args.points / legacy_points.shape[0]
        report(degree, "legacy fresh", "float64", seconds, reference)


if __name__ == "__main__":
    main()
