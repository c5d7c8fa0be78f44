"""Points per second drawn in scattered tiny regions vs one continent-sized region, same run.

    python benchmarks/region_sampling_speed.py [--polygons 10000] [--patches 2000] [--land-only]

Target (issue 12): 10,000 polygons of 10 m x 10 m scattered over the globe sample as easily as one
continent. Times what ``satclip sample`` does per patch — one ``SamplingArea.draw(point_rng(seed, i, 0), 1)``
per dataset index — for (a) a continent (a 40 x 40 degree triangle-ish polygon over Africa) and (b)
``--polygons`` squares of 10 m x 10 m scattered area-uniformly over land, and a bulk draw of 100,000
points in each. Prints points/s of each and the ratio (scattered / continent; 1.0 = as easily).
The area set-up (reading, union, per-polygon windows) is timed separately: it happens once per run.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from shapely.geometry import MultiPolygon, Polygon, box

from satclip_cli.geo.land_mask import load_land_mask
from satclip_cli.geo.sphere_sampling import SamplingArea, point_rng


def scattered_squares(count: int, seed: int = 0) -> MultiPolygon:
    """``count`` squares of 10 m x 10 m with south-west corners area-uniform on land."""
    area = SamplingArea(land_only=True)
    corners = area.draw(np.random.default_rng(seed), count)
    squares = []
    for lon, lat in corners:
        d_lat = 10.0 / 111_195.0
        squares.append(box(lon, lat, lon + d_lat / max(math.cos(math.radians(lat)), 1e-3), lat + d_lat))
    return MultiPolygon(squares)


def per_patch_rate(area: SamplingArea, patches: int) -> float:
    start = time.perf_counter()
    for index in range(patches):
        area.draw(point_rng(0, index, 0), 1)
    return patches / (time.perf_counter() - start)


def bulk_rate(area: SamplingArea, n: int = 100_000) -> float:
    start = time.perf_counter()
    area.draw(np.random.default_rng(1), n)
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--polygons", type=int, default=10_000)
    parser.add_argument("--patches", type=int, default=2_000)
    parser.add_argument("--land-only", action="store_true", help="Also apply the land mask (as --land-only).")
    args = parser.parse_args()
    mask = load_land_mask() if args.land_only else None
    continent = Polygon([(-15.0, 15.0), (50.0, 10.0), (40.0, -35.0), (15.0, -35.0), (10.0, 5.0)])
    start = time.perf_counter()
    one = SamplingArea(region=continent, land_only=args.land_only, land_mask=mask)
    setup_one = time.perf_counter() - start
    squares = scattered_squares(args.polygons)
    start = time.perf_counter()
    many = SamplingArea(region=squares, land_only=args.land_only, land_mask=mask)
    setup_many = time.perf_counter() - start
    print(f"set-up: continent {setup_one * 1e3:.1f} ms; {args.polygons:,} squares {setup_many * 1e3:.1f} ms")
    for name, measure in (("per patch (n=1 draws)", lambda a: per_patch_rate(a, args.patches)), ("bulk", bulk_rate)):
        rate_one, rate_many = measure(one), measure(many)
        print(
            f"{name}: continent {rate_one:,.0f} points/s; {args.polygons:,} scattered 10 m squares "
            f"{rate_many:,.0f} points/s; ratio {rate_many / rate_one:.2f}"
        )


if __name__ == "__main__":
    main()
