"""Bytes and wall time per patch: ``satclip sample``'s windowed COG reads vs a scene-level load, over loopback HTTP.

    python benchmarks/sample_window_reads.py [--scene-px 10980] [--patches 8] [--blocksize 1024] [--workers 1]

Builds, in a temp dir, ONE Sentinel-2 L2A scene laid out like a Planetary Computer item: 12 single-band
COGs (uint16, nodata 0, UTM zone 12N on the grid of MGRS tile 12SVF), 10 m bands ``--scene-px`` square,
20 m bands half that, 60 m bands a sixth; GDAL COG driver, DEFLATE + horizontal predictor,
``--blocksize`` square internal tiles, overviews. 1024 x 1024 tiles are what Earth Search's
``sentinel-cogs`` use and, as far as we know, what Planetary Computer's ``sentinel-2-l2a`` COGs use too
(not checked offline; try ``--blocksize 512``). The pixels are the 23 real 12-band S2 patches in
``<repo>/../shared/data/s2_tiles`` (cropped to 252 px = 2520 m), laid out in a seeded random mosaic with random
flips; 20/60 m bands take every 2nd/6th pixel of the patch. So the compression ratio is that of real imagery,
not of noise. There is no SCL asset (``satclip sample`` reads SCL only with ``--max-cloud-fraction``).
Building the COGs is timed separately and is not part of any measurement.

The COGs are served by ``tests/support/range_http_server.py`` (HTTP range requests, counts body bytes) and
the item by ``rustac serve`` (STAC API). Measured, in the same run:

* windowed, ``satclip sample``: a whole sampling run (STAC search, windowed reads of the 12 bands,
  quality check, patch write) of ``--patches`` 256 x 256 px patches at random points inside the scene;
  seconds per patch = job wall time / patches written (includes the job's set-up and index writing).
* windowed, ``read_patch`` only: the same windows (``window_around`` the job's patch centres) read again one
  at a time with ``read_patch``; gives the per-patch spread and the bytes per band resolution.
* reference, scene-level load: the 12 band assets read whole at native resolution (what stackstac or
  odc-stac transfer to load the scene, then cut a patch from it), bands in parallel on as many threads as
  the job's band pool; done once, since it is the same for every patch.

Bytes are HTTP response body bytes counted by the server (MB = 10^6 bytes); times are wall-clock seconds.
Every measurement reads its own copy of the files under its own URLs (hard links), and
``CPL_VSIL_CURL_NON_CACHED`` makes GDAL drop what it cached of a file when the file is closed, so every
patch starts cold like a patch from a new scene does in a real (global) run; nothing is shared between the
measurements. STAC search traffic (to rustac) is not counted.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from affine import Affine
from pyproj import Transformer

from satclip_cli.dataset.sentinel2 import BAND_RESOLUTION_M, S2_BANDS
from satclip_cli.sampling.config import RunOptions, SampleConfig, SampleSettings
from satclip_cli.sampling.job import run as sample
from satclip_cli.sampling.reader import REMOTE_GDAL_OPTIONS, read_patch
from satclip_cli.sampling.retry import RetryPolicy
from satclip_cli.sampling.scene_item import SceneItem
from satclip_cli.sampling.window import window_around

REPO = Path(__file__).resolve().parents[1]
TILES_DIR = REPO.parent / "shared" / "data" / "s2_tiles"
sys.path.insert(0, str(REPO))  # the loopback servers of tests/support

from tests.support.range_http_server import RangeHTTPServer  # noqa: E402
from tests.support.rustac_server import RustacError, RustacServer  # noqa: E402
from tests.support.s2_stac_fixture import (  # noqa: E402
    COG_MEDIA_TYPE,
    LICENSE_LINK,
    STAC_EXTENSIONS,
    densified_ring,
    make_collection,
    write_cog,
)

# The scene: MGRS tile 12SVF (Colorado Plateau; its 10980 px grid as given in the source patches' tags).
EPSG = 32612
MGRS_TILE = "12SVF"
LEFT, TOP = 399960.0, 4100040.0
DATETIME = "2022-06-14T18:09:21.024000Z"
ITEM_ID = "S2A_MSIL2A_20220614T180921_R041_T12SVF_20220615T052034"
CELL_PX = 252  # source patches are cropped to 252 x 252 px (divisible by 2 and 6)
PATCH_PX = 256
EDGE_MARGIN_M = 2000.0  # sampled points stay this far inside the scene, so every 2560 m window fits
MB = 1e6


def load_source_patches(tiles_dir: Path) -> np.ndarray:
    """The real S2 patches as ``(n, 12, 252, 252) uint16`` in :data:`S2_BANDS` order; exits when missing."""
    paths = sorted(tiles_dir.glob("patch_*.tif"))
    if not paths:
        sys.exit(f"error: no Sentinel-2 patches (patch_*.tif) in {tiles_dir}; this benchmark needs the shared data")
    patches = []
    for path in paths:
        with rasterio.open(path) as src:
            patches.append(src.read(window=((0, CELL_PX), (0, CELL_PX))))
    return np.stack(patches)


def mosaic_band(
    patches: np.ndarray, band: int, factor: int, size: int, choice: np.ndarray, flips: np.ndarray
) -> np.ndarray:
    """A ``size`` x ``size`` band at ``factor`` x 10 m: cell (i, j) is patch ``choice[i, j]`` with ``flips[i, j]``.

    Cells are 252 / ``factor`` px: every ``factor``-th pixel of the patch (real 20/60 m values, not averages).
    """
    cell = CELL_PX // factor
    cells = math.ceil(size / cell)
    out = np.empty((cells * cell, cells * cell), dtype=np.uint16)
    for i in range(cells):
        for j in range(cells):
            pixels = patches[choice[i, j], band, ::factor, ::factor]
            if flips[i, j] & 1:
                pixels = pixels[::-1]
            if flips[i, j] & 2:
                pixels = pixels[:, ::-1]
            out[i * cell : (i + 1) * cell, j * cell : (j + 1) * cell] = pixels
    return out[:size, :size]


def band_path(band: str) -> str:
    """Path of a band's COG below a served directory, in Planetary Computer's layout."""
    gsd = BAND_RESOLUTION_M[band]
    return f"{ITEM_ID}/IMG_DATA/R{gsd}m/T{MGRS_TILE}_{ITEM_ID.split('_')[2]}_{band}_{gsd}m.tif"


def build_scene(cog_dir: Path, patches: np.ndarray, scene_px: int, blocksize: int, seed: int) -> None:
    """Write the 12 band COGs below ``cog_dir``."""
    rng = np.random.default_rng(seed)
    cells = math.ceil(scene_px / CELL_PX)
    choice = rng.integers(0, patches.shape[0], (cells, cells))
    flips = rng.integers(0, 4, (cells, cells))
    for index, band in enumerate(S2_BANDS):
        gsd = BAND_RESOLUTION_M[band]
        factor = gsd // 10
        array = mosaic_band(patches, index, factor, scene_px // factor, choice, flips)
        transform = Affine(float(gsd), 0.0, LEFT, 0.0, -float(gsd), TOP)
        write_cog(cog_dir / band_path(band), array, EPSG, transform, blocksize, categorical=False)


def footprint(scene_px: int, per_side: int = 16) -> list[list[float]]:
    """The scene square as a closed lon/lat ring (degrees), densified."""
    size = scene_px * 10.0
    return densified_ring(EPSG, (LEFT, TOP - size, LEFT + size, TOP), per_side)


def inner_bbox(scene_px: int, margin_m: float) -> str:
    """``W,S,E,N`` degrees of a lon/lat box inside the scene shrunk by ``margin_m`` metres on every side."""
    size = scene_px * 10.0 - 2 * margin_m
    t = np.linspace(0.0, 1.0, 33)
    to_lonlat = Transformer.from_crs(EPSG, 4326, always_xy=True)
    left, top = LEFT + margin_m, TOP - margin_m
    west = np.max(to_lonlat.transform(np.full_like(t, left), top - size * t)[0])
    east = np.min(to_lonlat.transform(np.full_like(t, left + size), top - size * t)[0])
    south = np.max(to_lonlat.transform(left + size * t, np.full_like(t, top - size))[1])
    north = np.min(to_lonlat.transform(left + size * t, np.full_like(t, top))[1])
    return f"{west},{south},{east},{north}"


def make_item(base_url: str, scene_px: int) -> dict[str, Any]:
    """The STAC item, laid out like Planetary Computer's ``sentinel-2-l2a`` items (``proj:epsg``, asset grids)."""
    assets: dict[str, Any] = {}
    for band in sorted(S2_BANDS):
        gsd = BAND_RESOLUTION_M[band]
        n = scene_px * 10 // gsd
        assets[band] = {
            "href": f"{base_url}/{band_path(band)}",
            "proj:bbox": [LEFT, TOP - n * gsd, LEFT + n * gsd, TOP],
            "proj:shape": [n, n],
            "proj:transform": [float(gsd), 0.0, LEFT, 0.0, -float(gsd), TOP],
            "gsd": float(gsd),
            "type": COG_MEDIA_TYPE,
            "roles": ["data"],
            "title": f"Band {band.lstrip('B0')} - {gsd}m",
            "eo:bands": [{"name": band}],
        }
    ring = footprint(scene_px)
    lons, lats = [p[0] for p in ring], [p[1] for p in ring]
    return {
        "id": ITEM_ID,
        "bbox": [min(lons), min(lats), max(lons), max(lats)],
        "type": "Feature",
        "links": [dict(LICENSE_LINK)],
        "assets": assets,
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "collection": "sentinel-2-l2a",
        "properties": {
            "datetime": DATETIME,
            "platform": "Sentinel-2A",
            "proj:epsg": EPSG,
            "instruments": ["msi"],
            "s2:mgrs_tile": MGRS_TILE,
            "constellation": "Sentinel 2",
            "eo:cloud_cover": 1.0,
            "s2:product_type": "S2MSI2A",
            "sat:relative_orbit": 41,
            "s2:processing_baseline": "04.00",
        },
        "stac_extensions": list(STAC_EXTENSIONS),
        "stac_version": "1.0.0",
    }


