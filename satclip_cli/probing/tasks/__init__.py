"""Probe tasks: a registry of downstream datasets (:data:`TASKS`) and their loaders.

:func:`load_task` turns a task name into :class:`TaskData`: (lon, lat) points in degrees and a target
per point. :func:`load_custom_task` does the same for any vector file or CSV and a chosen column.

Each task is ONE registry entry (:class:`TaskSpec` in :mod:`~satclip_cli.probing.tasks.registry`): its
description, scoring, source files and loader. Loaders are grouped by family:

* fixed tables, one point per row of the source, rows with a missing target dropped and counted:
  station climatology (``air-temperature``, ``precipitation``; :mod:`~satclip_cli.probing.tasks.stations`),
  census tables (``california-housing``, ``median-income``; :mod:`~satclip_cli.probing.tasks.census`),
  cities (``population``; :mod:`~satclip_cli.probing.tasks.population`);
* sampled tasks: ``n_points`` area-uniform points (longitude uniform, sin(latitude) uniform), on land
  (the packaged 5' land mask) unless stated, drawn by :func:`~satclip_cli.probing.tasks.points.sample_points`:
  the same (task, seed, n_points) always gives the same points, and different tasks draw independent
  points. The raster-sampled ``elevation`` (:mod:`~satclip_cli.probing.tasks.elevation`); the
  polygon-labelled ``countries``, ``biomes``, ``ecoregions`` (:mod:`~satclip_cli.probing.tasks.regions`);
  the synthetic ``land-ocean`` and ``checkerboard``, anywhere (:mod:`~satclip_cli.probing.tasks.synthetic`);
* custom tables: any vector file or table and a column (:mod:`~satclip_cli.probing.tasks.custom`).

Classification tasks drop classes with fewer than 2 points (a stratified split needs 2) and report them.
Source files come through :func:`satclip_cli.probing.downloads.fetch` (downloaded once, or ``data_dir``).
"""

from satclip_cli.probing.tasks.custom import AUTO_REGRESSION_MIN_DISTINCT, load_custom_task
from satclip_cli.probing.tasks.data import MIN_CLASS_SIZE, TASK_TYPES, TaskData, TaskType
from satclip_cli.probing.tasks.elevation import relief_at
from satclip_cli.probing.tasks.registry import TASKS, available_tasks, load_task, task_spec
from satclip_cli.probing.tasks.spec import CLASSIFICATION_METRICS, REGRESSION_METRICS, Loader, TaskSpec
from satclip_cli.probing.tasks.synthetic import (
    CHECKERBOARD_CELL_DEG,
    LAND_OCEAN_GRID_DEG,
    checkerboard_classes,
    regular_grid,
)

__all__ = [
    "AUTO_REGRESSION_MIN_DISTINCT",
    "CHECKERBOARD_CELL_DEG",
    "CLASSIFICATION_METRICS",
    "LAND_OCEAN_GRID_DEG",
    "MIN_CLASS_SIZE",
    "REGRESSION_METRICS",
    "TASKS",
    "TASK_TYPES",
    "Loader",
    "TaskData",
    "TaskSpec",
    "TaskType",
    "available_tasks",
    "checkerboard_classes",
    "load_custom_task",
    "load_task",
    "regular_grid",
    "relief_at",
    "task_spec",
]
