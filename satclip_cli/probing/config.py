"""The probing stage's settings: :class:`ProbeConfig`, what to evaluate and where the report goes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from satclip_cli.errors import InputError, setting
from satclip_cli.probing.probes import PROBES
from satclip_cli.probing.tasks import TASK_TYPES, TASKS, available_tasks

SPLITS = ("random", "spatial-block", "holdout-africa", "holdout-asia")
"""The splits a run can use: random (one 60/20/20 split, or K-fold with ``folds``), spatial-block K-fold,
or one continent held out as the test set."""

DEFAULT_FOLDS = 5
"""Folds of the spatial-block split (and of the random split when ``folds`` is given)."""


@dataclass(frozen=True)
class ProbeConfig:
    """What a probe run evaluates, on which tasks, and where it writes the report.

    Attributes:
        tasks: registered task names (see :data:`~satclip_cli.probing.tasks.TASKS`); ``"all"`` stands for
            every available task. Duplicates are ignored.
        models: encoders to evaluate: released model names, official SatCLIP ``.ckpt`` files or our
            ``.safetensors``/``.json`` models.
        baselines: baseline encoders (``coords``, ``sh10``, ``sh40``, ``geoclip``); None for the default set
            (see :func:`~satclip_cli.probing.encoders.resolve_encoders`), ``()`` for none.
        data: a custom task: any vector file or table of points (see
            :func:`~satclip_cli.probing.tasks.load_custom_task`); it needs ``target``.
        target: the column of ``data`` to predict.
        task_type: ``"regression"`` or ``"classification"`` for the custom task; None guesses from the column.
        probes: probe kinds, from :data:`~satclip_cli.probing.probes.PROBES`.
        splits: splits, from :data:`SPLITS`.
        folds: K of the K-fold splits: ``spatial-block`` always runs K-fold (default :data:`DEFAULT_FOLDS`);
            ``random`` runs K-fold when ``folds`` is given, else one 60/20/20 split per seed.
        block_size_km: edge of the equal-area blocks of the ``spatial-block`` split, km.
        bootstrap: bootstrap replicates of the 95 % intervals (``ci95``) of every metric; 0 for none.
        few_shot: with a hold-out split, the fraction (0..1) of the held-out continent that trains too.
        seeds: repetitions of each split (and of the MLP's initialisation); results give mean and std.
        n_points: points drawn for sampled tasks (None: each task's default).
        data_dir: local copies of the task sources, laid out as ``data_dir/<dataset>/<file>``; None
            downloads them once into the cache.
        out: the report folder (``results.json``, ``results.csv``, ``maps/<task>.png``).
        maps: write a PNG map per task (truth, prediction, error) for its best encoder.
        device: where models run: ``auto``, ``cpu``, ``cuda`` or ``mps``.
    """

    tasks: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    baselines: tuple[str, ...] | None = None
    data: Path | None = None
    target: str | None = None
    task_type: str | None = None
    probes: tuple[str, ...] = ("linear",)
    splits: tuple[str, ...] = ("random",)
    folds: int | None = None
    block_size_km: float = 500.0
    bootstrap: int = 1000
    few_shot: float | None = None
    seeds: int = 5
    n_points: int | None = None
    data_dir: Path | None = None
    out: Path = Path("probe-results")
    maps: bool = True
    device: str = "auto"

    @property
    def task_names(self) -> tuple[str, ...]:
        """The registered tasks to run, in order: ``"all"`` expanded, duplicates removed."""
        if "all" in self.tasks:
            return available_tasks()
        return tuple(dict.fromkeys(self.tasks))

    @property
    def n_folds(self) -> int:
        """K of the K-fold splits (:data:`DEFAULT_FOLDS` unless ``folds`` is given)."""
        return DEFAULT_FOLDS if self.folds is None else self.folds

    def folds_of(self, split: str) -> int | None:
        """How many folds ``split`` runs (None: one train/val/test split per seed)."""
        if split == "spatial-block" or (split == "random" and self.folds is not None):
            return self.n_folds
        return None

    @property
    def holds_out_continents(self) -> bool:
        """Whether a continent hold-out split is asked for (points then need their continent)."""
        return any(split.startswith("holdout-") for split in self.splits)

    def validate(self) -> None:
        """Check the settings before anything is loaded.

        Raises:
            InputError: naming the first setting that is missing, unknown or out of range.
        """
        if self.data is None and self.target is not None:
            raise InputError(f"{setting('target')} needs {setting('data')} FILE")
        if self.data is not None and self.target is None:
            raise InputError(f"{setting('data')} needs {setting('target')} COLUMN")
        if self.data is not None and not Path(self.data).exists():
            raise InputError(f"data file {self.data} not found")
        if self.task_type is not None and self.task_type not in TASK_TYPES:
            raise InputError(f"{setting('task_type')} must be regression or classification")
        if self.data_dir is not None and not Path(self.data_dir).is_dir():
            raise InputError(f"{setting('data_dir')} {self.data_dir} is not a folder")
        if not self.tasks and self.data is None:
            raise InputError(
                f"give {setting('tasks')} NAME (or {setting('tasks')} all), "
                f"or {setting('data')} FILE {setting('target')} COLUMN"
            )
        for task in self.task_names:
            if task not in TASKS:
                raise InputError(f"unknown task {task!r}; tasks: {', '.join(TASKS)}")
        for probe in self.probes:
            if probe not in PROBES:
                raise InputError(f"unknown probe {probe!r}; use one of {', '.join(PROBES)}")
        for split in self.splits:
            if split not in SPLITS:
                raise InputError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
        if self.few_shot is not None and not 0 < self.few_shot < 1:
            raise InputError(f"{setting('few_shot')} is a fraction between 0 and 1 of the held-out continent")
        if self.few_shot is not None and not self.holds_out_continents:
            raise InputError(
                f"{setting('few_shot')} needs a continent hold-out split "
                f"({setting('splits')} holdout-africa or holdout-asia)"
            )
        if self.seeds < 1:
            raise InputError(f"{setting('seeds')} must be at least 1")
        if self.folds is not None and self.folds < 2:
            raise InputError(f"{setting('folds')} must be at least 2, got {self.folds}")
        if self.folds is not None and not any(self.folds_of(split) for split in self.splits):
            raise InputError(f"{setting('folds')} needs {setting('splits')} random or spatial-block")
        if not self.block_size_km > 0:  # also catches NaN
            raise InputError(f"{setting('block_size_km')} must be a positive number of km, got {self.block_size_km:g}")
        if self.bootstrap < 0:
            raise InputError(
                f"{setting('bootstrap')} must be 0 (no intervals) or a number of replicates, got {self.bootstrap}"
            )
