"""Per-patch records: the JSON-lines files beside a dataset, and a record rebuilt from a patch's own tags.

Every written patch has one record (its index, file name, centre and provenance) appended to
``DIR/sampling/records-<shard>.jsonl`` right after the patch file is renamed into place; the same
fields are the patch's GeoTIFF tags. Patches are the truth: :func:`collect_records` returns one record
per patch present, taken from the records files or, for a patch whose record was lost (a kill between
rename and append), from the patch's tags.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from satclip_cli.dataset.layout import IMAGES_DIR, RECORDS_GLOB, STATE_DIR, existing_patches

NUMERIC_FIELDS = (
    "lon", "lat", "point_lon", "point_lat", "cloud_cover", "mean_solar_zenith", "mean_solar_azimuth",
    "nodata_fraction", "cloud_fraction",
)  # fmt: skip
"""Record fields that are numbers (tags store them as text)."""
INTEGER_FIELDS = ("index", "col_off", "row_off", "size", "relative_orbit")
"""Record fields that are integers (tags store them as text)."""


class JsonLines:
    """A JSON-lines file appended to from many threads; each line is flushed when written."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def append(self, record: dict[str, Any]) -> None:
        """Append ``record`` as one line (values JSON cannot hold are written as text)."""
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
    for record in read_json_lines(sorted((out_dir / STATE_DIR).glob(RECORDS_GLOB))):
        index = record.get("index")
        if isinstance(index, int) and index in patches:
            by_index[index] = record
    for index, path in patches.items():
        if index not in by_index:
            by_index[index] = record_from_tags(path)
            by_index[index]["index"] = index
    return [by_index[index] for index in sorted(by_index)]


def remove_unreadable_patches(out_dir: Path) -> list[tuple[int, Path, str]]:
    """Delete the patches of ``out_dir/images`` that cannot be read, so the next run makes them again;
    return ``(index, path, reason)`` of each.

    A patch is unreadable when it has 0 bytes or, for a patch without a record (the record is appended
    only after the patch was read back and renamed), when GDAL cannot open and read it. Such patches were
    left by versions that renamed GDAL's output unread (a 0-byte file after a full disk) or were damaged
    since. Patches with a record are not opened (a resume over 100,000 patches would take minutes).
    """
    import rasterio
    from rasterio.errors import RasterioError

    from satclip_cli.dataset.patch_files import GDAL_READ_OPTIONS, read_error_reason

    recorded = {record.get("index") for record in read_json_lines(sorted((out_dir / STATE_DIR).glob(RECORDS_GLOB)))}
    removed = []
    for index, path in sorted(existing_patches(out_dir / IMAGES_DIR).items()):
        try:
            if path.stat().st_size == 0:
                reason = "the file is empty (0 bytes)"
            elif index in recorded:
                continue
            else:
                try:
                    with rasterio.Env(**GDAL_READ_OPTIONS), rasterio.open(path) as src:
                        src.read()
                    continue
                except RasterioError as error:
                    reason = read_error_reason(error, path)
            path.unlink()
        except FileNotFoundError:  # removed meanwhile by another run
            continue
        removed.append((index, path, reason))
    return removed


def _float_or_none(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
