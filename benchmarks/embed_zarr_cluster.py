"""A world grid to Zarr on a local Dask cluster vs the in-process COG, whole ``satclip embed`` processes, same run.

    python benchmarks/embed_zarr_cluster.py [--resolution 0.25] [--workers 2] [--model CKPT] [--keep DIR]

Times, on the same grid (``--bbox -180 -90 180 90 --resolution R``) and the same L=10 model (default: the
official-layout ResNet18 L=10 checkpoint of the tests): ``satclip embed -o world.tif`` (in-process, float32 COG:
tile loop + overviews + GDAL's COG copy), then ``satclip embed -o world.zarr --scheduler local:N`` (chunks embedded
and written by N worker processes, cluster start-up included), and ``--quantize int8`` for both. Each command is a
separate process, so imports and the model load count. Prints seconds, the Zarr/COG time ratio (target <= 0.7 on
2 cores at 0.25 deg) and the output sizes.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_MODEL = REPO / "tests" / "data" / "fixtures" / "satclip_resnet18_l10.ckpt"


def size(path: Path) -> int:
    """Bytes of a file, or of all files under a folder."""
    return path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def timed_embed(args: list[str]) -> float:
    """Wall time of one ``satclip embed`` process (raises if it fails)."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "satclip_cli", "embed", *args, "-q"], check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resolution", type=float, default=0.25)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--model", default=str(DEFAULT_MODEL))
    parser.add_argument("--keep", type=Path, help="write the outputs here instead of a temporary folder")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="embed-zarr-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    grid = ["--bbox", "-180", "-90", "180", "90", "--resolution", str(args.resolution), "--model", args.model,
            "--device", "cpu", "--overwrite"]  # fmt: skip
    cluster = ["--scheduler", f"local:{args.workers}"]
    width, height = round(360 / args.resolution), round(180 / args.resolution)
    print(f"world grid {args.resolution} deg = {width} x {height} = {width * height:,} pixels, model {args.model}")
    print(f"{'output':<34} {'seconds':>8} {'vs COG':>7} {'MB':>9}")
    try:
        rows = []
        for label, name, extra in (
            ("COG float32, in-process", "world.tif", []),
            (f"Zarr float32, local:{args.workers}", "world.zarr", cluster),
            ("COG int8, in-process", "world_int8.tif", ["--quantize", "int8"]),
            (f"Zarr int8, local:{args.workers}", "world_int8.zarr", [*cluster, "--quantize", "int8"]),
        ):
            seconds = timed_embed([*grid, "-o", str(folder / name), *extra])
            rows.append((label, seconds, size(folder / name)))
        cog_seconds = rows[0][1]
        for label, seconds, nbytes in rows:
            print(f"{label:<34} {seconds:>8.1f} {seconds / cog_seconds:>7.2f} {nbytes / 1e6:>9.1f}")
        print(f"int8 size: COG {rows[2][2] / rows[0][2]:.3f}x float32, Zarr {rows[3][2] / rows[1][2]:.3f}x float32")
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
