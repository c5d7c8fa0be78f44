"""``satclip embed``: location embeddings for vector files, or rasters of embeddings."""

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from satclip_cli.cli.error_handling import user_errors_exit
from satclip_cli.cli.options import DEFAULT_MODEL, Device, ModelOption, Output, Overwrite, Quiet, flag_name
from satclip_cli.errors import render_settings
from satclip_cli.utils.startup import freeze_at_exit, no_garbage_collection


class PolygonMode(StrEnum):
    representative = "representative"
    mean = "mean"


class SHMethod(StrEnum):
    exact = "exact"
    legacy = "legacy"


class DType(StrEnum):
    float32 = "float32"
    float64 = "float64"


class OutputDType(StrEnum):
    float32 = "float32"
    float16 = "float16"


class Quantize(StrEnum):
    int8 = "int8"


@user_errors_exit
def embed(
    input_path: Annotated[
        Path | None,
        typer.Argument(
            metavar="INPUT",
            help="Points or polygons: GeoPackage, GeoJSON, Shapefile, GeoParquet, FlatGeobuf, or CSV with lon/lat "
            "columns. Omit it to embed a raster grid (--bbox/--resolution or --like).",
        ),
    ] = None,
    output: Output = ...,
    model: ModelOption = DEFAULT_MODEL,
    sh: Annotated[
        SHMethod | None,
        typer.Option(
            "--sh",
            help="Spherical-harmonics evaluation. Default: 'legacy' for official analytic checkpoints with L > 10 "
            "(reproduces the released models), else 'exact'.",
        ),
    ] = None,
    device: Device = "auto",
    dtype: Annotated[DType, typer.Option("--dtype", help="Model precision.")] = DType.float32,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Points per model call.")] = 16384,
    lon_col: Annotated[str | None, typer.Option("--lon-col", help="Longitude column of a CSV (auto-detected).")] = None,
    lat_col: Annotated[str | None, typer.Option("--lat-col", help="Latitude column of a CSV (auto-detected).")] = None,
    layer: Annotated[str | None, typer.Option("--layer", help="Layer of a multi-layer file (default: first).")] = None,
    polygon_mode: Annotated[
        PolygonMode,
        typer.Option(
            "--polygon-mode",
            help="Non-point geometries: embed a representative point, or the mean over --samples points inside.",
        ),
    ] = PolygonMode.representative,
    samples: Annotated[int, typer.Option("--samples", min=1, help="Points per polygon for --polygon-mode mean.")] = 16,
    wide: Annotated[bool, typer.Option("--wide", help="GeoParquet: one column per dimension (emb_000...).")] = False,
    bbox: Annotated[
        tuple[float, float, float, float] | None,
        typer.Option(
            "--bbox",
            metavar="W S E N",
            help="Raster extent, in the units of --crs (default lon/lat). In lon/lat, W > E crosses the antimeridian.",
        ),
    ] = None,
    resolution: Annotated[
        float | None, typer.Option("--resolution", help="Raster pixel size, in the units of --crs (degrees).")
    ] = None,
    like: Annotated[
        Path | None, typer.Option("--like", help="Copy the grid (CRS, extent, size) of this raster.")
    ] = None,
    crs: Annotated[
        str | None, typer.Option("--crs", help="CRS of --bbox/--resolution, e.g. EPSG:3035 (default EPSG:4326).")
    ] = None,
    preview: Annotated[
        Path | None, typer.Option("--preview", help="Also write a PNG of the first 3 PCA components as RGB.")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed for polygon sampling.")] = 0,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            metavar="tcp://HOST:PORT|local:N",
            help="Run on a Dask cluster: the address of a running scheduler, or local:N to start N worker processes "
            "here. Vector output becomes a GeoParquet dataset folder (OUT.parquet/part-00000.parquet ...), raster "
            "output a .zarr store; re-running the same command resumes. Default: in this process.",
        ),
    ] = None,
    output_dtype: Annotated[
        OutputDType,
        typer.Option("--output-dtype", help="Stored dtype of the embeddings (float16: GeoParquet and Zarr)."),
    ] = OutputDType.float32,
    quantize: Annotated[
        Quantize | None,
        typer.Option(
            "--quantize",
            help="Store int8 levels with scale/offset from the model's global range (GeoParquet, Zarr, GeoTIFF); "
            "about 4x smaller.",
        ),
    ] = None,
    partition_rows: Annotated[
        int, typer.Option("--partition-rows", min=1, help="Rows per task and part file with --scheduler.")
    ] = 65536,
    zarr_chunk: Annotated[int, typer.Option("--zarr-chunk", min=16, help="Zarr chunk side, in pixels.")] = 256,
    overwrite: Overwrite = False,
    quiet: Quiet = False,
) -> None:
    """Embed points or polygons of a vector file, or every pixel centre of a raster grid.

    Vector output by extension: .parquet (GeoParquet: input columns + 'embedding'), .csv, .npy.
    Raster output: a Cloud-Optimized GeoTIFF (.tif) with one band per embedding dimension, or a Zarr store
    (.zarr, variable 'embedding' with dims band/y/x, readable by xarray and rioxarray).

    Examples:

        satclip embed cities.gpkg -o cities.parquet

        satclip embed stations.csv --lon-col x --lat-col y -o stations.csv --model satclip-vit16-l40

        satclip embed --bbox -180 -90 180 90 --resolution 0.5 -o world.tif --preview world.png

        satclip embed --bbox -180 -90 180 90 --resolution 0.1 -o world.zarr --scheduler local:4 --quantize int8

        satclip embed gbif.parquet -o gbif_emb.parquet --scheduler tcp://10.0.0.5:8786
    """
    with no_garbage_collection():  # pandas, geopandas, pyarrow
        from satclip_cli.embedding.config import EmbedConfig
        from satclip_cli.embedding.job import run
    freeze_at_exit()  # the exit's garbage collections skip the ~250k long-lived objects (~0.3 s)

    config = EmbedConfig(
        model=model, output=output, input=input_path, sh_method=sh.value if sh else None, device=device,
        dtype=dtype.value, batch_size=batch_size, lon_col=lon_col, lat_col=lat_col, layer=layer,
        polygon_mode=polygon_mode.value, samples=samples, wide=wide, seed=seed, bbox=bbox, resolution=resolution,
        crs=crs, like=like, preview=preview, overwrite=overwrite, scheduler=scheduler,
        output_dtype=output_dtype.value, quantize=quantize.value if quantize else None,
        partition_rows=partition_rows, zarr_chunk=zarr_chunk,
    )  # fmt: skip

    def warn(message: str) -> None:
        print(f"Warning: {render_settings(message, flag_name)}", file=sys.stderr)

    summary = run(config, progress=not quiet, on_warning=warn)
    if not quiet:
        for line in summary.lines():
            print(line, file=sys.stderr)
