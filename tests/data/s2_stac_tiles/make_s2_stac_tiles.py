"""Make ``tests/data/s2_stac_tiles/`` from ``../shared/data/s2_tiles/``: the top-left 252 px of 4 real patches.

The loopback STAC catalog (``tests/support/s2_stac_fixture.py``) cuts the top-left 252 x 252 px (2520 m) of a
patch into per-band COGs, so only that window of the patches it uses is kept: :data:`TILES`, the four places on
four continents of its default catalog. The pixels are unchanged (12 uint16 bands ``B01 B02 B03 B04 B05 B06 B07
B08 B8A B09 B11 B12``, L2A digital numbers, 10 m, the tile's UTM CRS); the files are stored compactly (ZSTD level
22, horizontal predictor, band interleave), with the source's tags and band descriptions.

``index.csv`` has the shared index's rows of these patches. ``left, top`` (UTM metres) are the crop's top-left
corner too; ``lon, lat`` stay the centre of the original 256 px patch (the catalog derives its default acquisition
times and sun angles from them, so it is the same catalog as one built from the shared patches);
``bottom, right, height, width, min, max, n_zero_pixels_all_bands`` are recomputed for the crop.

Deterministic: the same inputs give byte-identical outputs. Run from anywhere::

    python tests/data/s2_stac_tiles/make_s2_stac_tiles.py [--shared PATH/TO/shared] [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import rasterio
from rasterio.windows import Window

HERE = Path(__file__).resolve().parent
DEFAULT_SHARED = HERE.parents[2].parent / "shared"
TILES = ("patch_33188.tif", "patch_57755.tif", "patch_58000.tif", "patch_8845.tif")
"""Colorado Plateau (12SVF), south-east Brazil (22KCV), Kazakhstan (42TTM), Northwest Territories (11VNK)."""
SIZE = 252
"""Side of the kept top-left window, px (10 m): the catalog's crop."""
COMPACT_ENCODING = {
    "driver": "GTiff",
    "compress": "ZSTD",
    "zstd_level": 22,
    "predictor": 2,
    "tiled": True,
    "blockxsize": 256,
    "blockysize": 256,
    "interleave": "BAND",
}


def crop_patch(source: Path, target: Path) -> dict[str, float | int]:
    """Write the top-left window of ``source`` to ``target``; return the index columns that change."""
    with rasterio.open(source) as src:
        window = Window(0, 0, SIZE, SIZE)
        pixels = src.read(window=window)
        transform = src.window_transform(window)
        profile = {
            "width": SIZE,
            "height": SIZE,
            "count": src.count,
            "dtype": src.dtypes[0],
            "crs": src.crs,
            "transform": transform,
            **COMPACT_ENCODING,
        }
        tags, descriptions = src.tags(), src.descriptions
    with rasterio.open(target, "w", **profile) as dst:
        dst.write(pixels)
        dst.update_tags(**tags)
        dst.descriptions = descriptions
    return {
        "bottom": transform.f - SIZE * transform.a,
        "right": transform.c + SIZE * transform.a,
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
    index = index[index["file"].isin(TILES)].reset_index(drop=True)
    for row, name in enumerate(index["file"]):
        for column, value in crop_patch(source / name, args.out / name).items():
            index.loc[row, column] = value
    index.to_csv(args.out / "index.csv", index=False)


if __name__ == "__main__":
    main()
