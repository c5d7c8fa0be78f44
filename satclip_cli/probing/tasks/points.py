"""The random points of sampled tasks: area-uniform on the sphere, reproducible from (task, seed)."""

from __future__ import annotations

import zlib

import numpy as np


def sample_points(task: str, n: int, seed: int, *, land_only: bool) -> np.ndarray:
    """``n`` area-uniform points for ``task`` (on land with ``land_only``), reproducible from (task, seed).

    The generator is :func:`~satclip_cli.geo.sphere_sampling.point_rng` ``(seed, crc32(task), 0)``: the
    same (task, seed, n) always gives the same points, and different tasks draw independent points.

    Returns:
        float64 ``[n, 2]`` (lon, lat) degrees.
    """
    from satclip_cli.geo.sphere_sampling import SamplingArea, point_rng

    stream = zlib.crc32(task.encode()) & 0x7FFFFFFF
    return SamplingArea(land_only=land_only).draw(point_rng(seed, stream, 0), n)
