"""``satclip export``: the location encoder of a checkpoint alone, as safetensors + JSON config."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from satclip_cli.cli.error_handling import user_errors_exit
from satclip_cli.cli.options import Overwrite, Quiet


@user_errors_exit
def export(
    checkpoint: Annotated[
        Path, typer.Argument(metavar="CKPT", help="A SatCLIP Lightning checkpoint (satclip train or the original).")
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Output .safetensors (its .json config is written beside it).")
    ],
    overwrite: Overwrite = False,
    quiet: Quiet = False,
) -> None:
    """Write the location encoder of CKPT as OUTPUT.safetensors + OUTPUT.json (a few MB, no vision weights).

    `satclip embed --model OUTPUT.safetensors` reads it.
    """
    from satclip_cli.models.checkpoints import export_location_encoder

    written = export_location_encoder(checkpoint, output, overwrite=overwrite)
    if not quiet:
        size = written.stat().st_size / 1e6
        print(f"Wrote {written} ({size:.1f} MB) and {written.with_suffix('.json').name}", file=sys.stderr)
