"""The dataset's bookkeeping: per-patch records, failures, and the index files built from them.

Layout of a dataset folder ``DIR``::

    DIR/images/patch_<i>.tif           the patches (complete files only: written, then renamed)
    DIR/index.csv                      fn,lon,lat — the original S2-100K index
    DIR/index.parquet                  GeoParquet: one point per patch with all provenance
    DIR/sampling/settings.json         the settings that define the dataset (checked on resume)
    DIR/sampling/records-<shard>.jsonl one JSON line per written patch
    DIR/sampling/failures-<shard>.jsonl one JSON line per skipped item or point, with the error

Patches are the truth: the index lists exactly the patches present, taking their metadata
from the records or, for a patch whose record was lost (a kill between rename and append),
from the patch's own GeoTIFF tags.
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any

from satclip_cli.utils.atomic_output import atomic_output

IMAGES_DIR = "images"
STATE_DIR = "sampling"
INDEX_CSV = "index.csv"
INDEX_PARQUET = "index.parquet"

_PATCH_NAME = re.compile(r"^patch_(\d+)\.tif$")

NUMERIC_FIELDS = (
    "lon", "lat", "point_lon", "point_lat", "cloud_cover", "mean_solar_zenith", "mean_solar_azimuth",
    "nodata_fraction", "cloud_fraction",
)  # fmt: skip
INTEGER_FIELDS = ("index", "col_off", "row_off", "size", "relative_orbit")


def existing_patches(images_dir: Path) -> dict[int, Path]:
    """Complete patches in ``images_dir`` by dataset index."""
    patches = {}
    if images_dir.is_dir():
        for path in images_dir.iterdir():
            match = _PATCH_NAME.match(path.name)
            if match:
                patches[int(match.group(1))] = path
    return patches


class JsonLines:
    """A JSON-lines file appended to from many threads; each line is flushed when written."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def append(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, default=str, allow_nan=True) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as file:
                file.write(line)
                file.flush()


def read_json_lines(paths: list[Path]) -> list[dict[str, Any]]:
    """All records of ``paths`` in order; a truncated last line (killed writer) is skipped."""
    records = []
    for path in paths:
        with path.open(encoding="utf-8") as file:
            for line in file:
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
    return records


def record_from_tags(path: Path) -> dict[str, Any]:
    """Rebuild a patch record from the GeoTIFF tags written with it."""
    import rasterio

    with rasterio.open(path) as src:
        record: dict[str, Any] = dict(src.tags())
    for name in NUMERIC_FIELDS:
        if name in record:
            record[name] = _float_or_none(record[name])
    for name in INTEGER_FIELDS:
        if name in record:
            record[name] = int(float(record[name]))
    record["fn"] = path.name
    return record


def collect_records(out_dir: Path) -> list[dict[str, Any]]:
    """One record per patch present in ``out_dir/images``, sorted by dataset index."""
    patches = existing_patches(out_dir / IMAGES_DIR)
    by_index: dict[int, dict[str, Any]] = {}
    for record in read_json_lines(sorted((out_dir / STATE_DIR).glob("records-*.jsonl"))):
        index = record.get("index")
        if isinstance(index, int) and index in patches:
            by_index[index] = record
    for index, path in patches.items():
        if index not in by_index:
            by_index[index] = record_from_tags(path)
            by_index[index]["index"] = index
    return [by_index[index] for index in sorted(by_index)]


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


def _float_or_none(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
