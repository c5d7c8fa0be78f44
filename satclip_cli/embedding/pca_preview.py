"""RGB preview of an embedding raster: its first three principal components as red, green and blue.

This is the picture the SatCLIP authors show of their embeddings. The raster is read from its coarsest
overview that is still at least preview-sized, in strips of rows, keeping the pixels nearest to the preview's
pixel centres, so memory stays bounded by about ``bands * 2 * strip_rows * 2 * max_size`` values whatever
the raster size; PCA is fitted on a seeded random subsample of the valid (non-NaN) decimated pixels, each
component is stretched to 0..1 between its 2nd and 98th percentiles, and nodata pixels are transparent.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from rasterio.errors import NotGeoreferencedWarning, RasterioIOError
from rasterio.windows import Window

from satclip_cli.errors import InputError
from satclip_cli.utils.atomic_output import atomic_output, check_output_path

#: Percentiles mapped to 0 and 1 when stretching each component.
STRETCH_PERCENTILES = (2.0, 98.0)


@dataclass(frozen=True)
class PcaPreview:
    """What :func:`write_pca_preview` wrote.

    Attributes:
        path: the PNG.
        width, height: PNG size in pixels (the raster's size scaled to fit ``max_size``, aspect kept).
        explained_variance_ratio: share of the total variance of each component (up to 3 values).
        valid_pixels: PNG pixels that are not nodata (opaque).
        fit_pixels: pixels the PCA was fitted on.
    """

    path: Path
    width: int
    height: int
    explained_variance_ratio: tuple[float, ...]
    valid_pixels: int
    fit_pixels: int


def preview_shape(width: int, height: int, max_size: int) -> tuple[int, int]:
    """``(out_height, out_width)`` of the preview: scaled so the longer side is ``<= max_size``, never enlarged."""
    scale = min(1.0, max_size / max(width, height))
    return max(1, round(height * scale)), max(1, round(width * scale))


def write_pca_preview(
    raster_path: str | os.PathLike,
    png_path: str | os.PathLike,
    *,
    max_size: int = 1024,
    sample: int = 100_000,
    seed: int = 0,
    overwrite: bool = False,
    strip_rows: int = 32,
) -> PcaPreview:
    """Write an RGBA PNG of the first three principal components of the bands of ``raster_path``.

    Args:
        raster_path: a multi-band raster (e.g. the output of ``embed_raster``), NaN or nodata where invalid.
        png_path: the PNG to write (atomically); refused if it exists unless ``overwrite``.
        max_size: longest side of the PNG in pixels; smaller rasters are not enlarged.
        sample: about this many valid decimated pixels (drawn with ``seed``) are used to fit the PCA.
        seed: seed of the subsample, so the same raster always gives the same picture.
        overwrite: replace an existing ``png_path``.
        strip_rows: PNG rows read per strip (bounds memory to ``bands * strip_rows * width`` float32).

    A pixel is nodata (transparent, RGB 0) if any band is NaN or equals the raster's nodata value. Component
    signs are fixed (largest loading positive), so the colours are reproducible. Rasters with fewer than 3 bands
    give a grey (1 band) or red-green (2 bands) picture; a component with no variance (rank-deficient bands)
    gives a black channel instead of stretched rounding noise.

    Raises:
        InputError: missing or unreadable raster, bad ``max_size``/``sample``, or no valid pixel.
        OutputExistsError: ``png_path`` exists and not ``overwrite``.
    """
    png_path = check_output_path(png_path, overwrite)
    if int(max_size) != max_size or max_size < 1:
        raise InputError(f"max_size must be a positive integer, got {max_size!r}")
    if int(sample) != sample or sample < 1:
        raise InputError(f"sample must be a positive integer, got {sample!r}")
    raster_path = Path(raster_path)
    if not raster_path.exists():
        raise InputError(f"raster {raster_path} does not exist")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(raster_path) as full:
                out_h, out_w = preview_shape(full.width, full.height, int(max_size))
                level = _overview_level(full, out_h, out_w)
            with rasterio.open(raster_path, overview_level=level) as src:
                mean, components, ratio, fit_pixels = _fit_pca(src, out_h, out_w, int(sample), seed, strip_rows)
                projected = np.full((out_h, out_w, components.shape[1]), np.nan, dtype=np.float32)
                for r0, r1, pixels, valid in _strips(src, out_h, out_w, strip_rows):
                    rows = np.full((pixels.shape[0], components.shape[1]), np.nan, dtype=np.float32)
                    rows[valid] = (pixels[valid] - mean) @ components
                    projected[r0:r1] = rows.reshape(r1 - r0, out_w, -1)
    except RasterioIOError as exc:
        raise InputError(f"cannot read raster {raster_path}: {exc}") from exc

    rgba = _to_rgba(projected)
    import matplotlib.image

    with atomic_output(png_path, overwrite) as tmp:
        matplotlib.image.imsave(tmp, rgba, format="png")
    return PcaPreview(
        path=png_path,
        width=out_w,
        height=out_h,
        explained_variance_ratio=tuple(float(r) for r in ratio),
        valid_pixels=int((rgba[..., 3] > 0).sum()),
        fit_pixels=fit_pixels,
    )


def _overview_level(src: rasterio.io.DatasetReader, out_h: int, out_w: int) -> int | None:
    """Index of the coarsest overview still at least as large as the preview (None: full resolution)."""
    decimation = min(src.width / out_w, src.height / out_h)
    usable = [i for i, factor in enumerate(src.overviews(1)) if factor <= decimation]
    return usable[-1] if usable else None


def _strips(
    src: rasterio.io.DatasetReader, out_h: int, out_w: int, strip_rows: int
) -> Iterator[tuple[int, int, np.ndarray, np.ndarray]]:
    """Yield ``(r0, r1, pixels, valid)`` for preview rows ``r0:r1``.

    ``pixels`` is float64 ``[(r1 - r0) * out_w, bands]`` (row-major): the source pixels nearest to the
    preview pixel centres, read at native resolution and picked in numpy (GDAL's own resampled read of
    a many-band, pixel-interleaved raster is orders of magnitude slower); ``valid`` is bool
    ``[(r1 - r0) * out_w]``.
    """
    height, width, bands = src.height, src.width, src.count
    nodata = src.nodata
    scales = offsets = None
    if any(scale != 1 for scale in src.scales) or any(offset != 0 for offset in src.offsets):
        scales, offsets = np.asarray(src.scales, dtype=np.float64), np.asarray(src.offsets, dtype=np.float64)
    source_rows = np.minimum(((np.arange(out_h) + 0.5) * height / out_h).astype(np.int64), height - 1)
    source_cols = np.minimum(((np.arange(out_w) + 0.5) * width / out_w).astype(np.int64), width - 1)
    for r0 in range(0, out_h, max(1, strip_rows)):
        r1 = min(out_h, r0 + max(1, strip_rows))
        s0, s1 = int(source_rows[r0]), int(source_rows[r1 - 1]) + 1
        block = src.read(window=Window(0, s0, width, s1 - s0))
        data = block[:, source_rows[r0:r1] - s0][:, :, source_cols]
        pixels = data.reshape(bands, -1).T.astype(np.float64)
        valid = np.isfinite(pixels).all(axis=1)
        if nodata is not None and np.isfinite(nodata):
            valid &= ~(pixels == nodata).any(axis=1)
        if scales is not None:  # int8 levels of --quantize: value = level * scale + offset, per band
            pixels = pixels * scales + offsets
        yield r0, r1, pixels, valid


def _fit_pca(
    src: rasterio.io.DatasetReader, out_h: int, out_w: int, sample: int, seed: int, strip_rows: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """PCA of a random subsample of valid decimated pixels, accumulated strip by strip.

    Returns:
        ``(mean [bands], components [bands, k], explained_variance_ratio [k], n_fitted)`` with
        ``k = min(3, bands)``; components are unit columns ordered by decreasing variance.
    """
    bands = src.count
    rng = np.random.default_rng(seed)
    keep = min(1.0, sample / (out_h * out_w))
    shift: np.ndarray | None = None
    total = np.zeros(bands)
    scatter = np.zeros((bands, bands))
    n = 0
    for _, _, pixels, valid in _strips(src, out_h, out_w, strip_rows):
        chosen = pixels[valid & (rng.random(valid.size) < keep)]
        if chosen.shape[0] == 0:
            continue
        if shift is None:
            shift = chosen.mean(axis=0)  # accumulate around a nearby point for numerical stability
        centred = chosen - shift
        total += centred.sum(axis=0)
        scatter += centred.T @ centred
        n += chosen.shape[0]
    if n == 0 or shift is None:
        raise InputError(f"raster {src.name} has no valid (non-nodata) pixel to preview")
    mean_c = total / n
    cov = scatter / n - np.outer(mean_c, mean_c)
    eigvals, eigvecs = np.linalg.eigh(cov)
    k = min(3, bands)
    order = np.argsort(eigvals)[::-1][:k]
    components = eigvecs[:, order]
    largest = np.argmax(np.abs(components), axis=0)
    components *= np.sign(components[largest, np.arange(k)])[None, :]
    variance = np.clip(eigvals[order], 0.0, None)
    # A component with (numerically) no variance would only stretch float32 rounding noise to full range:
    # zero it, so rank-deficient embeddings give a clean picture (that channel is black).
    negligible = variance <= 1e-9 * max(float(variance[0]), np.finfo(float).tiny)
    components[:, negligible] = 0.0
    trace = float(np.clip(eigvals, 0.0, None).sum())
    ratio = variance / trace if trace > 0 else np.zeros(k)
    return shift + mean_c, components, ratio, n


def _to_rgba(projected: np.ndarray) -> np.ndarray:
    """Stretch ``[h, w, k]`` component scores (NaN = nodata) to an RGBA uint8 ``[h, w, 4]`` image."""
    h, w, k = projected.shape
    valid = np.isfinite(projected).all(axis=2)
    channels = np.zeros((h, w, k), dtype=np.float64)
    for c in range(k):
        values = projected[..., c][valid]
        if values.size == 0:
            continue
        lo, hi = np.percentile(values, STRETCH_PERCENTILES)
        if hi > lo:  # a constant component stays 0 (black)
            channels[..., c] = np.clip((projected[..., c] - lo) / (hi - lo), 0.0, 1.0)
    rgba = np.zeros((h, w, 4), dtype=np.uint8)
    rgb = np.repeat(channels, 3, axis=2) if k == 1 else np.concatenate([channels, np.zeros((h, w, 3 - k))], axis=2)
    rgba[..., :3] = np.round(np.nan_to_num(rgb) * 255).astype(np.uint8)
    rgba[..., :3][~valid] = 0
    rgba[..., 3] = np.where(valid, 255, 0).astype(np.uint8)
    return rgba
