"""Make ``tests/data/ecoregions/`` from ``../shared/data/ecoregions/``: RESOLVE 2017, coarser geometry.

The shared shapefiles (``biomes``: the 14 biomes + N/A "Rock and Ice", 15 features; ``Ecoregions2017``: 847
ecoregions; lon/lat degrees, WGS84) are already simplified by their publisher, yet 5 MB together. The copies keep
every feature and its class attribute (``BIOME_NAME`` resp. ``ECO_NAME``; the other attributes are dropped) and
thin the geometry:

1. polygon parts and holes smaller than :data:`MIN_PART_AREA` square degrees are dropped (small islands and
   lakes), keeping at least the largest part of every feature, so no biome or ecoregion disappears;
2. the rest is simplified with Douglas-Peucker, :data:`TOLERANCE` degrees, topology preserved (shapely).

Points on dropped islands fall in no polygon (the tasks drop such points and count them).

The files stay shapefiles like the source: ``.shp``/``.shx``/``.dbf``, the source's ``.prj`` copied, no ``.cpg``,
and the attribute text in Latin-1 (so a reader must be told the encoding, as with the source). The DBF header's
date and language-driver bytes are set to the source's, which makes the output deterministic.

Run from anywhere::

    python tests/data/ecoregions/make_ecoregions.py [--shared PATH/TO/shared] [--out DIR]
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import geopandas as gpd
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

HERE = Path(__file__).resolve().parent
DEFAULT_SHARED = HERE.parents[2].parent / "shared"
LAYERS = {"biomes": "BIOME_NAME", "Ecoregions2017": "ECO_NAME"}
"""Shapefile stem -> the attribute kept (the class of the probe task)."""
MIN_PART_AREA = 0.2
"""Square degrees (about 2,500 km2 at the equator)."""
TOLERANCE = 0.3
"""Degrees."""
ENCODING = "latin1"
DBF_DATE = slice(1, 4)
DBF_LANGUAGE_DRIVER = 29


def thin(geometry: BaseGeometry) -> BaseGeometry:
    """``geometry`` without small parts and holes (but its largest part), then simplified."""
    parts = [part for part in getattr(geometry, "geoms", [geometry]) if not part.is_empty]
    kept = [part for part in parts if part.area >= MIN_PART_AREA] or [max(parts, key=lambda part: part.area)]
    kept = [
        Polygon(part.exterior, [ring for ring in part.interiors if Polygon(ring).area >= MIN_PART_AREA])
        for part in kept
    ]
    return shapely.simplify(MultiPolygon(kept) if len(kept) > 1 else kept[0], TOLERANCE, preserve_topology=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="the shared folder (default ../shared)")
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: this script's folder)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    source = args.shared / "data" / "ecoregions"
    for stem, column in LAYERS.items():
        frame = gpd.read_file(source / f"{stem}.shp", encoding=ENCODING)
        thinned = gpd.GeoDataFrame({column: frame[column]}, geometry=[thin(g) for g in frame.geometry], crs=frame.crs)
        thinned.to_file(args.out / f"{stem}.shp", encoding=ENCODING)
        (args.out / f"{stem}.cpg").unlink(missing_ok=True)
        shutil.copyfile(source / f"{stem}.prj", args.out / f"{stem}.prj")
        header = (source / f"{stem}.dbf").read_bytes()[:32]
        dbf = bytearray((args.out / f"{stem}.dbf").read_bytes())
        dbf[DBF_DATE] = header[DBF_DATE]
        dbf[DBF_LANGUAGE_DRIVER] = header[DBF_LANGUAGE_DRIVER]
        (args.out / f"{stem}.dbf").write_bytes(bytes(dbf))


if __name__ == "__main__":
    main()
