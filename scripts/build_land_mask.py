"""Build the packaged 5 arc-minute land mask ``satclip_cli/data/land_mask_5arcmin.bin.gz``.

    pip install -e '.[build-data]'
    python scripts/build_land_mask.py [--output PATH]

Source: the GLOBE land mask shipped by the PyPI package ``global-land-mask==1.0.0``
(https://github.com/toddkarin/global-land-mask, MIT licence), file
``global_land_mask/globe_combined_mask_compressed.npz``: a bool ``mask`` of 21600 x 43200 cells of
30 arc-seconds (about 1 km), True = ocean, row 0 = 90 deg N (latitudes decreasing), column 0 = 180 deg W,
derived from the NOAA NGDC GLOBE 30" digital elevation model (cells flagged as ocean, elevation -500).
GLOBE is a US government (NOAA) product in the public domain. Lakes are land in GLOBE.

Method: every 5' cell of the output covers exactly 10 x 10 source cells (row ``r`` covers source rows
``10 r .. 10 r + 9``, i.e. latitudes 90 - (r + 1) / 12 .. 90 - r / 12 degrees); it is land when at least
half (50 of 100) of its source cells are land (majority rule, ties to land). The result is a
4320 x 2160 grid, row 0 = northernmost (90 deg N .. 89 deg 55' N), column 0 = 180 deg W, written in the
format documented in :mod:`satclip_cli.geo.land_mask` and checked against known land and ocean points.

Reproducibility: the payload (header + packed bits) is a pure function of the source; the gzip wrapper
has a zero timestamp, no file name and a fixed level, so two runs give identical bytes (given the same
zlib; a different deflate implementation, e.g. zlib-ng, may compress the same payload differently).
The script prints the sha256 of the file and of the uncompressed payload.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import importlib.util
from pathlib import Path

import numpy as np

from satclip_cli.geo.land_mask import MASK_FILENAME, LandMask

SOURCE_CELLS_PER_DEGREE = 120  # 30 arc-seconds
TARGET_CELLS_PER_DEGREE = 12  # 5 arc-minutes
DEFAULT_OUTPUT = Path(__file__).resolve().parents[1] / "satclip_cli" / "data" / MASK_FILENAME

#: (name, lon, lat, land?) in degrees; a wrong orientation or downsampling fails at least one of them.
SANITY_POINTS: tuple[tuple[str, float, float, bool], ...] = (
    ("Sahara", 10.0, 23.0, True),
    ("Greenland ice sheet", -40.0, 72.0, True),
    ("Antarctic interior", 0.0, -80.0, True),
    ("Hawaii, Big Island (Mauna Kea)", -155.47, 19.82, True),
    ("Siberia", 100.0, 65.0, True),
    ("Tierra del Fuego", -68.5, -54.0, True),
    ("mid-Pacific", -140.0, 0.0, False),
    ("Gulf of Guinea", 0.0, 0.0, False),
    ("South Atlantic", -20.0, -40.0, False),
    ("North Pole", 0.0, 89.99, False),
    ("Southern Ocean", 150.0, -60.0, False),
)


def source_mask_path() -> Path:
    """Path of the GLOBE mask inside the installed ``global-land-mask`` (without importing it: that loads it)."""
    spec = importlib.util.find_spec("global_land_mask")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("global-land-mask is not installed; run: pip install -e '.[build-data]'")
    return Path(next(iter(spec.submodule_search_locations))) / "globe_combined_mask_compressed.npz"


def load_source_ocean_mask(path: Path) -> np.ndarray:
    """The source bool ``[21600, 43200]`` ocean mask, after checking its documented orientation."""
    with np.load(path) as npz:
        lat, lon, ocean = npz["lat"], npz["lon"], npz["mask"]
    step = 1.0 / SOURCE_CELLS_PER_DEGREE
    expected = (180 * SOURCE_CELLS_PER_DEGREE, 360 * SOURCE_CELLS_PER_DEGREE)
    if ocean.shape != expected or ocean.dtype != np.bool_:
        raise SystemExit(f"{path}: expected a bool {expected} mask, got {ocean.dtype} {ocean.shape}")
    if not (
        np.allclose(lat, 90.0 - step * np.arange(lat.size)) and np.allclose(lon, -180.0 + step * np.arange(lon.size))
    ):
        raise SystemExit(f"{path}: latitudes/longitudes are not 90 N -> S / 180 W -> E in 30 arc-second steps")
    return ocean


def downsample_majority(ocean: np.ndarray, factor: int) -> np.ndarray:
    """Land grid of ``factor x factor`` blocks of ``ocean``: land where >= half of a block's cells are land.

    Args:
        ocean: bool ``[rows * factor, cols * factor]``, True = ocean.
        factor: block side in source cells.

    Returns:
        bool ``[rows, cols]``, True = land.
    """
    if ocean.shape[0] % factor or ocean.shape[1] % factor:
        raise ValueError(f"mask shape {ocean.shape} is not a multiple of {factor}")
    rows, cols = ocean.shape[0] // factor, ocean.shape[1] // factor
    land = np.empty((rows, cols), dtype=bool)
    max_ocean = factor * factor // 2  # land cells >= ceil(half)  <=>  ocean cells <= floor(half)
    strip = max(1, (1 << 24) // (factor * ocean.shape[1]))  # output rows per strip: ~16 M source cells
    for start in range(0, rows, strip):
        stop = min(rows, start + strip)
        block = ocean[start * factor : stop * factor].reshape(stop - start, factor, cols, factor)
        land[start:stop] = block.sum(axis=(1, 3), dtype=np.uint16) <= max_ocean
    return land


def build_mask_bytes(ocean: np.ndarray, factor: int = SOURCE_CELLS_PER_DEGREE // TARGET_CELLS_PER_DEGREE) -> bytes:
    """The mask file for a source ocean mask: majority downsampling by ``factor``, then :meth:`LandMask.to_bytes`."""
    return LandMask(downsample_majority(ocean, factor)).to_bytes()


def check_known_points(mask: LandMask) -> None:
    """Fail unless every :data:`SANITY_POINTS` entry is land/ocean as expected."""
    names, lon, lat, expected = zip(*SANITY_POINTS, strict=True)
    wrong = [
        name for name, ok in zip(names, mask.is_land(np.array(lon), np.array(lat)) == expected, strict=True) if not ok
    ]
    if wrong:
        raise SystemExit(f"the built mask is wrong at known points: {', '.join(wrong)}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help=f"output file (default: {DEFAULT_OUTPUT})")
    args = parser.parse_args(argv)

    source = source_mask_path()
    data = build_mask_bytes(load_source_ocean_mask(source))
    mask = LandMask.from_bytes(data)
    check_known_points(mask)

    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(data)
    rows, cols = mask.grid.shape
    print(f"source:          {source}")
    print(
        f"wrote:           {args.output} ({len(data):,} bytes, {cols} x {rows} cells of {mask.resolution_deg * 60:g}')"
    )
    print(f"land fraction:   {mask.land_fraction():.4f} of the sphere's area")
    print(f"sha256:          {hashlib.sha256(data).hexdigest()}")
    print(f"payload sha256:  {hashlib.sha256(gzip.decompress(data)).hexdigest()}")


if __name__ == "__main__":
    main()
