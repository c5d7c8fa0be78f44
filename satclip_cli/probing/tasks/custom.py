"""Custom tasks: any vector file or table, one point per row, the target from a chosen column."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from satclip_cli.errors import InputError, setting
from satclip_cli.probing.tasks.data import TASK_TYPES, TaskData, TaskType, classification_data, regression_data

if TYPE_CHECKING:
    import pandas as pd

AUTO_REGRESSION_MIN_DISTINCT = 20
"""A numeric column with more distinct values than this (or any non-integer value) is a regression target."""


def load_custom_task(
    path: str | os.PathLike[str],
    target_column: str,
    type: TaskType | None = None,
    lon_col: str | None = None,
    lat_col: str | None = None,
) -> TaskData:
    """A task from any vector file or table: one point per row, the target from ``target_column``.

    The file is read with :func:`satclip_cli.geo.vector.open_point_source`: any OGR vector format,
    GeoParquet, or CSV/TSV with lon/lat columns (detected by name, or ``lon_col``/``lat_col``) or WKT.
    Points are used as they are; polygons and lines give one representative point inside/on them.

    Args:
        path: the file.
        target_column: the column to predict (case-insensitive if unambiguous).
        type: ``"regression"`` or ``"classification"``; None detects it: a numeric column with more than
            :data:`AUTO_REGRESSION_MIN_DISTINCT` distinct values, or with a non-integer value, is a
            regression target, anything else (text, booleans, few integer codes) a classification one.
        lon_col, lat_col: longitude/latitude columns (degrees) of a table.

    Returns:
        :class:`TaskData` named ``"<file stem>:<column>"``. Rows with a missing target (and, for
        regression, a non-finite one) are dropped and counted in ``dropped_nan``; classes with fewer
        than :data:`~satclip_cli.probing.tasks.data.MIN_CLASS_SIZE` rows are dropped and listed in
        ``dropped_classes``.

    Raises:
        InputError: unreadable file, no such column (the message lists the columns), a non-numeric
            value in a regression target (naming the row), an unknown ``type``, or nothing left.
    """
    import pandas as pd

    from satclip_cli.geo.vector import open_point_source

    path = Path(path)
    if type is not None and type not in TASK_TYPES:
        raise InputError(f"unknown task type {type!r}; use regression or classification")
    source = open_point_source(path, lon_col=lon_col, lat_col=lat_col, polygon_mode="representative")
    column = _find_column(source.columns, target_column, path, exclude=source.geometry_column)
    values, points = [], []
    for chunk in source.iter_chunks():
        values.append(chunk.attributes[column].reset_index(drop=True))
        points.append(chunk.lonlat)
    series = pd.concat(values, ignore_index=True)
    lonlat = np.concatenate(points).astype(np.float64)
    kind = type or _infer_type(series)
    name = f"{path.stem}:{column}"
    if kind == "regression":
        numbers = _numeric_target(series, column, path)
        usable = np.isfinite(numbers)
        description = f"{int(usable.sum()):,} rows of {path.name}, column {column}"
        return regression_data(name, "", lonlat[usable], numbers[usable], int((~usable).sum()), description)
    labels = _label_strings(series)
    present = labels != ""
    description = f"{int(present.sum()):,} rows of {path.name}, classes from column {column}"
    return classification_data(name, lonlat[present], labels[present], int((~present).sum()), 0, description)


def _find_column(columns: list[str], wanted: str, path: Path, exclude: str | None) -> str:
    candidates = [name for name in columns if name != exclude]
    if wanted in candidates:
        return wanted
    folded = [name for name in candidates if name.lower() == wanted.lower()]
    if len(folded) == 1:
        return folded[0]
    listing = ", ".join(candidates[:30]) + (", ..." if len(candidates) > 30 else "")
    raise InputError(f"{path}: no column {wanted!r} to use as {setting('target')} (columns: {listing or 'none'})")


def _infer_type(series: pd.Series) -> TaskType:
    """Regression for numeric columns with many distinct or non-integer values, else classification."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(series.dtype):
        return "classification"
    present = series.dropna()
    if present.dtype.kind in "iuf":
        numbers = present.to_numpy(dtype=np.float64)
    else:
        text = present.astype(str).str.strip()
        parsed = pd.to_numeric(text[text != ""], errors="coerce")
        if parsed.isna().any():
            return "classification"
        numbers = parsed.to_numpy(dtype=np.float64)
    numbers = numbers[np.isfinite(numbers)]
    if numbers.size == 0:
        return "classification"
    non_integer = bool((numbers != np.round(numbers)).any())
    return "regression" if non_integer or len(np.unique(numbers)) > AUTO_REGRESSION_MIN_DISTINCT else "classification"


def _numeric_target(series: pd.Series, column: str, path: Path) -> np.ndarray:
    """A regression target as float64 (missing -> NaN), naming the first non-numeric row."""
    import pandas as pd

    if series.dtype.kind in "iuf":
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    text = series.astype("string").str.strip()
    missing = text.isna() | (text == "")
    numbers = pd.to_numeric(text.mask(missing), errors="coerce")
    bad = numbers.isna() & ~missing
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"{path}: row {row} has a non-numeric value {series.iloc[row]!r} in the regression target {column!r}; "
            f"pass {setting('type')} classification to treat it as classes"
        )
    return numbers.to_numpy(dtype=np.float64, na_value=np.nan)


def _label_strings(series: pd.Series) -> np.ndarray:
    """Class labels as a str array (``""`` = missing); integral floats lose their ``.0`` (``3.0`` -> ``"3"``)."""

    def text(value: object) -> str:
        if isinstance(value, float | np.floating):
            if not math.isfinite(value):
                return ""
            return str(int(value)) if float(value).is_integer() else str(value)
        return str(value).strip()

    present = series.notna().to_numpy()
    return np.array([text(v) if ok else "" for v, ok in zip(series.tolist(), present, strict=True)], dtype=str)
