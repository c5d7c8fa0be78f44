"""The work behind ``satclip train``: build the model, data and Lightning ``Trainer`` from a config, then fit.

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
from typing import TYPE_CHECKING, Any

import torch

from satclip_cli.errors import InputError, SatclipError
from satclip_cli.models.checkpoints import official_location_hparams
from satclip_cli.models.location_encoder import LocationEncoderConfig, build_location_encoder
from satclip_cli.training.config import TrainConfig

if TYPE_CHECKING:
    from satclip_cli.dataset.torch_dataset import S2PatchDataset

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
        dropout=config.location_dropout,
    )


def build_module(config: TrainConfig, bands: int = 12, pixel_scale: float = 10_000.0) -> Any:
    """The :class:`SatCLIPLightningModule` for ``config`` (vision weights loaded, backbone frozen).

    ``bands``: channels of the dataset's patches (12 Sentinel-2 bands, or 3 for RGB); ``pixel_scale``:
    what pixel values are divided by (10,000 for reflectance, 255 for 8-bit RGB).
    """
    from satclip_cli.models.satclip import SatCLIPModel
    from satclip_cli.models.vision.encoders import (
        build_vision_encoder,
        frozen_backbone_eval_fn,
        official_vision_hparams,
        vision_encoder_spec,
    )
    from satclip_cli.training.augmentations import BatchAugmentation
    from satclip_cli.training.lightning_module import SatCLIPLightningModule

    spec = vision_encoder_spec(config.vision)
    if spec.in_channels is not None and bands != 12:
        raise InputError(
            f"{config.vision} takes the 12 Sentinel-2 bands, this dataset has {bands}: "
            "use --vision clip-vit or clip-resnet"
        )
    in_channels = spec.in_channels or bands
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
    augment = BatchAugmentation(
        crop_size=image_size, insert_b10=in_channels == 13, jitter_km=config.jitter_km, scale=pixel_scale
    )
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


def feature_cache_dataset(config: TrainConfig, module: Any, dataset: Any, progress: bool = True) -> Any:
    """The cached backbone features of every tile (``--cache-features``), computed on first use.

    Stored in ``OUT/feature_cache/<key>.safetensors``; the key covers the dataset's files, the vision
    encoder and its weights, the crop and the views, so a changed setting recomputes. Under torchrun
    or SLURM only global rank 0 computes; the other ranks wait for the file.
    """
    from satclip_cli.models.vision.encoders import backbone_features, vision_encoder_spec
    from satclip_cli.training.feature_cache import (
        CachedFeatureDataset,
        FeatureCache,
        cache_key,
        compute_feature_cache,
        dataset_fingerprint,
    )
    from satclip_cli.utils.progress import progress_bar

    spec = vision_encoder_spec(config.vision)
    if not spec.frozen_backbone:
        raise InputError(f"--cache-features needs a frozen backbone (moco-*), not {config.vision}")
    crop = module.augment.crop_size
    key = cache_key(dataset_fingerprint(dataset), config.vision, str(config.vision_weights), crop, config.cache_views)
    path = Path(config.out) / "feature_cache" / f"{key}.safetensors"
    cache = FeatureCache.load(path, key)
    if cache is None and _global_rank_from_env() > 0:
        cache = _wait_for_cache(path, key)
    if cache is None:
        device = torch.device("cuda" if torch.cuda.is_available() and config.accelerator != "cpu" else "cpu")
        visual = module.model.visual.to(device).eval()
        with progress_bar(progress, len(dataset), "Caching backbone features", unit="tiles") as advance:
            cache = compute_feature_cache(
                dataset,
                lambda images, points: module.augment(images, points, train=False),
                lambda images: backbone_features(visual, config.vision, images),
                views=config.cache_views,
                key=key,
                device=device,
                batch_size=max(1, min(config.batch_size, 256)),
                num_workers=config.num_workers,
                on_progress=advance,
            )
        visual.cpu()
        cache.save(path)
    return CachedFeatureDataset(cache)


def _global_rank_from_env() -> int:
    import os

    for name in ("RANK", "SLURM_PROCID"):
        if os.environ.get(name, "").isdigit():
            return int(os.environ[name])
    return 0


def _wait_for_cache(path: Path, key: str, timeout_s: float = 24 * 3600) -> Any:
    from satclip_cli.training.feature_cache import FeatureCache

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        cache = FeatureCache.load(path, key)
        if cache is not None:
            return cache
        time.sleep(5)
    raise TrainingFailedError(f"rank 0 did not write the feature cache {path} in time")


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
    import logging
    import warnings

    warnings.filterwarnings("ignore", message=r"Found \d+ module\(s\) in eval mode")
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)")
    warnings.filterwarnings("ignore", message=r"The '(train|val)_dataloader' does not have many workers")
    warnings.filterwarnings("ignore", message=r"The number of training batches .* is smaller than the logging")
    warnings.filterwarnings("ignore", message=r"Checkpoint directory .* exists and is not empty")  # resuming
    if not progress:
        for name in ("lightning.pytorch", "lightning.fabric", "lightning"):
            logging.getLogger(name).setLevel(logging.WARNING)


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


def train(config: TrainConfig, progress: bool = True, notify: Callable[[str], None] | None = None) -> TrainSummary:
    """Run the training described by ``config``; returns where the checkpoints are.

    ``notify`` receives advice worth a line before training starts (e.g. a dataset whose encoding
    makes the loader slow, see :func:`repack_advice`).
    """
    import lightning.pytorch as pl

    from satclip_cli.dataset.torch_dataset import S2PatchDataset
    from satclip_cli.training.datamodule import S2DataModule
    from satclip_cli.training.lightning_module import NonFiniteLossError

    config.validate()
    quiet_lightning(progress)
    resume_from = check_out_dir(config)
    start = time.perf_counter()
    patches = S2PatchDataset(config.data)  # checks the dataset before any model or weights are loaded
    pl.seed_everything(config.seed, workers=True, verbose=False)
    bands, dtype = patches.patch_shape[0], patches.pixel_dtype
    module = build_module(config, bands=bands, pixel_scale=255.0 if dtype == "uint8" else 10_000.0)
    cached = None
    if config.cache_features:
        from satclip_cli.models.vision.encoders import apply_head

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
    advice = None if config.cache_features or _global_rank_from_env() != 0 else repack_advice(patches)
    if advice and notify is not None:
        notify(advice)
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


def repack_advice(patches: S2PatchDataset) -> str | None:
    """A hint to run ``satclip repack`` when the first patch of ``patches`` (an S2PatchDataset) decodes slowly."""
    from satclip_cli.dataset.repack import slow_encoding_reason

    first = patches.path(0)
    reason = slow_encoding_reason(first)
    if reason is None:
        return None
    return (
        f"Note: the patches are stored with {reason} ({first.name}), which makes the loader slow on every epoch; "
        f"`satclip repack {patches.root} -o NEW_DIR` writes a lossless copy that decodes several times faster."
    )


def _write_config(config: TrainConfig) -> None:
    import yaml

    from satclip_cli.utils.atomic_output import atomic_output

    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_output(out / "config.yaml", overwrite=True) as tmp:
        tmp.write_text(yaml.safe_dump(config.to_dict(), sort_keys=False), encoding="utf-8")
