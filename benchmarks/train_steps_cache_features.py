"""Training steps/s of a frozen ResNet-18 SatCLIP on the CPU, with and without ``--cache-features``.

    python benchmarks/train_steps_cache_features.py [--batch-size 32] [--image-size 256] [--views 8]
        [--warmup 2] [--steps 8] [--cached-warmup 10] [--cached-steps 300] [--cache-tiles 23] [--threads N]

The model is what ``satclip train`` builds (``training.build.build_module``) for ``--vision moco-resnet18``
and the released location encoder (L = 10 spherical harmonics, SIREN 512 x 2 -> 256, float64) with
``--vision-weights none``: random weights, since there is no network here (a step costs the same with the
MoCo weights). 13 bands (B10 inserted) at ``--image-size`` px (256: the released setting).

Measured in the same run, with the same module, batch size, Lightning ``Trainer`` (CPU, 32-true, manual
optimisation, no logger, checkpoints or validation) and ``S2DataModule`` loaders (shuffled, ``drop_last``):

* without the cache: the real training step on raw uint16 batches of the 23 real 256 x 256 patches of
  ``<repo>/../shared/data/s2_tiles`` (held in memory and repeated, so file decoding - the loader workers'
  job - is not timed): ``BatchAugmentation`` (crop, flips, blur, jitter) + frozen backbone forward + head +
  location encoder + CLIP loss + backward + AdamW step + logit-scale clamp;
* with the cache: the same ``training_step`` on ``CachedFeatureDataset`` batches (one random view of the
  backbone features per sample + jitter) through the head (``apply_head``), as ``satclip train
  --cache-features`` sets it up. The features are those of ``--cache-tiles`` real tiles, repeated (a step
  does not depend on their values);
* the one-off cost of the cache: ``training.feature_cache.feature_cache_dataset`` (what ``--cache-features`` runs
  first) on a dataset folder of ``--cache-tiles`` tile files, after one warm-up forward of the backbone:
  file read and decode + validation transform + backbone on ``--views`` dihedral views + save, in the main
  process; reported per tile. It includes the decoding that the uncached timing leaves to the loader
  workers, so the break-even below is on the safe side.

steps/s = steps after the warm-up steps / wall time from the end of the last warm-up step to the end of the
last step (the whole loop: loader, Lightning, step). "step only" adds up ``on_train_batch_start`` ->
``on_train_batch_end`` (the step without the loader). Break-even: the number of epochs after which caching
(one-off cost + cached epochs) has cost less than uncached epochs, from per-tile times (time per step /
batch size). Times for an epoch of 100,000 tiles (S2-100K) are extrapolated from the same numbers.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import pandas as pd
import torch
from lightning.pytorch.callbacks import Callback
from torch.utils.data import Dataset

from satclip_cli.training.config import TrainConfig

REPO = Path(__file__).resolve().parents[1]
TILES_DIR = REPO.parent / "shared" / "data" / "s2_tiles"
VISION = "moco-resnet18"
S2_100K_TILES = 100_000


class InMemoryPatches(Dataset):
    """``length`` samples ``{"image": [12, H, W] uint16, "point": [2] float64}`` cycling through the given tiles."""

    def __init__(self, images: list[torch.Tensor], points: torch.Tensor, length: int) -> None:
        self.images, self.points, self.length = images, points, length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        k = index % len(self.images)
        return {"image": self.images[k], "point": self.points[k]}


class Repeated(Dataset):
    """``dataset`` cycled to ``length`` items."""

    def __init__(self, dataset: Any, length: int) -> None:
        self.dataset, self.length = dataset, length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> Any:
        return self.dataset[index % len(self.dataset)]


class StepTimer(Callback):
    """The wall-clock end of every training step, and the time inside each step (batch start -> batch end)."""

    def __init__(self) -> None:
        self.ends: list[float] = []
        self.inside: list[float] = []
        self._start = 0.0

    def on_train_batch_start(self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int) -> None:
        self._start = time.perf_counter()

    def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
        now = time.perf_counter()
        self.inside.append(now - self._start)
        self.ends.append(now)


def build_dataset_folder(root: Path, tiles: int) -> None:
    """``root/images`` with ``tiles`` symlinks to the real patches in turn, and ``root/index.csv`` (fn,lon,lat)."""
    index = pd.read_csv(TILES_DIR / "index.csv")
    (root / "images").mkdir(parents=True)
    rows = []
    for i in range(tiles):
        k = i % len(index)
        name = f"patch_{i}.tif"
        os.symlink(TILES_DIR / index["file"][k], root / "images" / name)
        rows.append((name, index["lon"][k], index["lat"][k]))
    pd.DataFrame(rows, columns=["fn", "lon", "lat"]).to_csv(root / "index.csv", index=False, float_format="%.8f")


def fit_and_time(module: Any, dataset: Dataset, batch_size: int, warmup: int, steps: int) -> tuple[float, float]:
    """Run ``warmup + steps`` training steps; (steps/s of the loop, steps/s of the steps alone) after the warm-up."""
    from satclip_cli.training.datamodule import S2DataModule

    timer = StepTimer()
    data = S2DataModule("(in memory)", batch_size=batch_size, num_workers=0, val_fraction=0.0, dataset=dataset)
    trainer = pl.Trainer(
        accelerator="cpu",
        devices=1,
        precision="32-true",
        max_epochs=1,
        limit_train_batches=warmup + steps,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        use_distributed_sampler=False,
        callbacks=[timer],
    )
    trainer.fit(module, datamodule=data)
    ends, inside = timer.ends, timer.inside
    if len(ends) != warmup + steps:
        sys.exit(f"expected {warmup + steps} steps, ran {len(ends)}")
    return steps / (ends[-1] - ends[warmup - 1]), steps / sum(inside[warmup:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--image-size", type=int, default=256, help="crop fed to the backbone, px (<= 256)")
    parser.add_argument("--views", type=int, choices=(1, 2, 4, 8), default=4, help="cached dihedral views")
    parser.add_argument("--warmup", type=int, default=2, help="uncached steps not timed")
    parser.add_argument("--steps", type=int, default=8, help="uncached steps timed")
    parser.add_argument("--cached-warmup", type=int, default=10, help="cached steps not timed")
    parser.add_argument("--cached-steps", type=int, default=300, help="cached steps timed")
    parser.add_argument("--cache-tiles", type=int, default=23, help="tiles whose features are cached (timed)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch intra-op threads")
    args = parser.parse_args()
    if not (TILES_DIR / "index.csv").is_file():
        sys.exit(f"{TILES_DIR} is not available")
    if not 2 <= args.image_size <= 256:
        sys.exit("--image-size must be between 2 and 256 (the patches are 256 x 256 px)")
    if min(args.warmup, args.cached_warmup) < 1 or min(args.steps, args.cached_steps) < 1:
        sys.exit("--warmup, --steps, --cached-warmup and --cached-steps must be at least 1")
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    warnings.filterwarnings("ignore", ".*GPU available but not used.*")
    warnings.filterwarnings("ignore", ".*module\\(s\\) in eval mode.*")  # the frozen backbone, on purpose
    warnings.filterwarnings("ignore", ".*LeafSpec.*is deprecated.*")
    for name in ("lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)

    from satclip_cli.dataset.torch_dataset import S2PatchDataset
    from satclip_cli.models.vision.freezing import apply_head, backbone_features
    from satclip_cli.training.build import build_module
    from satclip_cli.training.feature_cache import feature_cache_dataset

    tmp = Path(tempfile.mkdtemp(prefix="satclip-cache-bench-"))
    try:
        data_dir = tmp / "ds"
        build_dataset_folder(data_dir, args.cache_tiles)
        config = TrainConfig().override(
            data=str(data_dir),
            out=str(tmp / "run"),
            vision=VISION,
            vision_weights="none",
            image_size=args.image_size,
            batch_size=args.batch_size,
            num_workers=0,
            accelerator="cpu",
            precision="32-true",
            cache_features=True,
            cache_views=args.views,
        )
        torch.manual_seed(0)
        module = build_module(config)
        print(
            f"{VISION} (frozen, random weights), 13 x {args.image_size} x {args.image_size} px, location encoder "
            f"L={config.legendre_polys} {config.network} {config.capacity}x{config.num_hidden_layers} -> "
            f"{config.embed_dim}, batch {args.batch_size}, {args.views} cached views, {args.threads} threads, "
            f"{os.cpu_count()} CPUs"
        )

        with torch.no_grad():  # warm-up (allocator, oneDNN kernels), as the training steps get one
            visual = module.model.visual.eval()
            side = args.image_size
            backbone_features(visual, VISION, torch.zeros(min(args.batch_size, args.cache_tiles), 13, side, side))
        start = time.perf_counter()
        cached = feature_cache_dataset(config, module, S2PatchDataset(data_dir), progress=False)
        cache_s_per_tile = (time.perf_counter() - start) / args.cache_tiles
        print(
            f"cache: {args.cache_tiles} tiles x {args.views} views in {cache_s_per_tile * args.cache_tiles:.1f} s "
            f"= {cache_s_per_tile * 1000:.0f} ms/tile (features {tuple(cached.cache.features.shape)} float16)"
        )

        tiles = S2PatchDataset(data_dir)
        count = min(args.cache_tiles, len(pd.read_csv(TILES_DIR / "index.csv")))
        images = [tiles[i]["image"] for i in range(count)]
        points = torch.from_numpy(tiles.points[:count].copy())
        uncached_length = (args.warmup + args.steps) * args.batch_size
        uncached_loop, uncached_step = fit_and_time(
            module, InMemoryPatches(images, points, uncached_length), args.batch_size, args.warmup, args.steps
        )

        module.image_head = lambda features: apply_head(visual, VISION, features)  # as training.job.run does
        cached_length = (args.cached_warmup + args.cached_steps) * args.batch_size
        cached_loop, cached_step = fit_and_time(
            module, Repeated(cached, cached_length), args.batch_size, args.cached_warmup, args.cached_steps
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"{'':<16} {'steps/s':>9} {'step only':>10} {'ms/step':>9} {'tiles/s':>9}")
    for name, loop, step in (("without cache", uncached_loop, uncached_step), ("with cache", cached_loop, cached_step)):
        print(f"{name:<16} {loop:>9.3f} {step:>10.3f} {1000 / loop:>9.1f} {loop * args.batch_size:>9.1f}")
    print(f"speed-up with cache: {cached_loop / uncached_loop:.0f}x (step only {cached_step / uncached_step:.0f}x)")
    uncached_s_per_tile = 1 / (uncached_loop * args.batch_size)
    cached_s_per_tile = 1 / (cached_loop * args.batch_size)
    saved_per_epoch = uncached_s_per_tile - cached_s_per_tile
    print(
        f"break-even: {cache_s_per_tile / saved_per_epoch:.2f} epochs (cache {cache_s_per_tile * 1000:.0f} ms/tile "
        f"once, then {saved_per_epoch * 1000:.0f} ms/tile saved per epoch)"
    )
    n = S2_100K_TILES
    print(
        f"per {n:,} tiles: epoch {uncached_s_per_tile * n / 60:.0f} min without cache, "
        f"{cached_s_per_tile * n:.1f} s with cache; building the cache {cache_s_per_tile * n / 60:.0f} min once"
    )


if __name__ == "__main__":
    main()
