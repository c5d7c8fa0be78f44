"""The packaged global land mask: is a (lon, lat) point on land, at 5 arc-minute resolution?

The mask is a boolean grid of ``rows x cols`` cells (``4320 x 2160`` for the packaged 5' mask,
built by ``scripts/build_land_mask.py`` from the GLOBE 30" land mask). Row 0 is the northernmost
row and column 0 starts at 180 deg W: cell ``(r, c)`` covers longitudes
``[-180 + c * res, -180 + (c + 1) * res)`` and latitudes ``(90 - (r + 1) * res, 90 - r * res]``
degrees, with ``res = 360 / cols = 180 / rows``. Lakes count as land, as in GLOBE.

File format (version 1, ``land_mask_5arcmin.bin.gz``): a gzip stream (header modification time 0,
no file name, OS byte 255, compression level 9) whose payload is

* 8 bytes magic ``b"SCLMASK\\x01"`` (the last byte is the format version),
* ``cols`` and ``rows`` as little-endian uint32,
* the grid, row-major, 1 = land, as ``numpy.packbits`` bits (most significant bit first), padded with
  zero bits to a whole byte.

The payload is canonical; the gzip bytes are reproducible for a given zlib (see the build script).
"""

from __future__ import annotations

import functools
import gzip
import importlib.resources
import io
import struct
import zlib
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path

import numpy as np

from satclip_cli.errors import InputError, SatclipError
from satclip_cli.geo.coordinates import wrap_longitude

MASK_FILENAME = "land_mask_5arcmin.bin.gz"
"""File name of the packaged mask in ``satclip_cli/data``."""

MAGIC = b"SCLMASK\x01"
_HEADER = struct.Struct("<8sII")  # magic, cols, rows
_GZIP_LEVEL = 9


class LandMaskError(SatclipError):
    """The packaged land mask is missing or unreadable (a broken installation)."""


@dataclass(frozen=True, eq=False)
class LandMask:
    """A global land/ocean grid in EPSG:4326 (lon, lat) degrees.

    Attributes:
        grid: bool ``[rows, cols]`` with ``cols == 2 * rows``, True = land; row 0 is the northernmost
            row, column 0 starts at 180 deg W (see the module docstring for cell bounds).
    """

    grid: np.ndarray

    def __post_init__(self) -> None:
        grid = self.grid
        if grid.dtype != np.bool_ or grid.ndim != 2 or grid.shape[1] != 2 * grid.shape[0] or grid.size == 0:
            raise ValueError(f"a land mask is a non-empty bool [rows, 2 * rows] grid, got {grid.dtype} {grid.shape}")

    @property
    def resolution_deg(self) -> float:
        """Cell side in degrees (of longitude and of latitude)."""
        return 360.0 / self.grid.shape[1]

    def is_land(self, lon: np.ndarray | float, lat: np.ndarray | float) -> np.ndarray:
        """Whether each point lies in a land cell.

        Args:
            lon: longitudes in degrees, any shape broadcastable with ``lat``; values outside [-180, 180]
                are wrapped.
            lat: latitudes in degrees, in [-90, 90].

        Returns:
            bool array of the broadcast shape of ``lon`` and ``lat``.

        Raises:
            InputError: on a non-finite coordinate or a latitude outside [-90, 90].
        """
        lon, lat = np.broadcast_arrays(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))
        if not (np.isfinite(lon).all() and np.isfinite(lat).all()):
            raise InputError("land mask lookup: a longitude or latitude is missing or non-finite")
        if lat.size and (lat.min() < -90.0 or lat.max() > 90.0):
            raise InputError(f"land mask lookup: latitude {lat.min():g}..{lat.max():g} is outside [-90, 90]")
        rows, cols = self.grid.shape
        col = np.floor((wrap_longitude(lon) + 180.0) * (cols / 360.0)).astype(np.int64) % cols
        row = np.clip(np.floor((90.0 - lat) * (rows / 180.0)).astype(np.int64), 0, rows - 1)
        return self.grid[row, col]

    def land_fraction(self) -> float:
        """Fraction of the sphere's area covered by land cells (cells weighted by their exact area)."""
        rows = self.grid.shape[0]
        edges = np.radians(90.0 - np.arange(rows + 1) * (180.0 / rows))
        row_area = np.sin(edges[:-1]) - np.sin(edges[1:])  # proportional to the area of a cell of each row
        return float((self.grid.mean(axis=1) * row_area).sum() / row_area.sum())

    def to_bytes(self) -> bytes:
        """The mask in the file format of the module docstring; the same grid always gives the same bytes."""
        rows, cols = self.grid.shape
        payload = _HEADER.pack(MAGIC, cols, rows) + np.packbits(self.grid, axis=None).tobytes()
        buffer = io.BytesIO()
        # GzipFile (unlike gzip.compress) writes a fixed OS byte; filename="" and mtime=0 leave no trace of the run
        with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=_GZIP_LEVEL, mtime=0) as stream:
            stream.write(payload)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, what: str = "land mask") -> LandMask:
        """Decode :meth:`to_bytes` output.

        Raises:
            LandMaskError: if ``data`` is not a mask in this format; ``what`` names it in the message.
        """
        try:
            payload = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as error:
            raise LandMaskError(f"{what} is corrupt (not a gzip stream: {error})") from None
        if len(payload) < _HEADER.size:
            raise LandMaskError(f"{what} is corrupt (truncated header)")
        magic, cols, rows = _HEADER.unpack_from(payload)
        if magic != MAGIC:
            raise LandMaskError(f"{what} is not a version-1 satclip land mask (magic {magic!r})")
        bits = np.frombuffer(payload, dtype=np.uint8, offset=_HEADER.size)
        if rows == 0 or cols != 2 * rows or bits.size != -(-rows * cols // 8):
            raise LandMaskError(f"{what} is corrupt ({cols} x {rows} cells, {bits.size} bytes of data)")
        grid = np.unpackbits(bits, count=rows * cols).astype(bool).reshape(rows, cols)
        return cls(grid)


def read_land_mask(source: Traversable | Path) -> LandMask:
    """Read a mask file (a path or an :mod:`importlib.resources` traversable).

    Raises:
        LandMaskError: if the file is missing or not a valid mask.
    """
    try:
        data = source.read_bytes()
    except FileNotFoundError:
        raise LandMaskError(
            f"the land mask {source} is missing; reinstall satclip, or rebuild it from a source checkout with "
            "`pip install -e .[build-data]` and `python scripts/build_land_mask.py`"
        ) from None
    except OSError as error:
        raise LandMaskError(f"cannot read the land mask {source}: {error}") from None
    return LandMask.from_bytes(data, what=f"the land mask {source}")


@functools.cache
def load_land_mask() -> LandMask:
    """The packaged 5' land mask, read once per process.

    Raises:
        LandMaskError: if the data file is missing from the installation or corrupt.
    """
    return read_land_mask(importlib.resources.files("satclip_cli").joinpath("data", MASK_FILENAME))
