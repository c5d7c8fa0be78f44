"""Frozen-backbone fast path: the backbone's features of fixed views of every tile, computed once.

With a frozen vision backbone (the released models' setting), only the head and the location
encoder learn; the backbone maps a given view of a tile to the same features every epoch. So
for ``views`` symmetries of the square (identity, flips, rotations: the dihedral group, 1-8
views) the pooled backbone features of the centre crop are computed once and stored; training
then draws one stored view per tile and step and runs only the head and the location encoder.
The objective is the one of flips-and-rotations augmentation; crops and blur are not applied
(they change the features in ways a cache cannot hold). Points still get their jitter.

:func:`feature_cache_dataset` is the step a run takes with ``cache_features``: it finds or computes
the cache of a dataset (under torchrun or SLURM only global rank 0 computes; the others wait for
the file) and returns it as a dataset the data module serves instead of the patches.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from satclip_cli.errors import InputError, setting
from satclip_cli.models.vision.freezing import backbone_features
from satclip_cli.models.vision.specs import vision_encoder_spec
from satclip_cli.training.config import TrainConfig
from satclip_cli.training.trainer import TrainingFailedError, global_rank_from_env

DIHEDRAL_VIEWS: tuple[str, ...] = ("identity", "flip-x", "flip-y", "rot180", "transpose", "rot90", "rot270", "anti")
"""The 8 symmetries of the square, in the order views are taken (``cache_views=2``: identity, flip-x)."""


def dihedral_view(images: torch.Tensor, view: int) -> torch.Tensor:
    """Symmetry number ``view`` (see :data:`DIHEDRAL_VIEWS`) of images [B, C, H, W] (H == W)."""
    name = DIHEDRAL_VIEWS[view]
    if name == "identity":
        return images
    if name == "flip-x":
        return images.flip(-1)
    if name == "flip-y":
        return images.flip(-2)
    if name == "rot180":
        return images.flip(-1, -2)
    if name == "transpose":
        return images.transpose(-1, -2)
    if name == "rot90":
        return images.rot90(1, dims=(-2, -1))
    if name == "rot270":
        return images.rot90(-1, dims=(-2, -1))
    return images.flip(-1, -2).transpose(-1, -2)


@dataclass
class FeatureCache:
    """Backbone features [N, V, F] (float16) of V views of N tiles, with the tiles' points [N, 2] (lon, lat)."""

    features: torch.Tensor
    points: torch.Tensor
    key: str

    def save(self, path: Path) -> None:
        from safetensors.torch import save_file

        from satclip_cli.utils.atomic_output import atomic_output

        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(path, overwrite=True) as tmp:
            save_file(
                {"features": self.features.contiguous(), "points": self.points.contiguous()},
                str(tmp),
                metadata={"key": self.key},
            )

    @classmethod
    def load(cls, path: Path, key: str) -> FeatureCache | None:
        """The cache at ``path`` if it was made for ``key`` (same data, encoder and views), else None."""
        from safetensors import safe_open

        if not path.is_file():
            return None
        try:
            with safe_open(str(path), framework="pt") as file:
                if (file.metadata() or {}).get("key") != key:
                    return None
                return cls(file.get_tensor("features"), file.get_tensor("points"), key)
        except Exception:  # a truncated or foreign file: recompute
            return None


def dataset_fingerprint(dataset: torch.utils.data.Dataset) -> list[str]:
    """One string per sample of an :class:`S2PatchDataset`: resolved file, size, mtime and point.

    Datasets written by ``satclip sample`` all name their files ``patch_<i>.tif``, so names alone
    cannot tell two datasets (or a corrected ``index.csv``) apart.
    """
    entries = []
    for i in range(len(dataset)):
        path = dataset.path(i).resolve()
        stat = path.stat()
        lon, lat = (float(v) for v in dataset.points[i])
        entries.append(f"{path}|{stat.st_size}|{stat.st_mtime_ns}|{lon!r},{lat!r}")
    return entries


def cache_key(dataset_files: list[str], vision: str, vision_weights: str, crop_size: int, views: int) -> str:
    """A digest of everything the cached features depend on (``dataset_files``: :func:`dataset_fingerprint`)."""
    description = json.dumps([dataset_files, vision, vision_weights, crop_size, views])
    return hashlib.sha256(description.encode()).hexdigest()[:32]


@torch.no_grad()
def compute_feature_cache(
    dataset: torch.utils.data.Dataset,
    prepare: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]],
    backbone: Callable[[torch.Tensor], torch.Tensor],
    *,
    views: int,
    key: str,
    device: torch.device,
    batch_size: int = 64,
    num_workers: int = 0,
    on_progress: Callable[[int], None] | None = None,
) -> FeatureCache:
    """Run ``backbone`` over ``views`` symmetries of every tile of ``dataset`` (items ``{"image", "point"}``).

    ``prepare(images, points)`` turns a loader batch into network input (the validation transform:
    scaling, band layout, centre crop) on ``device``; ``backbone(images) -> [B, F]``.
    """
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers)
    features, points = [], []
    for batch in loader:
        images, batch_points = prepare(batch["image"].to(device), batch["point"].to(device))
        per_view = [backbone(dihedral_view(images, v)).to(torch.float16).cpu() for v in range(views)]
        features.append(torch.stack(per_view, dim=1))
        points.append(batch_points.double().cpu())
        if on_progress is not None:
            on_progress(len(images))
    return FeatureCache(torch.cat(features), torch.cat(points), key)


class CachedFeatureDataset(torch.utils.data.Dataset):
    """Items ``{"features": [V, F] float16 (all cached views), "point": [2] float64}`` of a :class:`FeatureCache`.

    The training step draws one view per sample; validation uses view 0 (the identity).
    """

    def __init__(self, cache: FeatureCache) -> None:
        self.cache = cache

    def __len__(self) -> int:
        return len(self.cache.points)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {"features": self.cache.features[index], "point": self.cache.points[index]}


def feature_cache_dataset(
    config: TrainConfig, module: Any, dataset: Any, progress: bool = True
) -> CachedFeatureDataset:
    """The cached backbone features of every tile (the ``cache_features`` setting), computed on first use.

    Stored in ``OUT/feature_cache/<key>.safetensors``; the key covers the dataset's files, the vision
    encoder and its weights, the crop and the views, so a changed setting recomputes. Under torchrun
    or SLURM only global rank 0 computes; the other ranks wait for the file.
    """
    from satclip_cli.utils.progress import progress_bar

    spec = vision_encoder_spec(config.vision)
    if not spec.frozen_backbone:
        raise InputError(f"{setting('cache_features')} needs a frozen backbone (moco-*), not {config.vision}")
    crop = module.augment.crop_size
    key = cache_key(dataset_fingerprint(dataset), config.vision, str(config.vision_weights), crop, config.cache_views)
    path = Path(config.out) / "feature_cache" / f"{key}.safetensors"
    cache = FeatureCache.load(path, key)
    if cache is None and global_rank_from_env() > 0:
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


def _wait_for_cache(path: Path, key: str, timeout_s: float = 24 * 3600) -> FeatureCache:
    """The cache rank 0 writes to ``path``, polled every 5 s for up to ``timeout_s`` seconds."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        cache = FeatureCache.load(path, key)
        if cache is not None:
            return cache
        time.sleep(5)
    raise TrainingFailedError(f"rank 0 did not write the feature cache {path} in time")
