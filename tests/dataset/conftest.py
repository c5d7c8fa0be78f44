"""A small dataset as ``satclip sample`` writes it: patches, and records for some of them."""

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from satclip_cli.dataset.patch_files import write_patch
from satclip_cli.dataset.records import JsonLines

TRANSFORM = (10.0, 0.0, 500_000.0, 0.0, -10.0, 4_000_000.0)


def _make_dataset(root: Path, indices: list[int], record_indices: set[int]) -> JsonLines:
    """Patches ``indices`` (12 x 16 x 16 uint16 of ones) with tags; records written for ``record_indices``."""
    images = root / "images"
    images.mkdir(parents=True)
    records = JsonLines(root / "sampling" / "records-1-of-1.jsonl")
    for index in indices:
        record = {
            "index": index, "fn": f"patch_{index}.tif", "lon": 10.0 + index, "lat": -5.0 - index,
            "item_id": f"S2B_{index}", "cloud_cover": 2.5, "col_off": 7, "row_off": 9,
        }  # fmt: skip
        write_patch(images / record["fn"], np.ones((12, 16, 16), np.uint16), "EPSG:32633", TRANSFORM, record)
        if index in record_indices:
            records.append(record)
    return records


@pytest.fixture
def make_dataset() -> Callable[..., JsonLines]:
    """``make_dataset(root, indices, record_indices) -> records file`` (see :func:`_make_dataset`)."""
    return _make_dataset
