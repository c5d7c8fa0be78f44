"""Make ``tests/data/elevation/etopo20.cdf`` from ``../shared/data/elevation/etopo20.cdf``, in whole metres.

The source is the 20' global relief grid ``ROSE(ETOPO20Y=540, ETOPO20X1_1081=1081)``, float32 metres (block means
of ETOPO5, so multiples of 1/16 m; -9027 .. 6229 m), with longitudes 20.1667 .. 380.1667 degrees east (a repeated
wrap column) and latitudes -89.83 .. 89.83. The copy keeps the grid, both axes and all attributes, and stores
``ROSE`` rounded to whole metres (half to even) as int16: half the size, at most 0.5 m from the source. It is a
netCDF classic (CDF-1) file like the source, read by the same code (``scipy.io.netcdf_file``). The grid has no
missing cells, so its fill value becomes the int16 ``-32767``, which no cell holds.

Deterministic: the same inputs give byte-identical outputs. Run from anywhere::

    python tests/data/elevation/make_elevation.py [--shared PATH/TO/shared] [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from scipy.io import netcdf_file

HERE = Path(__file__).resolve().parent
DEFAULT_SHARED = HERE.parents[2].parent / "shared"
NAME = "etopo20.cdf"
RELIEF = "ROSE"
FILL = np.int16(-32767)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="the shared folder (default ../shared)")
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: this script's folder)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    source = args.shared / "data" / "elevation" / NAME
    with netcdf_file(source, "r", mmap=False) as src, netcdf_file(args.out / NAME, "w", version=1) as dst:
        for key, value in src._attributes.items():
            setattr(dst, key, value)
        for name, size in src.dimensions.items():
            dst.createDimension(name, size)
        for name, variable in src.variables.items():
            values = np.array(variable[:])
            attributes = dict(variable._attributes)
            if name == RELIEF:
                if not np.isfinite(values).all() or (values < -1e30).any():
                    raise SystemExit(f"{source}: {RELIEF} has missing cells; this script assumes none")
                values = np.rint(values).astype(np.int16)
                attributes.update(_FillValue=FILL, missing_value=FILL)
            target = dst.createVariable(name, values.dtype, variable.dimensions)
            target[:] = values
            for key, value in attributes.items():
                setattr(target, key, value)


if __name__ == "__main__":
    main()
