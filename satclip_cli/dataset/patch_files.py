"""Patch files: one GeoTIFF per patch, in one encoding, written atomically, checked, and inspected.

Every patch we write (``satclip sample``, ``satclip repack``) has one encoding, :data:`PATCH_ENCODING`,
chosen for the training loader, which decodes every patch once per epoch. Measured on the 23 real
S2-100K patches (12 x 256 x 256 uint16, one core): S2-100K's own files (LZW + horizontal predictor,
pixel-interleaved, one 512 px tile padding each 256 px patch) take ~8 ms to open and decode and 0.93 MB
on disk; :data:`PATCH_ENCODING` ~2.2 ms and 0.58 MB. The horizontal predictor would save another 15 %
of disk but costs ~1.4 ms per read (GDAL undoes it in a scalar loop); DEFLATE decodes slower than ZSTD.

:class:`PatchEncodingInfo` tells how any patch file is stored, and whether that is slow to decode.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from satclip_cli.dataset.sentinel2 import S2_BANDS
from satclip_cli.errors import one_line
from satclip_cli.utils.atomic_output import move_no_replace
from satclip_cli.utils.disk_space import reporting_full_disk
from satclip_cli.utils.temporary_files import writer_is_live, writer_tag

PARTIAL_SUFFIX = ".partial"
"""A patch is written to ``.<name>.<pid>@<host>.<random>.partial`` and renamed to ``<name>`` when complete."""

_PARTIAL_OWNER = re.compile(r"\.(?P<pid>\d+)@(?P<host>[^/]+)\.[0-9a-f]{8}" + re.escape(PARTIAL_SUFFIX) + "$")
"""The writer (pid, host) in a temporary patch's name."""

PATCHES_KEPT = "finished patches are kept; free some space and run the same command again to go on"
"""What stays valid when the disk fills while patches are written (the end of the message)."""

PATCH_ENCODING: dict[str, Any] = {"compress": "zstd", "zstd_level": 9, "interleave": "band"}
"""GDAL creation options of our patches: ZSTD (level 9), no predictor, band-interleaved, tiled (:func:`block_size`)."""

GDAL_READ_OPTIONS = {"GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR"}
"""Open a patch without listing its folder for side-car files (S2-100K's images/ holds 100,000 files)."""

FAST_COMPRESSIONS = ("ZSTD", "DEFLATE", "NONE")
"""Compressions that decode quickly enough that a repack would gain little (given tiles fitting the patch)."""


