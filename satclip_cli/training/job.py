"""The work behind ``satclip train``: :func:`run` trains the model a :class:`TrainConfig` describes.

It checks the settings and the dataset, builds the model (:mod:`~satclip_cli.training.build`), the
optional feature cache (:mod:`~satclip_cli.training.feature_cache`), the data module and the Lightning
``Trainer`` (:mod:`~satclip_cli.training.trainer`), then fits.

Outputs in ``config.out``: ``checkpoints/last.ckpt`` and the best checkpoint by validation loss
(the original Lightning layout, readable by the original loader and by ``satclip embed``),
``tensorboard/version_N/`` and ``csv/version_N/metrics.csv`` (one version per launch, so a
resumed run keeps the earlier logs), ``config.yaml`` (the settings of the run).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from satclip_cli.errors import CheckpointError, InputError, SatclipError, one_line, setting
from satclip_cli.training.build import build_module, check_patches_fit
from satclip_cli.training.config import TrainConfig
from satclip_cli.training.feature_cache import feature_cache_dataset
from satclip_cli.training.trainer import (
    CHECKPOINT_DIR,
    LAST_CHECKPOINT,
    TrainingFailedError,
    build_trainer,
    global_rank_from_env,
    quiet_lightning,
)
from satclip_cli.utils.output_folder import make_output_folder

if TYPE_CHECKING:
    from satclip_cli.dataset.torch_dataset import S2PatchDataset


@dataclass(frozen=True)
class TrainSummary:
    """What a finished run produced: its folder, checkpoints (paths), best validation loss, epochs, steps, seconds."""

    out_dir: Path
    last_checkpoint: Path
    best_checkpoint: Path | None
    best_val_loss: float | None
    epochs: int
    steps: int
    seconds: float

    def lines(self) -> list[str]:
        """The human summary ``satclip train`` prints."""
        best = f"{self.best_val_loss:.4f}" if self.best_val_loss is not None else "-"
        return [
            f"Trained {self.epochs} epochs ({self.steps:,} steps) in {self.seconds:.0f} s -> {self.out_dir}",
            f"Best validation loss {best}: {self.best_checkpoint or '-'}; last: {self.last_checkpoint}",
            f"Export the location encoder: satclip export {self.last_checkpoint} -o model.safetensors",
        ]


def check_out_dir(config: TrainConfig) -> Path | None:
    """The checkpoint to resume from (the ``resume`` setting), or None; refuse to overwrite an earlier run."""
    last = Path(config.out) / CHECKPOINT_DIR / LAST_CHECKPOINT
    if config.resume:
        if not last.is_file():
            raise InputError(f"nothing to resume: {last} does not exist")
        check_resumable(last)
        return last
    if last.exists():
        raise InputError(
            f"{config.out} already holds a run ({last}); pass {setting('resume')} to continue it, "
            f"or another {setting('out')}"
        )
    return None


def check_resumable(checkpoint: Path) -> None:
    """Check that ``checkpoint`` is a complete training checkpoint holding only tensors and plain data.

    Read with ``torch.load(weights_only=True)`` (memory-mapped): a pickle that would run code is refused,
    never unpickled, and a truncated file is reported before Lightning tries to resume from it.

    Raises:
        CheckpointError: the file is truncated or corrupt, holds other objects, or is not a training checkpoint.
    """
    import pickle
    import zipfile

    import torch

    if not zipfile.is_zipfile(checkpoint):  # a torch checkpoint is a zip; a cut one has no central directory
        raise CheckpointError(f"cannot resume from {checkpoint}: the file is truncated or not a torch checkpoint")
    try:
        state = torch.load(checkpoint, map_location="cpu", weights_only=True, mmap=True)
    except pickle.UnpicklingError:
        raise CheckpointError(
            f"cannot resume from {checkpoint}: it holds objects other than tensors and plain data "
            "(refused: loading it could run code)"
        ) from None
    except Exception as error:  # torch raises many types for truncated or corrupt files
        raise CheckpointError(
            f"cannot resume from {checkpoint}: the file is truncated or corrupt ({one_line(error, 120)})"
        ) from None
    needed = ("state_dict", "optimizer_states", "loops")
    missing = [key for key in needed if not isinstance(state, dict) or key not in state]
    if missing:
        raise CheckpointError(f"cannot resume from {checkpoint}: not a training checkpoint (no {', '.join(missing)})")


def run(config: TrainConfig, *, progress: bool = True, notify: Callable[[str], None] | None = None) -> TrainSummary:
    """Run the training described by ``config``; returns where the checkpoints are.

    ``progress`` shows Lightning's progress bar and model summary (and the feature-cache bar).
    ``notify`` receives advice worth a line before training starts (e.g. a dataset whose encoding
    makes the loader slow, see :func:`repack_advice`).

    Raises:
        InputError: an unusable setting or dataset, or an earlier run in ``out`` (without ``resume``).
        TrainingFailedError: the loss diverged.
    """
    from satclip_cli.dataset.torch_dataset import worker_error_message

    try:
        return _run(config, progress=progress, notify=notify)
    except SatclipError as error:
        original = worker_error_message(error)
        if original is None:
            raise
        raise type(error)(original) from None  # a DataLoader worker's error: its message, not its traceback


def _run(config: TrainConfig, *, progress: bool, notify: Callable[[str], None] | None) -> TrainSummary:
    """:func:`run`, before a DataLoader worker's error is turned back into its one-line message."""
    import lightning.pytorch as pl

    from satclip_cli.dataset.torch_dataset import S2PatchDataset
    from satclip_cli.training.datamodule import S2DataModule
    from satclip_cli.training.lightning_module import NonFiniteLossError

    config.validate()
    quiet_lightning(progress)
    resume_from = check_out_dir(config)
    start = time.perf_counter()
    patches = S2PatchDataset(config.data)  # checks the dataset before any model or weights are loaded
    if patches.patch_shape is not None:
        check_patches_fit(config, *patches.patch_shape)  # before the run folder and its loggers are made
    make_output_folder(config.out, "run folder")
    pl.seed_everything(config.seed, workers=True, verbose=False)
    bands, dtype = patches.patch_shape[0], patches.pixel_dtype
    module = build_module(config, bands=bands, pixel_scale=255.0 if dtype == "uint8" else 10_000.0)
    cached = None
    if config.cache_features:
        from satclip_cli.models.vision.freezing import apply_head

        cached = feature_cache_dataset(config, module, patches, progress=progress)
        visual = module.model.visual
        module.image_head = lambda features: apply_head(visual, config.vision, features)
    datamodule = S2DataModule(
        config.data,
        batch_size=config.batch_size * config.accumulate,
        num_workers=0 if cached is not None else config.num_workers,
        val_fraction=config.val_fraction,
        seed=config.seed,
        dataset=cached if cached is not None else patches,
    )
    trainer = build_trainer(config, progress=progress)
    advice = None if config.cache_features or global_rank_from_env() != 0 else repack_advice(patches)
    if advice and notify is not None:
        notify(advice)
    _write_config(config)
    last = Path(config.out) / CHECKPOINT_DIR / LAST_CHECKPOINT
    try:
        trainer.fit(module, datamodule=datamodule, ckpt_path=str(resume_from) if resume_from else None)
    except NonFiniteLossError as error:
        kept = f"the last good checkpoint is {last}" if last.exists() else "no checkpoint was written yet"
        raise TrainingFailedError(f"{error}; training stopped ({kept}). Try a lower {setting('lr')}.") from None
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


def repack_advice(patches: S2PatchDataset) -> str | None:
    """A hint to run ``satclip repack`` when the first patch of ``patches`` (an S2PatchDataset) decodes slowly."""
    from satclip_cli.dataset.patch_files import slow_encoding_reason

    first = patches.path(0)
    reason = slow_encoding_reason(first)
    if reason is None:
        return None
    return (
        f"Note: the patches are stored with {reason} ({first.name}), which makes the loader slow on every epoch; "
        f"`satclip repack {patches.root} -o NEW_DIR` writes a lossless copy that decodes several times faster."
    )


def _write_config(config: TrainConfig) -> None:
    """Write the run's settings to ``OUT/config.yaml`` (replaced at every launch)."""
    import yaml

    from satclip_cli.utils.atomic_output import atomic_output

    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_output(out / "config.yaml", overwrite=True) as tmp:
        tmp.write_text(yaml.safe_dump(config.to_dict(), sort_keys=False), encoding="utf-8")
