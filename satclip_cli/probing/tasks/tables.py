"""Reading the tabular sources of fixed-table tasks: CSV files, their columns, (lon, lat) and a numeric target."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from satclip_cli.errors import InputError, one_line
from satclip_cli.geo.coordinates import validate_lonlat

if TYPE_CHECKING:
    import pandas as pd


def read_csv(path: Path, **options: Any) -> pd.DataFrame:
    """``pandas.read_csv(path, **options)``, a read error becoming a one-line :class:`InputError`."""
    import pandas as pd

    try:
        return pd.read_csv(path, **options)
    except (OSError, ValueError, pd.errors.ParserError) as error:
        raise InputError(f"cannot read {path}: {one_line(error)}") from None


def require_columns(frame: pd.DataFrame, columns: tuple[str, ...], path: Path) -> None:
    """Raise :class:`InputError` naming the ``columns`` missing from ``frame`` (read from ``path``)."""
    missing = [name for name in columns if name not in frame.columns]
    if missing:
        listing = ", ".join(map(str, frame.columns))
        raise InputError(f"{path} has no column {', '.join(map(repr, missing))} (columns: {listing})")


def regression_rows(
    frame: pd.DataFrame, lon_column: str, lat_column: str, column: str, path: Path
) -> tuple[np.ndarray, np.ndarray, int]:
    """(lonlat float64 ``[N, 2]`` degrees, finite target ``[N]``, count of rows dropped for a missing target)."""
    import pandas as pd

    require_columns(frame, (lon_column, lat_column, column), path)
    lonlat = validate_lonlat(frame[[lon_column, lat_column]].to_numpy(dtype=np.float64), what=str(path))
    target = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    usable = np.isfinite(target)
    return lonlat[usable], target[usable], int((~usable).sum())
