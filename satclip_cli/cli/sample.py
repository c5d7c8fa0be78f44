"""``satclip sample``: build an S2-100K-style dataset of Sentinel-2 L2A patches from a STAC API.

``--source bluemarble`` instead cuts RGB patches from NASA's Blue Marble mosaic shipped in the ``demo``
extra (no network), in the same dataset layout.
"""

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from satclip_cli.cli.error_handling import user_errors_exit
from satclip_cli.cli.options import Quiet
from satclip_cli.sampling.sources.planetary_computer import PLANETARY_COMPUTER_STAC_URL


class Source(StrEnum):
    stac = "stac"
    bluemarble = "bluemarble"


class Strategy(StrEnum):
    points = "points"
    scenes = "scenes"


class ItemOrder(StrEnum):
    least_cloudy = "least-cloudy"
    random = "random"


class Resampling(StrEnum):
    nearest = "nearest"
    bilinear = "bilinear"
    cubic = "cubic"
    average = "average"


DEFAULT_OUT = "s2-100k"
"""Where ``satclip sample`` writes without ``--out`` (and where ``satclip train`` reads by default)."""
DEFAULT_BLUEMARBLE_OUT = "bluemarble"
"""Where ``satclip sample --source bluemarble`` writes without ``--out``."""


@user_errors_exit
def sample(
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Dataset folder (created; re-running resumes it) [default: ./s2-100k; ./bluemarble with "
            "--source bluemarble].",
            show_default=False,
        ),
    ] = None,
    n: Annotated[int, typer.Option("--n", min=1, help="Number of patches in the dataset.")] = 100_000,
    source: Annotated[
        Source,
        typer.Option(
            "--source",
            help="stac: Sentinel-2 L2A scenes of --stac-url (or --items). bluemarble: 3-band RGB uint8 patches "
            "of NASA's Blue Marble mosaic (1/15 degree pixels, no network; pip install 'satclip\\[demo]'); the "
            "search, scene and cloud options are then ignored.",
        ),
    ] = Source.stac,
    strategy: Annotated[
        Strategy,
        typer.Option(
            "--strategy",
            help="points: area-uniform points, each searched on the STAC API. scenes: random windows of random "
            "scenes from --items (how S2-100K was made).",
        ),
    ] = Strategy.points,
    items: Annotated[
        Path | None, typer.Option("--items", help="Scene list for --strategy scenes (stac-geoparquet or JSON).")
    ] = None,
    bbox: Annotated[
        tuple[float, float, float, float] | None,
        typer.Option(
            "--bbox", metavar="W S E N", help="Only points in this lon/lat box (degrees; W > E crosses 180°)."
        ),
    ] = None,
    region: Annotated[
        Path | None, typer.Option("--region", help="Only points inside the polygons of this vector file.")
    ] = None,
    per_polygon: Annotated[
        bool,
        typer.Option(
            "--per-polygon",
            help="With --region: patch i lies in feature i mod K of the file (its K polygon features in file "
            "order), area-uniform inside it, so --n K gives one patch per feature (e.g. per field site).",
        ),
    ] = False,
    land_only: Annotated[
        bool,
        typer.Option("--land-only/--anywhere", help="Reject points off land (5′ mask shipped with satclip)."),
    ] = True,
    seed: Annotated[int, typer.Option("--seed", help="Seed: patch i is the same whatever the shard or re-run.")] = 0,
    stac_url: Annotated[str, typer.Option("--stac-url", help="STAC API to search.")] = PLANETARY_COMPUTER_STAC_URL,
    collection: Annotated[str, typer.Option("--collection", help="Collection of L2A items.")] = "sentinel-2-l2a",
    start: Annotated[str, typer.Option("--start", help="First acquisition date (YYYY-MM-DD).")] = "2021-01-01",
    end: Annotated[str, typer.Option("--end", help="Last acquisition date (YYYY-MM-DD).")] = "2023-05-17",
    max_cloud: Annotated[
        float, typer.Option("--max-cloud", help="Largest scene cloud cover (eo:cloud_cover), in percent.")
    ] = 10.0,
    order: Annotated[
        ItemOrder, typer.Option("--order", help="Which matching scene to try first at a point.")
    ] = ItemOrder.least_cloudy,
    size: Annotated[
        int | None,
        typer.Option(
            "--size",
            help="Patch width and height in pixels: 10 m pixels for stac (default 256), 1/15 degree for bluemarble "
            "(default 32).",
        ),
    ] = None,
    resampling: Annotated[
        Resampling, typer.Option("--resampling", help="How 20 m and 60 m bands are resampled onto the 10 m grid.")
    ] = Resampling.nearest,
    max_nodata: Annotated[
        float, typer.Option("--max-nodata", help="Reject a patch with more nodata pixels than this fraction.")
    ] = 0.1,
    max_cloud_fraction: Annotated[
        float | None,
        typer.Option(
            "--max-cloud-fraction",
            help="Reject a patch whose cloud/cirrus/shadow pixels (SCL layer, read for the window) exceed this "
            "fraction.",
        ),
    ] = None,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Patches made in parallel.")] = 4,
    shard: Annotated[
        str, typer.Option("--shard", metavar="K/N", help="Make only shard K of N (1-based), e.g. for array jobs.")
    ] = "1/1",
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            metavar="ADDRESS",
            help="Make the patches on a Dask cluster: tcp://HOST:PORT (a running scheduler; every worker needs "
            "satclip installed and the --out folder at the same path) or local:N (N worker processes on this "
            "machine, for this run). --workers then counts patches made in parallel per Dask worker. Default: in "
            "this process.",
        ),
    ] = None,
    retries: Annotated[
        int,
        typer.Option(
            "--retries", min=0, help="Retries of a failed search or read (exponential backoff) before it is skipped."
        ),
    ] = 4,
    sign: Annotated[
        bool | None,
        typer.Option(
            "--sign/--no-sign",
            help="Sign asset URLs with the planetary-computer package (default: for Planetary Computer URLs; "
            "PC_SDK_SUBSCRIPTION_KEY is honoured).",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what would be searched and where; read no pixels.")
    ] = False,
    quiet: Quiet = False,
) -> None:
    """Sample Sentinel-2 L2A patches (12 bands, uint16, 10 m) around places on land, S2-100K style.

    Writes `DIR/images/patch_<i>.tif`, DIR/index.csv (fn,lon,lat, as the original S2-100K loader reads)
    and DIR/index.parquet (GeoParquet with provenance). Only the window of each band is read (HTTP range
    requests). Re-running the same command resumes; errors are retried, then skipped and listed in
    DIR/sampling/failures-*.jsonl.

    Examples:

        satclip sample --n 100000 --out s2-100k --workers 16

        satclip sample --n 2000 --bbox 5 45 11 48 --out alps --start 2023-06-01 --end 2023-09-30

        satclip sample --n 50 --region sites.gpkg --per-polygon --out sites   (sites.gpkg: 50 sites, one patch each)

        satclip sample --n 1000 --out ds --shard 2/4   (one of four array jobs)

        satclip sample --n 100000 --out /shared/s2-100k --scheduler tcp://10.0.0.5:8786   (a Dask cluster)

        satclip sample --source bluemarble --n 2000 --out demo   (no network; pip install 'satclip[demo]')
    """
    from satclip_cli.sampling.config import DEFAULT_SIZES, RunOptions, SampleConfig, SampleSettings, Shard
    from satclip_cli.sampling.job import plan, run
    from satclip_cli.sampling.retry import RetryPolicy
    from satclip_cli.sampling.summary import SampleSummary

    settings = SampleSettings(
        n=n,
        seed=seed,
        source=source.value,
        size=size if size is not None else DEFAULT_SIZES[source.value],
        strategy=strategy.value,
        bbox=",".join(f"{value:g}" for value in bbox) if bbox else None,
        region=str(region.resolve()) if region else None,
        land_only=land_only,
        per_polygon=per_polygon,
        items=str(items.resolve()) if items else None,
        stac_url=stac_url,
        collection=collection,
        start=start,
        end=end,
        max_cloud=max_cloud,
        order=order.value,
        resampling=resampling.value,
        max_nodata_fraction=max_nodata,
        max_cloud_fraction=max_cloud_fraction,
    )
    options = RunOptions(
        workers=workers,
        shard=Shard.parse(shard),
        sign=sign,
        retry=RetryPolicy(attempts=retries + 1),
        scheduler=scheduler,
    )
    if out is None:
        out = Path(DEFAULT_BLUEMARBLE_OUT if source == Source.bluemarble else DEFAULT_OUT)
    config = SampleConfig(out=out, settings=settings, options=options)
    if dry_run:
        for line in plan(config):
            print(line)
        return

    def print_summary(summary: SampleSummary) -> None:
        if not quiet or summary.interrupted:
            for line in summary.lines():
                print(line, file=sys.stderr)

    run(config, progress=not quiet, on_finish=print_summary)