def block_size(rows: int, cols: int) -> int:
    """Tile edge in pixels for a ``rows`` x ``cols`` patch: 256, or the patch's smaller side when below
    (in multiples of 16, at least 16), so a patch of up to 256 px is one tile per band."""
    return max(16, min(256, (min(rows, cols) // 16) * 16))


def write_patch(
    path: Path,
    bands: np.ndarray,
    crs: str | None,
    transform: tuple[float, float, float, float, float, float],
    tags: dict[str, Any],
    band_names: tuple[str | None, ...] = S2_BANDS,
    dtype: str = "uint16",
    nodata: float | None = None,
    verify: bool = True,
    keep_existing: bool = False,
) -> None:
    """Write ``bands`` (count, rows, cols) as ``dtype`` to ``path`` through a temporary file renamed when complete.

    Encoding :data:`PATCH_ENCODING`; band descriptions ``band_names`` (None entries left unset);
    ``tags`` (None values skipped) become dataset tags; ``nodata`` is set when given. With ``verify``
    (the default) the temporary file is read back and must hold exactly ``bands``, CRS and transform before
    it is renamed over ``path``: a 0-byte or damaged patch never takes a finished patch's name, and an
    existing ``path`` is only ever replaced by a checked copy. A full disk raises
    :class:`~satclip_cli.errors.DiskFullError` naming ``path`` and the space left and needed. With
    ``keep_existing`` a ``path`` that exists when the write is complete (another run wrote the same patch
    meanwhile) is kept and this copy dropped. The temporary name is unique to this process and call, so
    any number of runs can write into one folder.
    """
    import rasterio
    from affine import Affine

    count, rows, cols = bands.shape
    block = block_size(rows, cols)
    profile = {
        "driver": "GTiff",
        "width": cols,
        "height": rows,
        "count": count,
        "dtype": dtype,
        "crs": crs,
        "transform": Affine(*transform),
        "nodata": nodata,
        "tiled": True,
        "blockxsize": block,
        "blockysize": block,
        **PATCH_ENCODING,
    }
    pixels = bands.astype(dtype, copy=False)
    # Encoded in memory, then written with Python's file I/O: GDAL writing to a full disk only prints
    # libtiff's complaints and leaves a 0-byte file, where Python raises ENOSPC.
    with rasterio.MemoryFile() as memory:
        with memory.open(**profile) as dst:
            dst.write(pixels)
            for band_index, name in enumerate(band_names, start=1):
                if name is not None:
                    dst.set_band_description(band_index, name)
            dst.update_tags(**{key: str(value) for key, value in tags.items() if value is not None})
        encoded = memory.read()
    tmp = path.with_name(f".{path.name}.{writer_tag()}.{secrets.token_hex(4)}{PARTIAL_SUFFIX}")
    try:
        remove_temporary = functools.partial(tmp.unlink, missing_ok=True)
        with reporting_full_disk(path, len(encoded), PATCHES_KEPT, remove_temporary), open(tmp, "wb") as file:
            file.write(encoded)
        if verify:
            check_written(tmp, pixels, profile)
        if not keep_existing:
            os.replace(tmp, path)
        elif not move_no_replace(tmp, path):
            tmp.unlink()
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


class PatchVerificationError(RuntimeError):
    """A written patch did not read back as what was written (disk or driver fault)."""


def check_written(path: Path, pixels: np.ndarray, profile: dict[str, Any]) -> None:
    """Raise :class:`PatchVerificationError` unless ``path`` holds ``pixels`` (same dtype and values) with the
    ``profile``'s ``crs`` (None: no CRS) and ``transform``."""
    import rasterio

    expected_crs = rasterio.crs.CRS.from_user_input(profile["crs"]) if profile["crs"] else None
    with rasterio.open(path) as src:
        same = (
            src.crs == expected_crs
            and src.transform.almost_equals(profile["transform"], precision=1e-9)
            and src.dtypes[0] == str(pixels.dtype)
            and np.array_equal(src.read(), pixels)
        )
    if not same:
        raise PatchVerificationError(f"{path} did not read back as written")


def remove_partial_patches(images_dir: Path) -> int:
    """Delete temporary patch files (``.<name>...partial``) left by interrupted runs; returns how many were removed.

    Files of a live writer are kept (:func:`~satclip_cli.utils.temporary_files.writer_is_live`: of this host,
    those whose pid is running; of another host, those modified within the last hour). Names without a writer
    (older versions) are leftovers.
    """
    removed = 0
    for tmp in images_dir.glob(f".*{PARTIAL_SUFFIX}"):
        with contextlib.suppress(FileNotFoundError):
            owner = _PARTIAL_OWNER.search(tmp.name)
            if owner and writer_is_live(int(owner["pid"]), owner["host"], tmp.stat().st_mtime):
                continue
            tmp.unlink()
            removed += 1
    return removed


@dataclass(frozen=True)
class PatchEncodingInfo:
    """How a GeoTIFF patch is stored, as GDAL reports it: what decides its decoding speed."""

    compression: str
    """Upper case, e.g. "LZW", "ZSTD", "NONE"."""
    predictor: int
    """1 none, 2 horizontal, 3 floating point."""
    interleave: str
    """"BAND" or "PIXEL"."""
    block: tuple[int, int]
    """Tile (or strip) shape (rows, cols), px."""
    shape: tuple[int, int]
    """Patch shape (rows, cols), px."""

    @classmethod
    def read(cls, path: str | os.PathLike) -> PatchEncodingInfo:
        import rasterio

        with rasterio.Env(**GDAL_READ_OPTIONS), rasterio.open(path) as src:
            structure = src.tags(ns="IMAGE_STRUCTURE")
            return cls(
                compression=(structure.get("COMPRESSION") or "NONE").upper(),
                predictor=int(structure.get("PREDICTOR", 1)),
                interleave=(structure.get("INTERLEAVE") or "PIXEL").upper(),
                block=tuple(src.block_shapes[0]),  # type: ignore[arg-type]
                shape=(src.height, src.width),
            )

    def slow_reason(self) -> str | None:
        """Why decoding is slower than it needs to be, or None: a compression other than ZSTD/DEFLATE/none
        (e.g. LZW), or tiles (strips) holding more than twice the patch's pixels (padding decoded on every read)."""
        reasons = []
        if self.compression not in FAST_COMPRESSIONS:
            reasons.append(f"{self.compression} compression")
        (block_rows, block_cols), (rows, cols) = self.block, self.shape
        if block_rows * block_cols > 2 * rows * cols:
            reasons.append(f"{block_cols} x {block_rows} px tiles on a {cols} x {rows} px patch")
        return ", ".join(reasons) or None

    def is_ours(self) -> bool:
        """Whether this is :data:`PATCH_ENCODING` with our tile size (what a repack writes)."""
        block = block_size(*self.shape)
        return (
            self.compression == PATCH_ENCODING["compress"].upper()
            and self.interleave == PATCH_ENCODING["interleave"].upper()
            and self.predictor == 1
            and self.block == (block, block)
        )


def slow_encoding_reason(path: str | os.PathLike) -> str | None:
    """Why decoding the patch at ``path`` is slower than it needs to be (see
    :meth:`PatchEncodingInfo.slow_reason`), or None; None also for a file that cannot be read."""
    from rasterio.errors import RasterioError

    try:
        return PatchEncodingInfo.read(path).slow_reason()
    except RasterioError:
        return None


def read_error_reason(error: BaseException, path: str | os.PathLike[str] | None = None) -> str:
    """Why GDAL could not read a patch, as one line: the innermost GDAL message behind a rasterio error.

    rasterio's ``RasterioIOError("Read failed. See previous exception for details.")`` chains GDAL's own
    errors (``TIFFFillTile: Read error ... got 2848 bytes, expected 68257``); the innermost says why.
    A leading ``path:`` (GDAL's habit) is dropped when ``path`` is given.
    """
    reasons = [str(error)]
    cause = error.__cause__ or error.__context__
    while cause is not None and len(reasons) < 16:
        reasons.append(str(cause.args[-1]) if getattr(cause, "args", None) else str(cause))
        cause = cause.__cause__ or cause.__context__
    reason = one_line(reasons[-1] or type(error).__name__)
    if path is not None:  # GDAL starts many messages with the file's path or name; the caller names it already
        for prefix in (str(path), Path(path).name, f"'{path}'"):
            if reason.startswith(prefix) and len(reason) > len(prefix) + 1:
                reason = reason[len(prefix) :].lstrip(": ")
                break
    return one_line(reason, 200)
