"""What a probe task is: :class:`TaskSpec`, one registry entry holding a task's description, sources and loader."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from satclip_cli.probing.tasks.data import TaskData, TaskType

REGRESSION_METRICS = ("r2", "mse", "mae")
CLASSIFICATION_METRICS = ("accuracy", "macro_f1")

DataDir = str | os.PathLike[str] | None
"""A folder of local copies laid out as ``<dataset>/<file>``, or None to download (see ``downloads.fetch``)."""

SourceFile = tuple[str, str]
"""``(dataset, filename)``: a file of :data:`satclip_cli.probing.downloads.REGISTRY`."""

Loader = Callable[["TaskSpec", DataDir, int, int], TaskData]
"""``loader(spec, data_dir, n_points, seed) -> TaskData`` (``n_points`` is 0 for fixed tables)."""


@dataclass(frozen=True)
class TaskSpec:
    """What a probe task is: source, citation, target, how it is scored, and the function that loads it.

    Attributes:
        name: the task's name, e.g. ``"air-temperature"``.
        title: a short human title.
        source: where the data come from (dataset, version, publisher).
        citation: the reference to cite.
        target: what is predicted.
        units: units of the regression target ("" for classification).
        type: ``"regression"`` or ``"classification"``.
        metrics: metric names, the primary one first (names as in :mod:`satclip_cli.probing.report`).
        files: ``(dataset, filename)`` pairs it reads through :func:`~satclip_cli.probing.downloads.fetch`
            (which owns their URLs and checksums); the loader reads them from here.
        default_n_points: points drawn by default for sampled tasks; None for fixed tables.
        available: False for tasks registered but not implemented yet (see ``note``).
        note: caveats: how this version differs from the paper's, or why it is unavailable.
        loader: builds the task's :class:`~satclip_cli.probing.tasks.data.TaskData`; None when unavailable.
    """

    name: str
    title: str
    source: str
    citation: str
    target: str
    units: str
    type: TaskType
    metrics: tuple[str, ...]
    files: tuple[SourceFile, ...] = ()
    default_n_points: int | None = None
    available: bool = True
    note: str = ""
    loader: Loader | None = None

    @property
    def sampled(self) -> bool:
        """Whether the points are drawn at random (``n_points`` and ``seed`` apply)."""
        return self.default_n_points is not None
