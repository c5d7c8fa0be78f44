"""``satclip demo``: sample -> train -> embed -> probe, offline, on a laptop CPU."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from satclip_cli.cli.error_handling import user_errors_exit
from satclip_cli.cli.options import Quiet


@user_errors_exit
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for everything the demo makes.")] = Path(
        "satclip-demo"
    ),
    n: Annotated[int, typer.Option("--n", min=20, help="Blue Marble patches to sample.")] = 3000,
    epochs: Annotated[int, typer.Option("--epochs", min=1, help="Training epochs.")] = 12,
    seeds: Annotated[int, typer.Option("--seeds", min=1, help="Probe repetitions.")] = 3,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir", help="Local copies of probe data (as satclip probe --data-dir) for air temperature."
        ),
    ] = None,
    quiet: Quiet = False,
) -> None:
    """Run the whole pipeline offline: sample Blue Marble patches, train a location encoder on the CPU,
    embed example points and a world raster (with a PCA picture), and probe it against baselines.

    Needs the demo extra: pip install 'satclip[demo]'. About a minute on 2 CPU cores.
    Re-running continues where it stopped.
    """
    from satclip_cli.cli.demo_pipeline import DemoOptions, run_demo

    report = run_demo(
        DemoOptions(out=out, n=n, epochs=epochs, seeds=seeds, data_dir=data_dir), progress=not quiet, stdout=sys.stdout
    )
    if quiet:
        return
    print("\nsatclip demo:", file=sys.stderr)
    for step, seconds, what in report.steps:
        print(f"  {step:<7} {seconds:6.0f} s  {what}", file=sys.stderr)
    for note in report.notes:
        print(f"  Note: {note}", file=sys.stderr)
    print("  Pictures: " + ", ".join(str(path) for path in report.pictures), file=sys.stderr)
