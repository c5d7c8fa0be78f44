"""The Lightning ``Trainer`` of a run: devices, nodes and DDP, precision, checkpoints, loggers, quiet output.

Checkpoints go to ``OUT/checkpoints/``: ``last.ckpt`` after every epoch and the best by validation loss;
logs to ``OUT/tensorboard/version_N/`` and ``OUT/csv/version_N/`` (one version per launch). Lightning
is imported only when a trainer is built.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import torch

from satclip_cli.errors import SatclipError
from satclip_cli.training.config import TrainConfig

CHECKPOINT_DIR = "checkpoints"
"""Folder of the run's checkpoints, inside its ``out`` folder."""

LAST_CHECKPOINT = "last.ckpt"
"""The checkpoint written after every epoch (what ``resume`` continues from)."""


class TrainingFailedError(SatclipError):
    """Training stopped: the loss diverged, or the run cannot continue."""


def global_rank_from_env() -> int:
    """This process's global rank as torchrun (``RANK``) or SLURM (``SLURM_PROCID``) set it; 0 if neither did."""
    for name in ("RANK", "SLURM_PROCID"):
        if os.environ.get(name, "").isdigit():
            return int(os.environ[name])
    return 0


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

    from satclip_cli.training.checkpoint_io import AtomicCheckpointIO

    out = Path(config.out)
    devices: Any = config.devices if config.devices is not None else "auto"
    processes = (config.devices or 1) * config.nodes
    strategy = "ddp" if processes > 1 else "auto"
    best = ModelCheckpoint(
        dirpath=out / CHECKPOINT_DIR, filename="{epoch}-{val_loss:.4f}", monitor="val_loss", mode="min", save_top_k=1
    )
    # Lightning's save_last only writes when a best checkpoint is written; this one writes every epoch.
    last = ModelCheckpoint(
        dirpath=out / CHECKPOINT_DIR, filename=LAST_CHECKPOINT.removesuffix(".ckpt"), enable_version_counter=False
    )
    callbacks: list[Any] = [best, last]
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
        plugins=[AtomicCheckpointIO()],
        logger=[TensorBoardLogger(out, name="tensorboard"), CSVLogger(out, name="csv")],  # version_N per launch
        log_every_n_steps=config.log_every_n_steps,
        enable_progress_bar=progress,
        enable_model_summary=progress,
        num_sanity_val_steps=0,
        use_distributed_sampler=False,  # S2DataModule shards and shuffles by (seed, epoch, rank) itself
    )


def quiet_lightning(progress: bool) -> None:
    """Silence warnings we expect (a frozen backbone is in eval mode on purpose) and, without
    progress output, Lightning's informational lines."""
    import warnings

    warnings.filterwarnings("ignore", message=r"Found \d+ module\(s\) in eval mode")
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)")
    warnings.filterwarnings("ignore", message=r"The '(train|val)_dataloader' does not have many workers")
    warnings.filterwarnings("ignore", message=r"The number of training batches .* is smaller than the logging")
    warnings.filterwarnings("ignore", message=r"Checkpoint directory .* exists and is not empty")  # resuming
    # Lightning advertises its cloud logger on every run; that line is not about this run.
    rank_zero = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    if not any(isinstance(f, _NoAdvertisement) for f in rank_zero.filters):
        rank_zero.addFilter(_NoAdvertisement())
    if not progress:
        for name in ("lightning.pytorch", "lightning.fabric", "lightning"):
            logging.getLogger(name).setLevel(logging.WARNING)


class _NoAdvertisement(logging.Filter):
    """Drops Lightning's "Tip: ... try installing litlogger" line."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "litlogger" not in record.getMessage()
