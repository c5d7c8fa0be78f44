"""Where things are in a dataset folder: one definition of each file and folder name.

Layout of a dataset folder ``DIR`` (S2-100K's, extended by what ``satclip sample`` adds)::

    DIR/images/patch_<i>.tif            the patches (complete files only: written, then renamed)
    DIR/index.csv                       fn,lon,lat — the original S2-100K index
    DIR/index.parquet                   GeoParquet: one point per patch with all provenance
    DIR/sampling/settings.json          the settings that define the dataset (checked on resume)
    DIR/sampling/records-<shard>.jsonl  one JSON line per written patch
    DIR/sampling/failures-<shard>.jsonl one JSON line per skipped item or point, with the error

``<i>`` is the 0-based dataset index; ``<shard>`` is e.g. ``1-of-1`` or ``3-of-8``.
"""

from __future__ import annotations

import re
from pathlib import Path

IMAGES_DIR = "images"
"""Folder of the patch files."""
INDEX_CSV = "index.csv"
"""S2-100K's index: columns fn,lon,lat (lon/lat in degrees, EPSG:4326)."""
INDEX_PARQUET = "index.parquet"
"""GeoParquet index: one point per patch (EPSG:4326) with every provenance column."""
STATE_DIR = "sampling"
"""Folder of the sampler's state: settings, records and failure logs."""
SETTINGS_FILE = "settings.json"
"""The settings that define a sampled dataset, in :data:`STATE_DIR`."""
RECORDS_GLOB = "records-*.jsonl"
"""All shards' records files (:func:`records_path`) in :data:`STATE_DIR`."""
FAILURES_GLOB = "failures-*.jsonl"
"""All shards' failure logs (:func:`failures_path`) in :data:`STATE_DIR`."""

_PATCH_NAME = re.compile(r"^patch_(\d+)\.tif$")


def patch_filename(index: int) -> str:
    """``patch_<index>.tif``, S2-100K's file name for dataset index ``index`` (0-based)."""
    return f"patch_{index}.tif"


def existing_patches(images_dir: Path) -> dict[int, Path]:
    """Complete patches (``patch_<i>.tif``) in ``images_dir`` by dataset index; empty when there is no folder."""
    patches = {}
    if images_dir.is_dir():
        for path in images_dir.iterdir():
            match = _PATCH_NAME.match(path.name)
            if match:
                patches[int(match.group(1))] = path
    return patches


def records_path(state_dir: Path, shard_tag: str) -> Path:
    """The records file of one shard (``records-<shard_tag>.jsonl``): one JSON line per written patch."""
    return state_dir / f"records-{shard_tag}.jsonl"


def failures_path(state_dir: Path, shard_tag: str) -> Path:
    """The failure log of one shard (``failures-<shard_tag>.jsonl``): one JSON line per skipped item or point."""
    return state_dir / f"failures-{shard_tag}.jsonl"
