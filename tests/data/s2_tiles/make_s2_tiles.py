"""Make ``tests/data/s2_tiles/`` from ``../shared/data/s2_tiles/``: the 23 real S2-100K patches, centre 64 x 64 px.

Each ``patch_*.tif`` (256 x 256 px at 10 m, 12 uint16 bands ``B01 B02 B03 B04 B05 B06 B07 B08 B8A B09 B11 B12``,
L2A digital numbers, in the tile's UTM CRS) is cut to its centre :data:`SIZE` x :data:`SIZE` px (rows and columns
96-159) and written in the S2-100K encoding the original files have (``COG`` layout, LZW, horizontal predictor,
512 x 512 px tiles, pixel interleave), with their tags and band descriptions. The pixels are unchanged.

``index.csv`` keeps the columns of the shared index. The crop's centre is the corner of the original pixel
(128, 128), the point the shared ``lon, lat`` already give, so ``lon, lat`` (and ``index_lon, index_lat``, the
country and ecoregion columns) stay as they are; ``left, bottom, right, top`` (UTM metres), ``height, width``,
``min, max`` and ``n_zero_pixels_all_bands`` are recomputed for the crop.

Deterministic: the same inputs give byte-identical outputs. Run from anywhere::

    python tests/data/s2_tiles/make_s2_tiles.py [--shared PATH/TO/shared] [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import rasterio
from rasterio.windows import Window

HERE = Path(__file__).resolve().parent
DEFAULT_SHARED = HERE.parents[2].parent / "shared"
SIZE = 64
"""Side of the kept centre crop, px (10 m)."""
S2_100K_ENCODING = {
    "driver": "COG",
    "compress": "LZW",
    "predictor": 2,
    "blocksize": 512,
    "interleave": "PIXEL",
    "overviews": "NONE",
}
"""How the original S2-100K patches are stored (GDAL's IMAGE_STRUCTURE of the shared files)."""


def crop_patch(source: Path, target: Path) -> dict[str, float | int]:
    """Write the centre crop of ``source`` to ``target``; return the index columns that change."""
    with rasterio.open(source) as src:
        offset = (src.height - SIZE) // 2
        window = Window(offset, offset, SIZE, SIZE)
        pixels = src.read(window=window)
        transform = src.window_transform(window)
        profile = {
            "width": SIZE,
            "height": SIZE,
            "count": src.count,
            "dtype": src.dtypes[0],
            "crs": src.crs,
            "transform": transform,
            **S2_100K_ENCODING,
        }
        tags, descriptions = src.tags(), src.descriptions
    with rasterio.open(target, "w", **profile) as dst:
        dst.write(pixels)
        dst.update_tags(**tags)
        dst.descriptions = descriptions
    left, top = transform.c, transform.f
    return {
        "left": left,
        "bottom": top - SIZE * transform.a,
        "right": left + SIZE * transform.a,
        "top": top,
        "height": SIZE,
        "width": SIZE,
        "min": int(pixels.min()),
        "max": int(pixels.max()),
        "n_zero_pixels_all_bands": int((pixels == 0).all(axis=0).sum()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="the shared folder (default ../shared)")
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: this script's folder)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    source = args.shared / "data" / "s2_tiles"
    index = pd.read_csv(source / "index.csv", dtype={"epsg": "int64"}, keep_default_na=False)
    for row, name in enumerate(index["file"]):
        for column, value in crop_patch(source / name, args.out / name).items():
            index.loc[row, column] = value
    index.to_csv(args.out / "index.csv", index=False)


if __name__ == "__main__":
    main()
