"""Quality checks of a read patch: nodata pixels and (from the SCL layer) cloudy pixels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from satclip_cli.dataset.sentinel2 import SCL_CLOUD_CLASSES


def nodata_fraction(bands: np.ndarray) -> float:
    """Fraction of pixels that are zero in every band; ``bands`` has shape (bands, rows, cols)."""
    if bands.size == 0:
        return 1.0
    return float(np.mean(~np.any(bands != 0, axis=0)))


def cloud_fraction(scl: np.ndarray) -> float:
    """Fraction of pixels of the scene classification ``scl`` (rows, cols) in a cloud or shadow class."""
    if scl.size == 0:
        return 1.0
    return float(np.mean(np.isin(scl, SCL_CLOUD_CLASSES)))


@dataclass(frozen=True)
class QualityLimits:
    """Largest accepted fractions (0..1) of nodata and of cloudy pixels (None: no cloud check)."""

    max_nodata_fraction: float = 0.1
    max_cloud_fraction: float | None = None


@dataclass(frozen=True)
class QualityVerdict:
    """Measured fractions and the reason for rejection (``nodata``, ``cloud``), None when accepted."""

    nodata_fraction: float
    cloud_fraction: float | None
    rejected_for: str | None


def judge_patch(bands: np.ndarray, scl: np.ndarray | None, limits: QualityLimits) -> QualityVerdict:
    """Check a patch against ``limits``; nodata is checked first."""
    nodata = nodata_fraction(bands)
    cloud = cloud_fraction(scl) if scl is not None else None
    reason = None
    if nodata > limits.max_nodata_fraction:
        reason = "nodata"
    elif limits.max_cloud_fraction is not None and cloud is not None and cloud > limits.max_cloud_fraction:
        reason = "cloud"
    return QualityVerdict(nodata_fraction=nodata, cloud_fraction=cloud, rejected_for=reason)