def link_tree(source: Path, target: Path) -> None:
    """Hard-link every file below ``source`` into ``target`` (same bytes, other URLs: no shared GDAL cache)."""
    for path in source.rglob("*.tif"):
        link = target / path.relative_to(source)
        link.parent.mkdir(parents=True, exist_ok=True)
        os.link(path, link)


def gets(server: RangeHTTPServer, prefix: str) -> int:
    """Number of GET requests below ``prefix`` since the last counter reset."""
    return sum(1 for record in server.request_log if record.method == "GET" and record.path.startswith(prefix))


def read_whole_band(href: str) -> tuple[int, int]:
    """Read band 1 of ``href`` at native resolution, as a scene-level load does; returns its shape."""
    with rasterio.Env(**REMOTE_GDAL_OPTIONS), rasterio.open(href) as src:
        return src.read(1).shape


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scene-px", type=int, default=10980, help="10 m pixels per scene side (multiple of 6)")
    parser.add_argument("--patches", type=int, default=8, help="patches to sample from the scene")
    parser.add_argument("--blocksize", type=int, default=1024, help="COG internal tile size in pixels")
    parser.add_argument("--workers", type=int, default=1, help="satclip sample --workers (patches in parallel)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the mosaic and of the sampled points")
    parser.add_argument(
        "--keep", type=Path, help="build in this new directory and keep it (default: a deleted temp dir)"
    )
    args = parser.parse_args()
    if args.scene_px % 6 or args.scene_px < 600:  # points stay EDGE_MARGIN_M inside the scene
        parser.error("--scene-px must be a multiple of 6 and at least 600")
    if not (TILES_DIR / "index.csv").is_file():
        sys.exit(f"error: {TILES_DIR} not found; this benchmark needs the shared Sentinel-2 patches there")

    if args.keep:
        args.keep.mkdir(parents=True)
        workdir = args.keep
    else:
        workdir = Path(tempfile.mkdtemp(prefix="satclip-window-bench-"))
    server: RangeHTTPServer | None = None
    rustac: RustacServer | None = None
    try:
        root = workdir / "served"
        start = time.perf_counter()
        build_scene(root / "cogs", load_source_patches(TILES_DIR), args.scene_px, args.blocksize, args.seed)
        build_seconds = time.perf_counter() - start
        cog_bytes = sum(path.stat().st_size for path in (root / "cogs").rglob("*.tif"))
        pixels = sum((args.scene_px * 10 // BAND_RESOLUTION_M[band]) ** 2 for band in S2_BANDS)
        for name in ("windowed", "reads", "full"):
            link_tree(root / "cogs", root / name)

        server = RangeHTTPServer(root).start()
        # Forget a file's cached bytes when it is closed: every patch reads cold, as from a new scene.
        os.environ["CPL_VSIL_CURL_NON_CACHED"] = f"/vsicurl/{server.url}/"
        item = make_item(f"{server.url}/windowed", args.scene_px)
        (workdir / "items.json").write_text(_json({"type": "FeatureCollection", "features": [item]}))
        collection = make_collection([item])
        collection["description"] = "One synthetic full-size Sentinel-2 L2A scene for benchmarks/sample_window_reads.py"
        (workdir / "collection.json").write_text(_json(collection))
        try:
            rustac = RustacServer(workdir / "collection.json", workdir / "items.json").start()
        except RustacError as error:
            sys.exit(f"error: {error}")

        n20, n60 = args.scene_px // 2, args.scene_px // 6
        print(
            f"scene: EPSG:{EPSG} (MGRS {MGRS_TILE} grid), 10 m bands {args.scene_px} px, 20 m {n20} px, 60 m {n60} px; "
            f"{args.blocksize} px DEFLATE tiles + overviews"
        )
        print(
            f"COG build: {build_seconds:.1f} s (not measured); 12 COGs {cog_bytes / MB:,.1f} MB "
            f"= {cog_bytes / pixels:.2f} bytes/pixel incl. overviews (raw uint16: 2)"
        )
        band_threads = min(32, max(4, 4 * args.workers))  # as the sampling job sizes its band pool
        print(
            f"{args.patches} patches of {PATCH_PX} x {PATCH_PX} px at 10 m, seed {args.seed}, "
            f"{args.workers} worker(s), {band_threads} band threads; every file read starts with a cold GDAL cache"
        )

        # (a) ours, end to end: satclip sample.
        settings = SampleSettings(
            n=args.patches,
            seed=args.seed,
            size=PATCH_PX,
            bbox=inner_bbox(args.scene_px, EDGE_MARGIN_M),
            land_only=False,
            stac_url=rustac.url,
        )
        options = RunOptions(workers=args.workers, sign=False, retry=RetryPolicy(attempts=1))
        server.reset_counters()
        summary = sample(SampleConfig(workdir / "dataset", settings, options), progress=False)
        written = max(1, summary.written)
        job_bytes = server.bytes_sent_for("/windowed/") / written
        job_gets = gets(server, "/windowed/") / written
        job_seconds = summary.seconds / written
        if summary.written != args.patches:
            print("note: " + " | ".join(summary.lines()))

        # (a') ours, reads only: the job's windows again, one at a time.
        scene = SceneItem.from_stac(item)
        scene = dataclasses.replace(
            scene, hrefs={k: v.replace("/windowed/", "/reads/") for k, v in scene.hrefs.items()}
        )
        with (workdir / "dataset" / "index.csv").open() as fh:
            centres = [(float(row["lon"]), float(row["lat"])) for row in csv.DictReader(fh)]
        read_bytes: list[int] = []
        read_seconds: list[float] = []
        read_gets: list[int] = []
        by_resolution: dict[int, int] = defaultdict(int)
        with ThreadPoolExecutor(band_threads) as pool:
            for lon, lat in centres:
                window = window_around(scene, lon, lat, PATCH_PX)
                assert window.inside_item
                server.reset_counters()
                start = time.perf_counter()
                read_patch(window, pool)
                read_seconds.append(time.perf_counter() - start)
                read_bytes.append(server.bytes_sent_for("/reads/"))
                read_gets.append(gets(server, "/reads/"))
                for record in server.request_log:
                    band = record.path.rsplit("_", 2)[-2]
                    by_resolution[BAND_RESOLUTION_M[band]] += record.body_bytes

        # (b) reference: a scene-level load, every band read whole.
        server.reset_counters()
        hrefs = [f"{server.url}/full/{band_path(band)}" for band in S2_BANDS]
        start = time.perf_counter()
        with ThreadPoolExecutor(band_threads) as pool:
            shapes = list(pool.map(read_whole_band, hrefs))
        full_seconds = time.perf_counter() - start
        full_bytes = server.bytes_sent_for("/full/")
        full_gets = gets(server, "/full/")
        assert shapes[S2_BANDS.index("B02")] == (args.scene_px, args.scene_px)

        mean_bytes = statistics.fmean(read_bytes)
        print()
        print(f"{'per patch':<42} {'MB':>9} {'seconds':>8} {'GETs':>6}")
        print(f"{'windowed: satclip sample job':<42} {job_bytes / MB:>9.2f} {job_seconds:>8.3f} {job_gets:>6.1f}")
        print(
            f"{'windowed: read_patch only (mean)':<42} {mean_bytes / MB:>9.2f} "
            f"{statistics.fmean(read_seconds):>8.3f} {statistics.fmean(read_gets):>6.1f}"
        )
        print(
            f"{'  min / median / max MB':<42} {min(read_bytes) / MB:.2f} / {statistics.median(read_bytes) / MB:.2f} / "
            f"{max(read_bytes) / MB:.2f}"
        )
        counts = {gsd: sum(1 for band in S2_BANDS if BAND_RESOLUTION_M[band] == gsd) for gsd in (10, 20, 60)}
        print(
            "  by band resolution (mean MB): "
            + ", ".join(f"{gsd} m ({counts[gsd]} bands) {by_resolution[gsd] / len(centres) / MB:.2f}" for gsd in counts)
        )
        reference = "reference: full scene load (12 bands)"
        print(f"{reference:<42} {full_bytes / MB:>9.2f} {full_seconds:>8.3f} {full_gets:>6d}")
        print()
        bytes_ratio = full_bytes / job_bytes
        print(
            f"full / windowed: {bytes_ratio:.1f}x bytes, {full_seconds / job_seconds:.1f}x time "
            f"(job); {full_bytes / mean_bytes:.1f}x bytes, {full_seconds / statistics.fmean(read_seconds):.1f}x time "
            "(read_patch only)"
        )
        verdict = "met" if bytes_ratio >= 10 else "NOT met"
        print(f"target >= 10x fewer bytes per patch: {verdict} ({bytes_ratio:.1f}x)")
    finally:
        if rustac is not None:
            rustac.stop()
        if server is not None:
            server.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def _json(value: Any) -> str:
    return json.dumps(value, indent=1)


if __name__ == "__main__":
    main()
