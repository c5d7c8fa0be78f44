"""``satclip probe``: downstream evaluation of location encoders against honest baselines."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from satclip_cli.cli.error_handling import user_errors_exit
from satclip_cli.cli.options import Device, Quiet


@user_errors_exit
def probe(
    task: Annotated[
        list[str] | None,
        typer.Option("--task", "-t", help="Task name (repeatable) or 'all'; see --list-tasks."),
    ] = None,
    model: Annotated[
        list[str] | None,
        typer.Option("--model", "-m", help="Encoder to evaluate (repeatable): released name, .ckpt or .safetensors."),
    ] = None,
    baselines: Annotated[
        str | None,
        typer.Option(
            "--baselines",
            help="Comma-separated baselines: coords, sh10, sh40, geoclip (default: coords,sh10,sh40 + geoclip when "
            "installed), or 'none'.",
        ),
    ] = None,
    probe_kind: Annotated[
        list[str] | None, typer.Option("--probe", help="linear (default), mlp, knn (repeatable).")
    ] = None,
    split: Annotated[
        list[str] | None,
        typer.Option(
            "--split",
            help="random (default), spatial-block (K-fold over equal-area blocks), holdout-africa, holdout-asia "
            "(repeatable).",
        ),
    ] = None,
    folds: Annotated[
        int | None,
        typer.Option(
            "--folds",
            help="K of K-fold cross-validation: spatial-block always (default 5); random too when given "
            "(else one 60/20/20 split per seed). Every point is tested once per seed.",
        ),
    ] = None,
    block_size: Annotated[
        float,
        typer.Option("--block-size", metavar="KM", help="Edge of the equal-area blocks of --split spatial-block, km."),
    ] = 500.0,
    bootstrap: Annotated[
        int,
        typer.Option(
            "--bootstrap",
            help="Bootstrap replicates of the 95 % intervals (over test points, pooled over seeds and folds); "
            "0 for none.",
        ),
    ] = 1000,
    few_shot: Annotated[
        float | None,
        typer.Option("--few-shot", help="With a hold-out split: this fraction of the held-out continent trains too."),
    ] = None,
    seeds: Annotated[int, typer.Option("--seeds", help="Repetitions (splits, MLP init); mean ± std.")] = 5,
    n_points: Annotated[
        int | None, typer.Option("--n-points", help="Points sampled for polygon/grid tasks (default per task).")
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Local copies of the sources, laid out `DIR/<dataset>/<original file name>`."),
    ] = None,
    data: Annotated[
        Path | None, typer.Option("--data", help="A custom task: any vector file or CSV with lon/lat.")
    ] = None,
    target: Annotated[str | None, typer.Option("--target", help="Target column of --data.")] = None,
    task_type: Annotated[
        str | None, typer.Option("--type", help="regression or classification (default: guessed from --target).")
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Report folder.")] = Path("probe-results"),
    maps: Annotated[
        bool, typer.Option("--maps/--no-maps", help="PNG maps per task (truth, prediction, error).")
    ] = True,
    list_tasks: Annotated[bool, typer.Option("--list-tasks", help="List the tasks and exit.")] = False,
    device: Device = "auto",
    quiet: Quiet = False,
) -> None:
    """Evaluate location encoders on downstream tasks with linear, MLP or KNN probes.

    Every model is compared with baselines (raw coordinates, spherical harmonics alone), on random or
    continent hold-out splits, or K-fold over random folds or equal-area spatial blocks (the field's
    standard: a random split flatters encoders that interpolate), over several seeds. Every metric comes
    with a bootstrap 95 % interval; the table marks as best every encoder whose interval overlaps the
    best one's. Writes OUT/results.json, OUT/results.csv, `OUT/maps/<task>.png` (and
    `OUT/maps/<task>_blocks.png`, the fold layout), and prints a table per task (and a mean-rank summary
    for several tasks).

    Examples:

        satclip probe --task air-temperature --model satclip-resnet50-l10

        satclip probe --task all --model my-run/checkpoints/last.ckpt --probe linear --probe mlp

        satclip probe --task air-temperature --split random --split spatial-block --folds 5 --block-size 500

        satclip probe --data stations.gpkg --target yield --split holdout-africa --few-shot 0.05
    """
    from satclip_cli.cli import probe_run

    if list_tasks:
        probe_run.print_tasks()
        return
    probe_run.run(
        tasks=task or [],
        models=model or [],
        baselines=baselines,
        probes=probe_kind or ["linear"],
        splits=split or ["random"],
        folds=folds,
        block_size_km=block_size,
        bootstrap=bootstrap,
        few_shot=few_shot,
        seeds=seeds,
        n_points=n_points,
        data_dir=data_dir,
        data=data,
        target=target,
        task_type=task_type,
        out=out,
        maps=maps,
        device=device,
        quiet=quiet,
        stdout=sys.stdout,
    )
