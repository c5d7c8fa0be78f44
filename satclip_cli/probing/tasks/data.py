"""What a loaded probe task is: :class:`TaskData` (points and a target per point), and how loaders build one.

:func:`regression_data` and :func:`classification_data` turn points and raw targets into a checked
:class:`TaskData`; classification drops classes with fewer than :data:`MIN_CLASS_SIZE` points (a
stratified split needs 2) and reports them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from satclip_cli.errors import InputError

TaskType = Literal["regression", "classification"]
TASK_TYPES: tuple[TaskType, ...] = ("regression", "classification")

MIN_CLASS_SIZE = 2
"""Classes with fewer points are dropped (a stratified train/test split needs at least 2)."""


@dataclass
class TaskData:
    """Points and targets of one task, ready to be split and embedded.

    Attributes:
        name: task name (``"<file stem>:<column>"`` for a custom task).
        type: ``"regression"`` or ``"classification"``.
        lonlat: float64 ``[N, 2]`` (lon, lat) degrees, EPSG:4326, longitudes in [-180, 180].
        target: float64 ``[N]`` in :attr:`units` (regression) or int64 ``[N]`` indices into
            :attr:`classes` (classification).
        units: units of a regression target (e.g. ``"°C"``); ``""`` for classification.
        classes: class names for classification (``target`` indexes them), sorted when read from data
            (``land-ocean`` is ``["ocean", "land"]``, ``checkerboard`` ``["even", "odd"]``); None for regression.
        test_lonlat: float64 ``[M, 2]`` (lon, lat) degrees of a fixed test set that replaces a random
            test split (``land-ocean``: a regular grid), else None.
        test_target: ``[M]`` targets of the fixed test set (same dtype/meaning as ``target``), else None.
        test_weight: float64 ``[M]`` weights summing to 1 (proportional to the area each test point
            stands for), for area-weighted test metrics; None means equal weights.
        dropped_nan: rows dropped because the target was missing (NaN/empty) or unusable (e.g. a
            population of 0 for a log).
        dropped_unlabelled: sampled points dropped because they fell in no labelling polygon.
        dropped_classes: classes dropped for having fewer than :data:`MIN_CLASS_SIZE` points, with
            their point counts (those points are not in ``lonlat``).
        description: one line on where the points and targets come from.
    """

    name: str
    type: TaskType
    lonlat: np.ndarray
    target: np.ndarray
    units: str = ""
    classes: list[str] | None = None
    test_lonlat: np.ndarray | None = None
    test_target: np.ndarray | None = None
    test_weight: np.ndarray | None = None
    dropped_nan: int = 0
    dropped_unlabelled: int = 0
    dropped_classes: dict[str, int] = field(default_factory=dict)
    description: str = ""

    def __post_init__(self) -> None:
        if self.type not in TASK_TYPES:
            raise ValueError(f"task type must be one of {TASK_TYPES}, got {self.type!r}")
        _check_points(self.lonlat, self.target, self.type, self.classes, "")
        if (self.test_lonlat is None) != (self.test_target is None):
            raise ValueError("test_lonlat and test_target go together")
        if self.test_lonlat is not None:
            _check_points(self.test_lonlat, self.test_target, self.type, self.classes, "test_")
        if self.test_weight is not None and (
            self.test_lonlat is None or self.test_weight.shape != (len(self.test_lonlat),)
        ):
            raise ValueError("test_weight must be float64 [M] matching test_lonlat")

    @property
    def n(self) -> int:
        """Number of points ``N`` (without the fixed test set)."""
        return len(self.lonlat)

    @property
    def has_test_set(self) -> bool:
        """Whether the task comes with a fixed test set (``test_lonlat``)."""
        return self.test_lonlat is not None

    def warnings(self) -> list[str]:
        """One line per thing a user should know about dropped rows/points/classes (empty if none)."""
        lines = []
        if self.dropped_nan:
            lines.append(f"{self.name}: dropped {self.dropped_nan:,} rows with a missing or unusable target")
        if self.dropped_unlabelled:
            lines.append(f"{self.name}: dropped {self.dropped_unlabelled:,} sampled points that fall in no polygon")
        if self.dropped_classes:
            shown = ", ".join(f"{name!r} ({count})" for name, count in list(self.dropped_classes.items())[:10])
            more = f", ... ({len(self.dropped_classes)} classes)" if len(self.dropped_classes) > 10 else ""
            lines.append(f"{self.name}: dropped classes with fewer than {MIN_CLASS_SIZE} points: {shown}{more}")
        return lines


def _check_points(lonlat: np.ndarray, target: np.ndarray, kind: str, classes: list[str] | None, prefix: str) -> None:
    if not (isinstance(lonlat, np.ndarray) and lonlat.dtype == np.float64 and lonlat.ndim == 2):
        raise ValueError(f"{prefix}lonlat must be float64 [N, 2]")
    if lonlat.shape[1] != 2 or not isinstance(target, np.ndarray) or target.shape != (len(lonlat),):
        raise ValueError(f"{prefix}lonlat [N, 2] and {prefix}target [N] do not match")
    if kind == "regression":
        if target.dtype != np.float64 or classes is not None:
            raise ValueError("a regression target is float64 and has no classes")
    elif (
        target.dtype != np.int64
        or classes is None
        or (target.size and not 0 <= target.min() <= target.max() < len(classes))
    ):
        raise ValueError("a classification target is int64 indices into classes")


def regression_data(
    name: str, units: str, lonlat: np.ndarray, target: np.ndarray, dropped: int, description: str
) -> TaskData:
    """A regression :class:`TaskData` from (lon, lat) degrees ``[N, 2]`` and finite targets ``[N]`` in ``units``.

    Raises:
        InputError: if no row has a usable target.
    """
    if len(target) == 0:
        raise InputError(f"{name}: no rows with a usable target")
    return TaskData(
        name=name,
        type="regression",
        lonlat=np.ascontiguousarray(lonlat, dtype=np.float64),
        target=np.ascontiguousarray(target, dtype=np.float64),
        units=units,
        dropped_nan=dropped,
        description=description,
    )


def classification_data(
    name: str, lonlat: np.ndarray, labels: np.ndarray, dropped_nan: int, dropped_unlabelled: int, description: str
) -> TaskData:
    """Encode string labels as sorted class indices, dropping classes with fewer than MIN_CLASS_SIZE points.

    Raises:
        InputError: if fewer than 2 classes are left.
    """
    classes, inverse, counts = np.unique(labels.astype(str), return_inverse=True, return_counts=True)
    rare = counts < MIN_CLASS_SIZE
    dropped = {str(classes[i]): int(counts[i]) for i in np.flatnonzero(rare)}
    keep = ~rare[inverse]
    kept_classes = classes[~rare]
    if len(kept_classes) < 2:
        raise InputError(
            f"{name}: fewer than 2 classes with at least {MIN_CLASS_SIZE} points ({len(classes)} classes in "
            f"{len(labels):,} points); a classification task needs more"
        )
    remap = np.cumsum(~rare) - 1
    return TaskData(
        name=name,
        type="classification",
        lonlat=np.ascontiguousarray(lonlat[keep], dtype=np.float64),
        target=remap[inverse[keep]].astype(np.int64),
        classes=[str(c) for c in kept_classes],
        dropped_nan=dropped_nan,
        dropped_unlabelled=dropped_unlabelled,
        dropped_classes=dropped,
        description=description,
    )
