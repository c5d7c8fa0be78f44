"""``satclip train``: contrastive pretraining of a location encoder against Sentinel-2 patches."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from satclip_cli.cli.error_handling import user_errors_exit
from satclip_cli.cli.options import Quiet


@user_errors_exit
def train(
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="Dataset folder: index.csv (fn,lon,lat) + images/ (satclip sample, S2-100K) [default: ./s2-100k, "
            "where satclip sample writes].",
        ),
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="YAML file of settings (names as below); flags override it.")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Run folder: checkpoints/, logs/, config.yaml [default: ./satclip-run]."),
    ] = None,
    max_epochs: Annotated[int | None, typer.Option("--max-epochs", help="Epochs [default: 500].")] = None,
    batch_size: Annotated[
        int | None, typer.Option("--batch-size", help="Pairs per device per micro-batch [default: 512].")
    ] = None,
    accumulate: Annotated[
        int | None,
        typer.Option(
            "--accumulate",
            help="Micro-batches per step, all in ONE contrastive batch (feature cache) [default: 1].",
        ),
    ] = None,
    lr: Annotated[float | None, typer.Option("--lr", help="AdamW learning rate [default: 1e-4].")] = None,
    weight_decay: Annotated[float | None, typer.Option("--weight-decay", help="[default: 0.01]")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed of split, init and augmentation.")] = None,
    legendre_polys: Annotated[
        int | None, typer.Option("--legendre-polys", "-L", help="Spherical-harmonics degrees L [default: 10].")
    ] = None,
    vision: Annotated[
        str | None,
        typer.Option(
            "--vision",
            help="moco-resnet18 (default), moco-resnet50, moco-vit-s16 (frozen SSL4EO-S12 MoCo backbones), "
            "clip-vit, clip-resnet (from scratch).",
        ),
    ] = None,
    vision_weights: Annotated[
        str | None,
        typer.Option("--vision-weights", help="default (published MoCo weights, downloaded once), none, or a file."),
    ] = None,
    image_size: Annotated[
        int | None, typer.Option("--image-size", help="Crop fed to the vision encoder, px (default: its own).")
    ] = None,
    num_workers: Annotated[int | None, typer.Option("--num-workers", help="Data-loading processes.")] = None,
    gpus: Annotated[int | None, typer.Option("--gpus", help="GPUs per node (0: CPU). Default: all visible.")] = None,
    accelerator: Annotated[str | None, typer.Option("--accelerator", help="auto, cpu, gpu or mps.")] = None,
    devices: Annotated[
        int | None, typer.Option("--devices", help="Processes per node on --accelerator (e.g. 2 CPU processes).")
    ] = None,
    nodes: Annotated[int | None, typer.Option("--nodes", help="Nodes (torchrun / SLURM).")] = None,
    precision: Annotated[
        str | None, typer.Option("--precision", help="32-true, bf16-mixed, 16-mixed (default: bf16 on GPUs).")
    ] = None,
    compile_model: Annotated[bool, typer.Option("--compile", help="torch.compile the vision encoder.")] = False,
    cache_features: Annotated[
        bool,
        typer.Option(
            "--cache-features",
            help="Frozen backbone: compute its features for fixed views of every tile once, then train on them.",
        ),
    ] = False,
    cache_views: Annotated[
        int | None,
        typer.Option(
            "--cache-views", help="Views cached per tile: 4 = the flips of the augmentation (default), 8 = + rotations."
        ),
    ] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the run in --out from its last.ckpt.")] = False,
    quiet: Quiet = False,
) -> None:
    """Pretrain a SatCLIP location encoder (SH + SIREN) contrastively against Sentinel-2 patches.

    The defaults reproduce the released models (L=10, SIREN 512 x 2, 256-d, MoCo ResNet-18, 500 epochs).
    Checkpoints keep the original layout: `satclip embed --model OUT/checkpoints/last.ckpt` and the
    original loader both read them.

    Examples:

        satclip train --gpus 1   (reads ./s2-100k, writes ./satclip-run)

        satclip train --data s2-100k --out run1 --gpus 1

        satclip train --data s2-100k --out run2 --gpus 4 --nodes 2 --accumulate 4 -L 40

        satclip train --config my.yaml --cache-features
    """
    from satclip_cli.training.config import TrainConfig
    from satclip_cli.training.job import run as run_training

    settings = TrainConfig.from_yaml(config) if config is not None else TrainConfig()
    if gpus is not None:
        accelerator, devices = ("cpu", devices) if gpus == 0 else ("gpu", gpus)
    settings = settings.override(
        data=str(data) if data is not None else None,
        out=str(out) if out is not None else None,
        max_epochs=max_epochs,
        batch_size=batch_size,
        accumulate=accumulate,
        lr=lr,
        weight_decay=weight_decay,
        seed=seed,
        legendre_polys=legendre_polys,
        vision=vision,
        vision_weights=vision_weights,
        image_size=image_size,
        num_workers=num_workers,
        accelerator=accelerator,
        devices=devices,
        nodes=nodes,
        precision=precision,
        compile=compile_model or None,
        cache_features=cache_features or None,
        cache_views=cache_views,
        resume=resume or None,
    )
    summary = run_training(settings, progress=not quiet, notify=None if quiet else _print_to_stderr)
    if not quiet:
        for line in summary.lines():
            print(line, file=sys.stderr)


def _print_to_stderr(line: str) -> None:
    print(line, file=sys.stderr)
