"""The ``satclip`` command: a Typer app whose subcommands live in ``satclip_cli.commands``.

Only Typer is imported here; each command imports torch, geopandas, rasterio and
the rest inside its function, so that ``satclip --help`` stays fast.
"""

import typer

from satclip_cli.cli import demo, embed, export, models, probe, repack, sample, train
from satclip_cli.cli.error_handling import OneLineUsageErrors

app = typer.Typer(
    name="satclip",
    cls=OneLineUsageErrors,
    help=(
        "SatCLIP global location embeddings: sample Sentinel-2 patches, pretrain a "
        "location encoder, embed points and rasters, and probe downstream tasks. "
        "Coordinates are (lon, lat) in degrees, in that order."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)

app.command("sample", no_args_is_help=True)(sample.sample)
app.command("train", no_args_is_help=True)(train.train)
app.command("embed", no_args_is_help=True)(embed.embed)
app.command("probe", no_args_is_help=True)(probe.probe)
app.command("repack", no_args_is_help=True)(repack.repack)
app.command("export", no_args_is_help=True)(export.export)
app.command("models")(models.models)
app.command("demo")(demo.demo)


def main() -> None:
    """Console-script entry point."""
    app()
