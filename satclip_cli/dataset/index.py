"""The dataset's index files: written from the patches present, and read back with every row checked.

``index.csv`` (fn,lon,lat) is what S2-100K's loader reads; ``index.parquet`` is a GeoParquet file with
one point per patch and every provenance column. Both list exactly the patches present
(:func:`~satclip_cli.dataset.records.collect_records`) and are replaced atomically.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from satclip_cli.dataset.layout import INDEX_CSV, INDEX_PARQUET
from satclip_cli.dataset.records import collect_records
from satclip_cli.errors import InputError, one_line, shown
from satclip_cli.utils.atomic_output import atomic_output


def write_index(out_dir: Path) -> int:
    """Write ``index.csv`` and ``index.parquet`` for the patches in ``out_dir``; returns the row count.

    Both files are replaced atomically, so a reader never sees a partial index.
    """
    import geopandas as gpd
    import pandas as pd

    records = collect_records(out_dir)
    frame = pd.DataFrame.from_records(records)
    if frame.empty:
        frame = pd.DataFrame({"index": pd.Series(dtype="int64"), "fn": [], "lon": [], "lat": []})
    with atomic_output(out_dir / INDEX_CSV, overwrite=True) as tmp:
        frame[["fn", "lon", "lat"]].to_csv(tmp, index=False, float_format="%.8f")
    geo = gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs="EPSG:4326")
    with atomic_output(out_dir / INDEX_PARQUET, overwrite=True) as tmp:
        geo.to_parquet(tmp, index=False)
    return len(frame)


def read_index(root: Path) -> tuple[list[str], np.ndarray]:
    """File names and (lon, lat) degrees [N, 2] float64 from ``root/index.csv``, checked; raises InputError.

    Rows need a file name and finite coordinates within lon [-180, 180], lat [-90, 90]; the error names
    how many rows fail and the first (with its CSV line number, header = line 1).
    """
    import pandas as pd

    if not root.exists():
        raise InputError(f"dataset folder {root} does not exist")
    if not root.is_dir():
        raise InputError(f"{root} is not a folder; give the dataset folder (with index.csv and images/)")
    index = root / INDEX_CSV
    if not index.is_file():
        raise InputError(f"{index} is missing; a dataset folder holds index.csv (fn,lon,lat) and images/")
    try:
        frame = pd.read_csv(index, dtype={"fn": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read {index}: {one_line(error)}") from None
    missing = [name for name in ("fn", "lon", "lat") if name not in frame.columns]
    if missing:
        raise InputError(
            f"{index} lacks column(s) {', '.join(missing)}; it needs fn,lon,lat "
            f"(has: {', '.join(map(str, frame.columns))})"
        )
    if frame.empty:
        raise InputError(f"{index} lists no patches")
    fn = frame["fn"]
    no_name = fn.isna() | (fn.astype(str).str.strip() == "")
    if no_name.any():
        raise InputError(f"{index}: {int(no_name.sum())} rows have no fn (first: line {_line(no_name)})")
    lon = pd.to_numeric(frame["lon"], errors="coerce").to_numpy(np.float64)
    lat = pd.to_numeric(frame["lat"], errors="coerce").to_numpy(np.float64)
    not_finite = ~(np.isfinite(lon) & np.isfinite(lat))
    if not_finite.any():
        first = int(np.argmax(not_finite))
        raise InputError(
            f"{index}: {int(not_finite.sum())} rows have a missing or non-numeric lon/lat "
            f"(first: line {first + 2}, {fn.iloc[first]}: lon={shown(frame['lon'].iloc[first])}, "
            f"lat={shown(frame['lat'].iloc[first])})"
        )
    out_of_range = (np.abs(lon) > 180) | (np.abs(lat) > 90)
    if out_of_range.any():
        first = int(np.argmax(out_of_range))
        swapped = bool(np.all(np.abs(lat[out_of_range]) <= 180) and np.all(np.abs(lon[out_of_range]) <= 90))
        hint = "; are lon and lat swapped?" if swapped else ""
        raise InputError(
            f"{index}: {int(out_of_range.sum())} rows have coordinates outside lon [-180, 180], lat [-90, 90] "
            f"(first: line {first + 2}, {fn.iloc[first]}: lon={lon[first]}, lat={lat[first]}){hint}"
        )
    return fn.astype(str).tolist(), np.stack([lon, lat], axis=1)


def check_images_present(images_dir: Path, filenames: Sequence[str], index: Path) -> None:
    """Raise InputError unless every file listed in the index is in ``images_dir`` (one listing, no stat per file)."""
    if not images_dir.is_dir():
        raise InputError(f"{images_dir} is missing; the patches listed in {index} go there")
    present = {entry.name for entry in _scandir(images_dir)}
    missing = [name for name in filenames if name not in present and not (images_dir / name).is_file()]
    if missing:
        raise InputError(
            f"{len(missing):,} of {len(filenames):,} patches listed in {index} are missing from {images_dir} "
            f"(first: {missing[0]})"
        )


def _line(mask: object) -> int:
    """CSV line number (header = line 1) of the first True in a boolean Series."""
    return int(np.argmax(np.asarray(mask))) + 2


def _scandir(path: Path) -> list[os.DirEntry]:
    with os.scandir(path) as entries:
        return list(entries)
