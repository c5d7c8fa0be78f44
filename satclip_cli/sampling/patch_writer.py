"""Write a patch as a compressed, tiled GeoTIFF (12-band uint16 by default) with band names and provenance tags."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from satclip_cli.sampling.sentinel2 import S2_BANDS

PARTIAL_SUFFIX = ".partial"


def patch_filename(index: int) -> str:
    """``patch_<index>.tif``, S2-100K's file name for dataset index ``index`` (0-based)."""
    return f"patch_{index}.tif"


def write_patch(
    path: Path,
    bands: np.ndarray,
    crs: str,
    transform: tuple[float, float, float, float, float, float],
    tags: dict[str, Any],
    band_names: tuple[str, ...] = S2_BANDS,
    dtype: str = "uint16",
) -> None:
    """Write ``bands`` (count, rows, cols) as ``dtype`` to ``path`` through a temporary file renamed when complete.

    DEFLATE with horizontal predictor, 256-pixel tiles (or the whole patch when smaller, in
    multiples of 16), band descriptions ``band_names``; ``tags`` (None values skipped) become
    dataset tags.
    """
    import rasterio
    from affine import Affine

    count, rows, cols = bands.shape
    block = max(16, min(256, (min(rows, cols) // 16) * 16))
    profile = {
        "driver": "GTiff",
        "width": cols,
        "height": rows,
        "count": count,
        "dtype": dtype,
        "crs": crs,
        "transform": Affine(*transform),
        "tiled": True,
        "blockxsize": block,
        "blockysize": block,
        "compress": "deflate",
        "predictor": 2,
        "interleave": "pixel",
    }
    tmp = path.with_name(f".{path.name}{PARTIAL_SUFFIX}")
    try:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(bands.astype(dtype, copy=False))
            for band_index, name in enumerate(band_names, start=1):
                dst.set_band_description(band_index, name)
            dst.update_tags(**{key: str(value) for key, value in tags.items() if value is not None})
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def remove_partial_patches(images_dir: Path) -> int:
    """Delete temporary files left by an interrupted run; returns how many were removed."""
    removed = 0
    for tmp in images_dir.glob(f".patch_*.tif{PARTIAL_SUFFIX}"):
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
            removed += 1
    return removed
