"""Raster-file helpers of the loopback STAC fixture (:mod:`tests.support.s2_stac_fixture`).

Writing single-band COGs, block means for the coarser Sentinel-2 bands, footprints as densified lon/lat rings, and
corrupting a written COG in a controlled way (``broken_band`` of an ``ItemSpec``). Coordinates: UTM metres in the
tile's EPSG code, rings in (lon, lat) degrees (EPSG:4326).
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
import rasterio
from affine import Affine
from pyproj import Transformer
from rasterio.errors import RasterioIOError

BrokenMode = Literal["garbage", "truncated", "missing"]


@lru_cache(maxsize=64)
def to_wgs84(epsg: int) -> Transformer:
    """The (cached) transformer from ``epsg`` to EPSG:4326, (x, y) -> (lon, lat) degrees."""
    return Transformer.from_crs(epsg, 4326, always_xy=True)


def block_mean(a: np.ndarray, factor: int) -> np.ndarray:
    """Mean of ``factor x factor`` blocks of a 2-D uint16 array -> uint16 (rounded; non-empty blocks stay >= 1)."""
    h, w = a.shape
    blocks = a.reshape(h // factor, factor, w // factor, factor)
    out = np.rint(blocks.mean(axis=(1, 3))).astype(np.uint16)
    out[(out == 0) & (blocks.max(axis=(1, 3)) > 0)] = 1
    return out


def densified_ring(epsg: int, bounds: tuple[float, float, float, float], per_side: int = 8) -> list[list[float]]:
    """The UTM box ``bounds`` (left, bottom, right, top; metres of ``epsg``) as a closed lon/lat ring, densified."""
    left, bottom, right, top = bounds
    t = np.linspace(0.0, 1.0, per_side, endpoint=False)
    xs = np.concatenate(
        [left + (right - left) * t, np.full_like(t, right), right - (right - left) * t, np.full_like(t, left)]
    )
    ys = np.concatenate(
        [np.full_like(t, bottom), bottom + (top - bottom) * t, np.full_like(t, top), top - (top - bottom) * t]
    )
    lon, lat = to_wgs84(epsg).transform(xs, ys)
    ring = [[round(float(x), 8), round(float(y), 8)] for x, y in zip(lon, lat, strict=True)]
    ring.append(ring[0])
    return ring


def cog_data_start(path: Path) -> int:
    """Smallest tile-data offset over all levels = end of the TIFF header + IFDs (COG layout puts IFDs first)."""
    offsets: list[int] = []
    level: int | None = None
    while True:
        kwargs = {} if level is None else {"overview_level": level}
        try:
            src = rasterio.open(path, **kwargs)
        except RasterioIOError:
            break
        with src:
            bh, bw = src.block_shapes[0]
            for by in range(math.ceil(src.height / bh)):
                for bx in range(math.ceil(src.width / bw)):
                    value = src.get_tag_item(f"BLOCK_OFFSET_{bx}_{by}", "TIFF", bidx=1)
                    if value:
                        offsets.append(int(value))
        level = 0 if level is None else level + 1
    if not offsets:
        raise RuntimeError(f"no tile offsets found in {path}")
    return min(offsets)


def break_file(path: Path, mode: BrokenMode, seed: int) -> None:
    """Corrupt a COG: ``"missing"`` deletes it, ``"truncated"`` cuts it after the IFDs, ``"garbage"`` keeps the
    header and IFDs and overwrites the tile data with random bytes (reproducible from ``seed``)."""
    if mode == "missing":
        path.unlink()
        return
    start = cog_data_start(path)
    raw = path.read_bytes()
    if mode == "truncated":
        path.write_bytes(raw[:start])
        return
    garbage = np.random.default_rng(seed).integers(0, 256, len(raw) - start, dtype=np.uint8).tobytes()
    path.write_bytes(raw[:start] + garbage)


def write_cog(path: Path, array: np.ndarray, epsg: int, transform: Affine, blocksize: int, categorical: bool) -> None:
    """One single-band DEFLATE COG with nodata 0 and overviews (nearest for ``categorical`` data)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = {
        "driver": "COG",
        "width": array.shape[1],
        "height": array.shape[0],
        "count": 1,
        "dtype": array.dtype.name,
        "crs": f"EPSG:{epsg}",
        "transform": transform,
        "nodata": 0,
        "compress": "DEFLATE",
        "predictor": 2,
        "blocksize": blocksize,
        "overview_resampling": "nearest" if categorical else "average",
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(array, 1)
