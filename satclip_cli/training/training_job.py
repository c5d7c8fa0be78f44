"""The work behind ``satclip train``: build the model, data and Lightning ``Trainer`` from a config, then fit.

Outputs in ``config.out``: ``checkpoints/last.ckpt`` and the best checkpoint by validation loss
(the original Lightning layout, readable by the original loader and by ``satclip embed``),
``logs/`` (TensorBoard and CSV), ``config.yaml`` (the settings of the run).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from satclip_cli.checkpoints import official_location_hparams
from satclip_cli.errors import InputError, SatclipError
from satclip_cli.location_encoder import LocationEncoderConfig, build_location_encoder
from satclip_cli.training.train_config import TrainConfig

CHECKPOINT_DIR = "checkpoints"
LAST_CHECKPOINT = "last.ckpt"


class TrainingFailedError(SatclipError):
    """Training stopped: the loss diverged, or the run cannot continue."""


@dataclass
class TrainSummary:
    """Where a finished run left its results."""

    out_dir: Path
    last_checkpoint: Path
    best_checkpoint: Path | None
    best_val_loss: float | None
    epochs: int
    steps: int
    seconds: float

    def lines(self) -> list[str]:
        best = f"{self.best_val_loss:.4f}" if self.best_val_loss is not None else "-"
        return [
            f"Trained {self.epochs} epochs ({self.steps:,} steps) in {self.seconds:.0f} s -> {self.out_dir}",
            f"Best validation loss {best}: {self.best_checkpoint or '-'}; last: {self.last_checkpoint}",
            f"Export the location encoder: satclip export {self.last_checkpoint} -o model.safetensors",
        ]


def location_encoder_config(config: TrainConfig) -> LocationEncoderConfig:
    """The location encoder a run trains (always exact spherical harmonics)."""
    return LocationEncoderConfig(
        positional_encoding=config.positional_encoding,
        legendre_polys=config.legendre_polys,
        sh_convention=config.sh_convention,
        sh_method="exact",
        network=config.network,
        embed_dim=config.embed_dim,
        capacity=config.capacity,
        num_hidden_layers=config.num_hidden_layers,
    )


def build_module(config: TrainConfig) -> Any:
    """The :class:`SatCLIPLightningModule` for ``config`` (vision weights loaded, backbone frozen)."""
    from satclip_cli.training.batch_augmentations import BatchAugmentation
    from satclip_cli.training.lightning_module import SatCLIPLightningModule
    from satclip_cli.training.satclip_model import SatCLIPModel
    from satclip_cli.training.vision_encoders import (
        build_vision_encoder,
        frozen_backbone_eval_fn,
        official_vision_hparams,
        vision_encoder_spec,
    )

    spec = vision_encoder_spec(config.vision)
    in_channels = spec.in_channels or 12
    vision_kwargs = {
        "vision_layers": config.vision_layers,
        "vision_width": config.vision_width,
        "vision_patch_size": config.vision_patch_size,
    }
    image_size = spec.resolve_input_size(config.image_size or 256)
    visual = build_vision_encoder(
        config.vision,
        embed_dim=config.embed_dim,
        image_resolution=image_size,
        in_channels=in_channels,
        weights=config.vision_weights,
        **vision_kwargs,
    )
    location_config = location_encoder_config(config)
    try:
        location = build_location_encoder(location_config)
    except ValueError as error:
        raise InputError(f"cannot build the location encoder: {error}") from None
    model = SatCLIPModel(
        visual,
        location,
        location_dtype=getattr(torch, config.location_dtype),
        frozen_backbone_eval=frozen_backbone_eval_fn(config.vision),
    )
    if config.compile:
        model.compile_visual()
    hparams = {
        **official_location_hparams(location_config),
        **official_vision_hparams(config.vision, image_resolution=image_size, in_channels=in_channels, **vision_kwargs),
        "sh_embedding_dims": 32,
        "learning_rate": config.lr,
        "weight_decay": config.weight_decay,
    }
    augment = BatchAugmentation(crop_size=image_size, insert_b10=in_channels == 13, jitter_km=config.jitter_km)
    return SatCLIPLightningModule(
        model,
        augment,
        official_hparams=hparams,
        extra_checkpoint_info={
            "location_encoder": location_config.to_dict(),
            "vision": config.vision,
            "train_config": config.to_dict(),
        },
        lr=config.lr,
        weight_decay=config.weight_decay,
        accumulate=config.accumulate,
        seed=config.seed,
    )


def enable_tf32_where_supported() -> bool:
    """TF32 matrix products on every CUDA GPU that has them (compute capability >= 8); True if enabled."""
    if not torch.cuda.is_available():
        return False
    if all(torch.cuda.get_device_capability(i)[0] >= 8 for i in range(torch.cuda.device_count())):
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.set_float32_matmul_precision("high")
        return True
    return False


def default_precision(accelerator: str) -> str:
    """bf16 mixed precision on GPUs that support it, else full float32."""
    gpu = accelerator in ("gpu", "cuda") or (accelerator == "auto" and torch.cuda.is_available())
    if gpu and torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return "bf16-mixed"
    return "32-true"


def build_trainer(config: TrainConfig, progress: bool = True) -> Any:
    """A Lightning ``Trainer``: devices and nodes, DDP when more than one process, checkpoints, loggers."""
    import lightning.pytorch as pl
    from lightning.pytorch.callbacks import ModelCheckpoint, RichProgressBar
    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

    out = Path(config.out)
    devices: Any = config.devices if config.devices is not None else "auto"
    processes = (config.devices or 1) * config.nodes
    strategy = "ddp" if processes > 1 else "auto"
    checkpoints = ModelCheckpoint(
        dirpath=out / CHECKPOINT_DIR,
        filename="{epoch}-{val_loss:.4f}",
        monitor="val_loss",
        mode="min",
        save_top_k=1,
        save_last=True,
    )
    callbacks: list[Any] = [checkpoints]
    if progress:
        callbacks.append(RichProgressBar())
    enable_tf32_where_supported()
    return pl.Trainer(
        default_root_dir=out,
        max_epochs=config.max_epochs,
        accelerator="gpu" if config.accelerator == "cuda" else config.accelerator,
        devices=devices,
        num_nodes=config.nodes,
        strategy=strategy,
        precision=config.precision or default_precision(config.accelerator),
        callbacks=callbacks,
        logger=[
            TensorBoardLogger(out, name="logs", version="tensorboard"),
            CSVLogger(out, name="logs", version="csv"),
        ],
        log_every_n_steps=config.log_every_n_steps,
        enable_progress_bar=progress,
        enable_model_summary=progress,
        num_sanity_val_steps=0,
        use_distributed_sampler=False,  # S2DataModule shards and shuffles by (seed, epoch, rank) itself
    )


def check_out_dir(config: TrainConfig) -> Path | None:
    """The checkpoint to resume from (``--resume``), or None; refuse to overwrite an earlier run."""
    last = Path(config.out) / CHECKPOINT_DIR / LAST_CHECKPOINT
    if config.resume:
        if not last.is_file():
            raise InputError(f"nothing to resume: {last} does not exist")
        return last
    if last.exists():
        raise InputError(f"{config.out} already holds a run ({last}); pass --resume to continue it, or another --out")
    return None


def train(config: TrainConfig, progress: bool = True) -> TrainSummary:
    """Run the training described by ``config``; returns where the checkpoints are."""
    import lightning.pytorch as pl

    from satclip_cli.training.datamodule import S2DataModule
    from satclip_cli.training.lightning_module import NonFiniteLossError

    config.validate()
    resume_from = check_out_dir(config)
    start = time.perf_counter()
    pl.seed_everything(config.seed, workers=True, verbose=False)
    datamodule = S2DataModule(
        config.data,
        batch_size=config.batch_size * config.accumulate,
        num_workers=config.num_workers,
        val_fraction=config.val_fraction,
        seed=config.seed,
    )
    module = build_module(config)
    trainer = build_trainer(config, progress=progress)
    _write_config(config)
    last = Path(config.out) / CHECKPOINT_DIR / LAST_CHECKPOINT
    try:
        trainer.fit(module, datamodule=datamodule, ckpt_path=str(resume_from) if resume_from else None)
    except NonFiniteLossError as error:
        kept = f"the last good checkpoint is {last}" if last.exists() else "no checkpoint was written yet"
        raise TrainingFailedError(f"{error}; training stopped ({kept}). Try a lower --lr.") from None
    callback = trainer.checkpoint_callback
    best_path = Path(callback.best_model_path) if callback and callback.best_model_path else None
    best_score = float(callback.best_model_score) if callback and callback.best_model_score is not None else None
    return TrainSummary(
        out_dir=Path(config.out),
        last_checkpoint=last,
        best_checkpoint=best_path,
        best_val_loss=best_score,
        epochs=trainer.current_epoch,
        steps=trainer.global_step,
        seconds=time.perf_counter() - start,
    )


def _write_config(config: TrainConfig) -> None:
    import yaml

    from satclip_cli.atomic_output import atomic_output

    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_output(out / "config.yaml", overwrite=True) as tmp:
        tmp.write_text(yaml.safe_dump(config.to_dict(), sort_keys=False), encoding="utf-8")
