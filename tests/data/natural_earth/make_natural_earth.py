"""Make ``tests/data/natural_earth/`` from ``../shared/data/natural_earth/`` (Natural Earth v4.0.0 GeoJSON).

Every feature and every coordinate is kept; only attributes are dropped (:data:`KEPT`), which makes the files
a fraction of their size:

* ``ne_110m_admin_0_countries.geojson``: the 177 countries with their geometry unchanged and the attributes the
  code and tests read (``ADM0_A3`` the class key, ``CONTINENT``) plus the names and UN regions.
* ``ne_50m_populated_places_simple.geojson``: the 1,249 places with name, country, the ``latitude``/``longitude``
  attributes (which a few records disagree with their point on) and the population columns.

Coordinates are lon/lat degrees (WGS84, no ``crs`` member, as in the source). Numbers are rewritten by Python's
``json`` (shortest repr of the same float64), so the text differs from the source where it had excess digits.

Deterministic: the same inputs give byte-identical outputs. Run from anywhere::

    python tests/data/natural_earth/make_natural_earth.py [--shared PATH/TO/shared] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_SHARED = HERE.parents[2].parent / "shared"
KEPT: dict[str, tuple[str, ...]] = {
    "ne_110m_admin_0_countries.geojson": (
        "ADMIN", "NAME", "ADM0_A3", "ISO_A3", "CONTINENT", "REGION_UN", "SUBREGION",
    ),
    "ne_50m_populated_places_simple.geojson": (
        "name", "nameascii", "adm0name", "adm0_a3", "latitude", "longitude", "pop_max", "pop_min",
    ),
}  # fmt: skip
"""Attributes kept per file, in the source's order."""


def trim_attributes(source: Path, target: Path, kept: tuple[str, ...]) -> None:
    """Write ``source`` (a GeoJSON FeatureCollection) with only the ``kept`` attributes, one feature a line."""
    collection = json.loads(source.read_text(encoding="utf-8"))
    lines = []
    for feature in collection["features"]:
        properties = {name: feature["properties"][name] for name in kept}
        trimmed = {"type": "Feature", "properties": properties, "geometry": feature["geometry"]}
        lines.append(json.dumps(trimmed, ensure_ascii=False, separators=(",", ":")))
    header = {key: value for key, value in collection.items() if key != "features"}
    opening = json.dumps(header, ensure_ascii=False, separators=(",", ":"))[:-1]
    target.write_text(opening + ',"features":[\n' + ",\n".join(lines) + "\n]}\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="the shared folder (default ../shared)")
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: this script's folder)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    source = args.shared / "data" / "natural_earth"
    for name, kept in KEPT.items():
        trim_attributes(source / name, args.out / name, kept)


if __name__ == "__main__":
    main()
