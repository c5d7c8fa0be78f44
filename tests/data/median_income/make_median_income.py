"""Make ``tests/data/median_income/`` from ``../shared/data/median_income/``: the counties of five states.

The median-income task joins ``income.csv`` (Jia & Benson 2020: FIPS ``0`` = USA, state rows ``FIPS % 1000 == 0``,
then counties; incomes as text like ``"50,502"``) to the header-less 2019 Census Gazetteer counties file on the
5-digit FIPS code. The copies keep, with the source's lines unchanged (copied, not re-formatted):

* ``income.csv``: the USA row, and the state and county rows of :data:`STATES`;
* ``2019_Gaz_counties_national.txt``: the counties of :data:`STATES`, plus Puerto Rico's (which have no income
  row, so the join drops them);
* ``county_median_income_with_centroids.csv`` (the shared DERIVED join): its rows of :data:`STATES`.

The states are chosen for the join's special cases the tests check: Autauga County, AL (01001), the first row;
Kalawao County, HI (15005), without a 2016 value; and the three counties whose FIPS code changed before 2019 and
so have no Gazetteer point: Wade Hampton, AK (02270), Shannon, SD (46113) and Bedford city, VA (51515).

Deterministic. Run from anywhere::

    python tests/data/median_income/make_median_income.py [--shared PATH/TO/shared] [--out DIR]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_SHARED = HERE.parents[2].parent / "shared"
STATES = ("01", "02", "15", "46", "51")
"""State FIPS codes kept: Alabama, Alaska, Hawaii, South Dakota, Virginia."""
PUERTO_RICO = "72"


def keep_lines(source: Path, target: Path, keep: Callable[[str], bool], header: bool) -> None:
    """Copy the lines of ``source`` for which ``keep(line)`` is true (and the header line if ``header``)."""
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    first, rest = (lines[:1], lines[1:]) if header else ([], lines)
    target.write_text("".join(first + [line for line in rest if keep(line)]), encoding="utf-8")


def income_state(line: str) -> str:
    """Two-digit state code of an ``income.csv`` line (FIPS without leading zeros; ``0`` is the USA)."""
    return f"{int(line.split(',', 1)[0]):05d}"[:2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="the shared folder (default ../shared)")
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: this script's folder)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    source = args.shared / "data" / "median_income"
    keep_lines(
        source / "income.csv",
        args.out / "income.csv",
        lambda line: line.startswith("0,") or income_state(line) in STATES,
        header=True,
    )
    keep_lines(
        source / "2019_Gaz_counties_national.txt",
        args.out / "2019_Gaz_counties_national.txt",
        lambda line: line.split(",")[1][:2] in (*STATES, PUERTO_RICO),
        header=False,
    )
    keep_lines(
        source / "county_median_income_with_centroids.csv",
        args.out / "county_median_income_with_centroids.csv",
        lambda line: line[:2] in STATES,
        header=True,
    )


if __name__ == "__main__":
    main()
