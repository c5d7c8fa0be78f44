"""Helpers shared by the probe task tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from satclip_cli.probing.tasks import MIN_CLASS_SIZE, TaskData

N = 3000  # sampled tasks: enough points for stable checks, fast enough


def check_points(data: TaskData) -> None:
    assert data.lonlat.dtype == np.float64 and data.lonlat.shape == (data.n, 2)
    assert np.isfinite(data.lonlat).all()
    assert (np.abs(data.lonlat[:, 0]) <= 180).all() and (np.abs(data.lonlat[:, 1]) <= 90).all()
    if data.type == "regression":
        assert data.target.dtype == np.float64 and data.classes is None and np.isfinite(data.target).all()
    else:
        assert (
            data.target.dtype == np.int64 and data.classes is not None and len(set(data.classes)) == len(data.classes)
        )
        counts = np.bincount(data.target, minlength=len(data.classes))
        assert counts.min() >= MIN_CLASS_SIZE  # every class kept has enough points for a stratified split


def write_csv(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path
