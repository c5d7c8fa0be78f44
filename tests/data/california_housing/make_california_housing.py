"""Make ``tests/data/california_housing/housing.csv`` from ``../shared/data/california_housing/``: every 10th row.

The source has 20,640 California block groups (1990 census; Géron's variant of the StatLib ``cal_housing`` data).
The copy keeps rows 0, 10, 20, ... (2,064 block groups) with all columns and the source's text unchanged (the
lines are copied, not re-formatted), so it still spans the state and keeps the capped value 500,001.

Deterministic. Run from anywhere::

    python tests/data/california_housing/make_california_housing.py [--shared PATH/TO/shared] [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_SHARED = HERE.parents[2].parent / "shared"
NAME = "housing.csv"
STEP = 10
"""Keep every STEP-th data row, starting with the first."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="the shared folder (default ../shared)")
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: this script's folder)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    source = args.shared / "data" / "california_housing" / NAME
    header, *rows = source.read_text(encoding="utf-8").splitlines(keepends=True)
    (args.out / NAME).write_text(header + "".join(rows[::STEP]), encoding="utf-8")


if __name__ == "__main__":
    main()
