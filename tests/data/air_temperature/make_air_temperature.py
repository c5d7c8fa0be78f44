"""Make ``tests/data/air_temperature/`` from ``../shared/data/air_temperature/``: the station table, unchanged.

``stationDataAll.csv`` (Hooker et al. 2018, 3,076 stations, 384 kB) is small enough to keep whole and byte for
byte, so it still has the SHA-256 the download registry pins (the download tests serve it from a loopback mirror).

Run from anywhere::

    python tests/data/air_temperature/make_air_temperature.py [--shared PATH/TO/shared] [--out DIR]
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_SHARED = HERE.parents[2].parent / "shared"
NAME = "stationDataAll.csv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="the shared folder (default ../shared)")
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: this script's folder)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(args.shared / "data" / "air_temperature" / NAME, args.out / NAME)


if __name__ == "__main__":
    main()
