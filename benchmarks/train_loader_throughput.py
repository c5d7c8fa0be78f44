"""Training loader throughput: our uint16 loader + batch augmentation vs the original SatCLIP per-sample loader.

    python benchmarks/train_loader_throughput.py [--samples 2000] [--batch-size 64] [--workers 2] [--crop 224]
        [--repeats 2] [--format s2-100k|sampler] [--baseline-dtype float32|float64] [--threads 1]

Builds, in a temp dir, a dataset folder in the S2-100K layout with ``--samples`` patches: symlinks to the 23
real 12-band patches in ``<repo>/../shared/data/s2_tiles`` repeated in turn, and an ``index.csv`` (fn,lon,lat)
with their points. ``--format s2-100k`` (default) uses the files as they are: S2-100K's own encoding (LZW,
horizontal predictor, 512 x 512 tiles on a 256 x 256 patch, pixel-interleaved). ``--format sampler``
re-encodes the 23 patches once as ``satclip sample`` writes them (DEFLATE, predictor, 256 px tiles).

Measured in the same run, on the same files in the same (seeded) shuffled order, with the same
``--workers``, ``--batch-size``, and crop, alternating the loaders ``--repeats`` times:

* ours: ``S2PatchDataset`` (rasterio read, uint16 kept) + ``DataLoader(collate_fn=collate_patches)``,
  then ``BatchAugmentation(train=True)`` on each batch in the main process, on the CPU: here the CPU
  stands in for the accelerator, so the augmentation competes with the workers for the same cores
  (on a GPU machine it would cost the CPU nothing).
* ours, loader only: the same without the augmentation (the decode-bound ceiling of any loader here).
* original: SatCLIP's ``S2Geo`` + ``get_pretrained_s2_train_transform``, per sample in the workers:
  rasterio read, ``.astype(float32)`` (``--baseline-dtype float64``: the uint16 array / 10000.0 -> float64,
  as an earlier version did), / 10000, B10 by ``np.concatenate``, ``torch.tensor``, torchvision
  ``RandomCrop``, ``RandomHorizontalFlip``, ``RandomVerticalFlip``, ``GaussianBlur(3)``, and the point
  jitter ``point + U(0, 0.01)`` degrees; ``default_collate``.

images/s = augmented images delivered to the training loop / wall time, from the first batch received
(worker start-up and the first batch are excluded) to the last; ``drop_last`` batches. The main process
uses ``--threads`` torch threads. The ratio is ours / original of the best repeat of each.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, Dataset

from satclip_cli.training.batch_augmentations import BatchAugmentation
from satclip_cli.training.s2_dataset import S2PatchDataset, collate_patches

REPO = Path(__file__).resolve().parents[1]
TILES_DIR = REPO.parent / "shared" / "data" / "s2_tiles"


class OriginalS2Geo(Dataset):
    """The original SatCLIP ``S2Geo`` dataset with its pretrained-encoder train transform, per sample."""

    def __init__(self, root: Path, crop: int, baseline_dtype: str) -> None:
        import torchvision.transforms as T

        index = pd.read_csv(root / "index.csv")
        self.filenames = [str(root / "images" / name) for name in index["fn"]]
        self.points = list(zip(index["lon"], index["lat"], strict=True))
        self.float64 = baseline_dtype == "float64"
        self.augmentation = T.Compose(
            [T.RandomCrop(crop), T.RandomHorizontalFlip(), T.RandomVerticalFlip(), T.GaussianBlur(3)]
        )

    def __len__(self) -> int:
        return len(self.filenames)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        import rasterio

        point = torch.tensor(self.points[index])
        with rasterio.open(self.filenames[index]) as f:
            data = f.read() if self.float64 else f.read().astype(np.float32)
        image = data / 10000.0
        b10 = np.zeros((1, *image.shape[1:]), dtype=image.dtype)
        image = np.concatenate([image[:10], b10, image[10:]], axis=0)
        image = self.augmentation(torch.tensor(image))
        point = point + torch.rand(point.shape) * 0.01
        return {"image": image, "point": point}


def build_dataset(root: Path, samples: int, fmt: str) -> None:
    """``root/images`` with ``samples`` symlinks to the real patches (re-encoded once for ``sampler``) + index.csv."""
    index = pd.read_csv(TILES_DIR / "index.csv")
    sources = [TILES_DIR / name for name in index["file"]]
    if fmt == "sampler":
        sources = [reencode_like_sampler(path, root / "sources") for path in sources]
    images = root / "images"
    images.mkdir(parents=True)
    rows = []
    for i in range(samples):
        k = i % len(sources)
        name = f"patch_{i}.tif"
        os.symlink(sources[k], images / name)
        rows.append((name, index["lon"][k], index["lat"][k]))
    pd.DataFrame(rows, columns=["fn", "lon", "lat"]).to_csv(root / "index.csv", index=False, float_format="%.8f")


def reencode_like_sampler(path: Path, out_dir: Path) -> Path:
    import rasterio

    from satclip_cli.sampling.patch_writer import write_patch

    out_dir.mkdir(parents=True, exist_ok=True)
    with rasterio.open(path) as src:
        bands, crs, transform = src.read(), src.crs.to_string(), tuple(src.transform)[:6]
    out = out_dir / path.name
    write_patch(out, bands, crs, transform, {})  # type: ignore[arg-type]
    return out


def timed(batches: Iterable[Any], step: Callable[[Any], int]) -> tuple[float, int]:
    """Images per second over all batches but the first (start-up), and how many images were counted."""
    iterator = iter(batches)
    step(next(iterator))
    start, images = time.perf_counter(), 0
    for batch in iterator:
        images += step(batch)
    return images / (time.perf_counter() - start), images


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--crop", type=int, default=224)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--format", choices=("s2-100k", "sampler"), default="s2-100k")
    parser.add_argument("--baseline-dtype", choices=("float32", "float64"), default="float32")
    parser.add_argument("--threads", type=int, default=1, help="torch threads of the main process")
    args = parser.parse_args()
    if not (TILES_DIR / "index.csv").is_file():
        sys.exit(f"{TILES_DIR} is not available")
    torch.set_num_threads(args.threads)
    tmp = Path(tempfile.mkdtemp(prefix="satclip-loader-bench-"))
    try:
        root = tmp / "ds"
        build_dataset(root, args.samples, args.format)
        ours_dataset = S2PatchDataset(root)
        original_dataset = OriginalS2Geo(root, args.crop, args.baseline_dtype)
        augment = BatchAugmentation(args.crop, insert_b10=True)

        def loader(dataset: Dataset, collate: Callable | None) -> DataLoader:
            return DataLoader(
                dataset,
                batch_size=args.batch_size,
                shuffle=True,
                generator=torch.Generator().manual_seed(0),
                num_workers=args.workers,
                collate_fn=collate,
                drop_last=True,
            )

        def ours_step(batch: dict[str, torch.Tensor]) -> int:
            images, _ = augment(batch["image"], batch["point"], train=True)
            return len(images)

        def loader_only_step(batch: dict[str, torch.Tensor]) -> int:
            return len(batch["image"])

        def original_step(batch: dict[str, torch.Tensor]) -> int:
            assert batch["image"].shape[1:] == (13, args.crop, args.crop)
            return len(batch["image"])

        runs: dict[str, list[float]] = {"ours": [], "ours, loader only": [], "original": []}
        print(
            f"{args.samples:,} samples ({args.format} files), batch {args.batch_size}, {args.workers} workers, "
            f"crop {args.crop}, baseline {args.baseline_dtype}, main-process threads {args.threads}, "
            f"{os.cpu_count()} CPUs"
        )
        for repeat in range(args.repeats):
            for name, dataset, collate, step in (
                ("ours", ours_dataset, collate_patches, ours_step),
                ("original", original_dataset, None, original_step),
                ("ours, loader only", ours_dataset, collate_patches, loader_only_step),
            ):
                rate, counted = timed(loader(dataset, collate), step)
                runs[name].append(rate)
                print(f"  repeat {repeat + 1}: {name:<18} {rate:7.1f} images/s ({counted:,} images)")
        best = {name: max(rates) for name, rates in runs.items()}
        print(f"{'loader':<20} {'best images/s':>14} {'median':>8}")
        for name, rates in runs.items():
            print(f"{name:<20} {best[name]:>14.1f} {statistics.median(rates):>8.1f}")
        print(f"ratio ours / original: {best['ours'] / best['original']:.2f}x")
        print(f"ceiling (loader only / original): {best['ours, loader only'] / best['original']:.2f}x")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
