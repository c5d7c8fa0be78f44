"""Output encodings of embeddings: float32 (as computed), float16, or int8 with a scale and an offset.

int8 stores ``q = clip(round((v - offset) / scale), -127, 127)``; ``v ~ q * scale + offset`` (the CF
``scale_factor``/``add_offset`` convention, so xarray decodes Zarr by itself). ``-128`` is the nodata value. The
range is not taken from the data being written (a chunk or a part sees only a small region) but from the
model over a dense global sample of (lon, lat) points (:func:`model_range`), so every part, chunk and worker uses
the same scale; values outside it are clipped.

Per-band scales are used where the format can carry them (GeoParquet metadata, GDAL band scale/offset of a COG).
Zarr uses one scale and offset for the whole variable: CF decoding in xarray applies scalar attributes only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from satclip_cli.errors import InputError, setting

if TYPE_CHECKING:
    from satclip_cli.models.inference import EmbedFn

OUTPUT_DTYPES = ("float32", "float16")
QUANTIZATIONS = ("int8",)
INT8_NODATA = -128
INT8_MAX = 127
RANGE_SAMPLE_POINTS = 65536
"""Points of the Fibonacci lattice over the whole sphere that :func:`model_range` embeds (~80 km apart)."""
RANGE_MARGIN = 0.02
"""Fraction of the sampled range added on each side, for values between the lattice points."""


@dataclass(frozen=True)
class Quantization:
    """int8 quantization: ``value ~ q * scale + offset``, per band (arrays of length D) or one for all bands.

    Attributes:
        scale: float64 ``[D]`` (or ``[1]``) step between int8 levels, in embedding units.
        offset: float64 ``[D]`` (or ``[1]``) the value of ``q = 0``.
    """

    scale: np.ndarray
    offset: np.ndarray

    @classmethod
    def from_range(cls, low: np.ndarray, high: np.ndarray) -> Quantization:
        """Levels -127..127 spanning ``[low, high]`` (per band, or scalars for one scale over all bands)."""
        low = np.atleast_1d(np.asarray(low, dtype=np.float64))
        high = np.atleast_1d(np.asarray(high, dtype=np.float64))
        span = np.maximum(high - low, 1e-12)
        return cls(scale=span / (2 * INT8_MAX), offset=(high + low) / 2)

    def overall(self) -> Quantization:
        """One scale and offset covering the ranges of all bands (for formats with scalar scale/offset)."""
        low = (self.offset - self.scale * INT8_MAX).min()
        high = (self.offset + self.scale * INT8_MAX).max()
        return Quantization.from_range(np.array([low]), np.array([high]))

    def encode(self, values: np.ndarray, band_axis: int = -1) -> np.ndarray:
        """int8 levels of float ``values`` (bands along ``band_axis``); NaN becomes :data:`INT8_NODATA`."""
        shape = [1] * values.ndim
        shape[band_axis] = -1
        scale = self.scale.reshape(shape) if self.scale.size > 1 else self.scale[0]
        offset = self.offset.reshape(shape) if self.offset.size > 1 else self.offset[0]
        with np.errstate(invalid="ignore"):
            levels = np.rint((values - offset) / scale)
        nan = np.isnan(levels)
        levels = np.clip(levels, -INT8_MAX, INT8_MAX)
        levels[nan] = INT8_NODATA
        return levels.astype(np.int8)

    def decode(self, levels: np.ndarray, band_axis: int = -1) -> np.ndarray:
        """float32 values of int8 ``levels``; :data:`INT8_NODATA` becomes NaN."""
        shape = [1] * levels.ndim
        shape[band_axis] = -1
        scale = self.scale.reshape(shape) if self.scale.size > 1 else self.scale[0]
        offset = self.offset.reshape(shape) if self.offset.size > 1 else self.offset[0]
        values = (levels.astype(np.float64) * scale + offset).astype(np.float32)
        values[levels == INT8_NODATA] = np.nan
        return values

    def to_json(self) -> str:
        """``{"dtype": "int8", "nodata": -128, "scale": [...], "offset": [...]}`` (value = q * scale + offset)."""
        return json.dumps(
            {"dtype": "int8", "nodata": INT8_NODATA, "scale": self.scale.tolist(), "offset": self.offset.tolist()}
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> Quantization:
        """Inverse of :meth:`to_json`."""
        data = json.loads(text)
        return cls(scale=np.asarray(data["scale"], dtype=np.float64), offset=np.asarray(data["offset"], np.float64))


@dataclass(frozen=True)
class OutputEncoding:
    """How embeddings are stored: ``dtype`` ``"float32"``, ``"float16"`` or ``"int8"`` (then with ``quantization``)."""

    dtype: str = "float32"
    quantization: Quantization | None = None

    @property
    def is_int8(self) -> bool:
        """True for int8 levels with a :class:`Quantization`."""
        return self.quantization is not None

    def encode(self, values: np.ndarray, band_axis: int = -1) -> np.ndarray:
        """float32 embeddings -> the stored values (bands along ``band_axis``)."""
        if self.quantization is not None:
            return self.quantization.encode(values, band_axis)
        return values.astype(self.dtype, copy=False)


def check_output_encoding(output_dtype: str, quantize: str | None) -> str:
    """The stored dtype (``"float32"``, ``"float16"`` or ``"int8"``) of the two settings; they exclude each other.

    Raises:
        InputError: an unknown dtype or quantization, or both a non-default dtype and a quantization.
    """
    if output_dtype not in OUTPUT_DTYPES:
        raise InputError(f"{setting('output_dtype')} must be one of {', '.join(OUTPUT_DTYPES)}, not {output_dtype!r}")
    if quantize is None:
        return output_dtype
    if quantize not in QUANTIZATIONS:
        raise InputError(f"{setting('quantize')} must be one of {', '.join(QUANTIZATIONS)}, not {quantize!r}")
    if output_dtype != "float32":
        raise InputError(f"give either {setting('quantize')} or {setting('output_dtype')}, not both")
    return quantize


def fibonacci_lonlat(n: int) -> np.ndarray:
    """``n`` (lon, lat) degrees of a Fibonacci lattice: nearly equal-area, evenly spread over the whole sphere."""
    i = np.arange(n, dtype=np.float64) + 0.5
    lat = np.degrees(np.arcsin(1 - 2 * i / n))
    lon = (i * 180.0 * (3 - np.sqrt(5.0))) % 360.0 - 180.0
    return np.stack([lon, lat], axis=1)


def model_range(embed_fn: EmbedFn, points: int = RANGE_SAMPLE_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Per-band ``(low, high)`` of the model over a global Fibonacci lattice, widened by :data:`RANGE_MARGIN`."""
    values = np.asarray(embed_fn(fibonacci_lonlat(points)), dtype=np.float64)
    low, high = values.min(axis=0), values.max(axis=0)
    margin = (high - low) * RANGE_MARGIN
    return low - margin, high + margin


def mean_cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Mean cosine similarity of the rows of ``a`` and ``b`` (``[n, D]``), NaN rows skipped."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    keep = ~(np.isnan(a).any(axis=1) | np.isnan(b).any(axis=1))
    a, b = a[keep], b[keep]
    cos = (a * b).sum(axis=1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-30)
    return float(cos.mean())
