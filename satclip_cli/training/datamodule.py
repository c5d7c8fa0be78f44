"""The Lightning data module of ``satclip train``: a seeded train/val split of a dataset folder and its loaders.

Batches are ``{"image": [B, 12, H, W] torch.uint16, "point": [B, 2] torch.float64 (lon, lat) degrees}``,
raw as stored: the augmentation (scaling, B10, crop, flips, blur, jitter) runs on the accelerator in the
LightningModule (:class:`satclip_cli.training.augmentations.BatchAugmentation`).
"""

from __future__ import annotations

from pathlib import Path

import lightning.pytorch as pl
import numpy as np
import torch
from torch.utils.data import DataLoader, DistributedSampler, Subset

from satclip_cli.dataset.torch_dataset import S2PatchDataset, collate_patches, split_indices
from satclip_cli.errors import InputError


class S2DataModule(pl.LightningDataModule):
    """Train and validation loaders over the dataset folder ``root`` (S2-100K layout).

    ``val_fraction`` of the patches (seeded by ``seed``, see :func:`split_indices`) are held out. The train
    loader shuffles with a generator seeded by ``seed`` and drops the last incomplete batch, so every
    contrastive batch has exactly ``batch_size`` pairs; the validation loader keeps the order and every
    sample. ``dataset`` replaces the folder's patches by another dataset of the same length and order
    (e.g. cached backbone features). ``pin_memory`` defaults to True when CUDA is available; ``persistent_workers`` to
    ``num_workers > 0``; ``prefetch_factor`` (batches loaded ahead per worker) to torch's default.
    """

    def __init__(
        self,
        root: str | Path,
        batch_size: int,
        num_workers: int,
        val_fraction: float = 0.1,
        seed: int = 0,
        pin_memory: bool | None = None,
        persistent_workers: bool | None = None,
        prefetch_factor: int | None = None,
        dataset: torch.utils.data.Dataset | None = None,
    ) -> None:
        super().__init__()
        if batch_size < 1:
            raise InputError(f"the batch size must be at least 1, got {batch_size}")
        if num_workers < 0:
            raise InputError(f"the number of loader workers must be >= 0, got {num_workers}")
        if prefetch_factor is not None and prefetch_factor < 1:
            raise InputError(f"the prefetch factor must be at least 1, got {prefetch_factor}")
        self.root = Path(root)
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.val_fraction = val_fraction
        self.seed = seed
        self.pin_memory = torch.cuda.is_available() if pin_memory is None else pin_memory
        self.persistent_workers = num_workers > 0 if persistent_workers is None else persistent_workers
        self.prefetch_factor = prefetch_factor
        self.dataset: torch.utils.data.Dataset | None = None
        self._given_dataset = dataset
        self.train_indices: np.ndarray | None = None
        self.val_indices: np.ndarray | None = None

    def setup(self, stage: str | None = None) -> None:
        """Read and check the dataset folder and split it (once; later calls keep the split)."""
        if self.dataset is not None:
            return
        dataset = self._given_dataset if self._given_dataset is not None else S2PatchDataset(self.root)
        train, val = split_indices(len(dataset), self.val_fraction, self.seed)
        if len(train) < self.batch_size:
            raise InputError(
                f"{self.root} has {len(train):,} training patches (of {len(dataset):,}), fewer than one batch "
                f"of {self.batch_size:,}; use a smaller batch size or more patches"
            )
        self.dataset, self.train_indices, self.val_indices = dataset, train, val

    def train_dataloader(self) -> DataLoader:
        """Shuffled batches of exactly ``batch_size`` samples; a new order each epoch, the same orders each run.

        The order of epoch ``e`` depends only on ``(seed, e)`` (and this process's rank), so a resumed
        run sees the same batches as an uninterrupted one.
        """
        self.setup()
        return self._loader(self.train_indices, shuffle=True, drop_last=True)  # type: ignore[arg-type]

    def val_dataloader(self) -> DataLoader:
        """The held-out samples in order (this rank's share under DDP); the last batch may be smaller."""
        self.setup()
        return self._loader(self.val_indices, shuffle=False, drop_last=False)  # type: ignore[arg-type]

    def _rank_and_world(self) -> tuple[int, int]:
        trainer = getattr(self, "trainer", None)
        if trainer is None:
            return 0, 1
        return int(trainer.global_rank), int(trainer.world_size)

    def _loader(self, indices: np.ndarray, shuffle: bool, drop_last: bool) -> DataLoader:
        workers = self.num_workers
        subset = Subset(self.dataset, indices)  # type: ignore[arg-type]
        rank, world = self._rank_and_world()
        # Lightning calls set_epoch on this sampler every epoch (the Trainer must not replace it).
        sampler = DistributedSampler(
            subset, num_replicas=world, rank=rank, shuffle=shuffle, seed=self.seed, drop_last=drop_last
        )
        return DataLoader(
            subset,
            batch_size=self.batch_size,
            sampler=sampler,
            drop_last=drop_last,
            num_workers=workers,
            collate_fn=collate_patches,
            pin_memory=self.pin_memory,
            persistent_workers=self.persistent_workers and workers > 0,
            prefetch_factor=self.prefetch_factor if workers > 0 else None,
        )
