"""Make ``tests/data/stac/`` from ``../shared/data/stac/``: the two Planetary Computer documents the tests parse.

Both are copied byte for byte (see :data:`FILES`): a single ``sentinel-2-l2a`` item (Greenland, EPSG:32624,
projection extension v1.0.0) and a JSON list of four items from 2024 (projection v1.1.0).

Run from anywhere::

    python tests/data/stac/make_stac.py [--shared PATH/TO/shared] [--out DIR]
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_SHARED = HERE.parents[2].parent / "shared"
FILES = (
    "pc_item_S2B_MSIL2A_20220612T182919_R027_T24XWR_20220613T123251.json",
    "pc_items_sentinel-2-l2a_4items_2024-04-19.json",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="the shared folder (default ../shared)")
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: this script's folder)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    source = args.shared / "data" / "stac"
    for name in FILES:
        shutil.copyfile(source / name, args.out / name)


if __name__ == "__main__":
    main()
