"""GPU check: the figures that matter on a GPU machine, in one command (sized for <= 8 minutes on one GPU).

    python benchmarks/gpu_check.py                       # the first CUDA GPU, full sizes
    python benchmarks/gpu_check.py --device cpu --small  # the same code path on the CPU in seconds (the test)

Prints, for ``--device`` (auto: CUDA, then Apple MPS, then CPU):

1. **Point embedding**: ``--points`` (10 M) area-uniform (lon, lat) points through an L=40 SIREN 512x2 -> 256
   location encoder (random weights: speed does not depend on them), exact spherical harmonics computed on the
   device, in batches of ``--batch-points`` each copied back to the host (as ``models.inference.make_embed_fn``
   does for ``satclip embed``): float32, then bf16 (``torch.autocast``: the network's matrix products in
   bfloat16, the harmonics in float32), with points/s, peak device memory and the bf16 embeddings' mean
   cosine similarity to float32.
2. **Raster chunk pipeline**: a ``--raster-size`` x ``--raster-size`` px grid (0.01 degree pixels, in Europe)
   embedded with an L=10 encoder (saved as our ``.safetensors`` model) through the in-process raster path of
   ``satclip embed`` (``embedding.job.run``): into a Zarr store of one chunk (when this version writes Zarr),
   then into a float32 COG; pixels/s of each.
3. **Training**: ``--steps`` (200) steps of ``satclip train --vision moco-resnet18 --vision-weights none``
   (random backbone weights: offline; a step costs the same), precision ``--precision`` (bf16-mixed), batch
   ``--batch-size``, ``--image-size`` px crops, 13 bands, on synthetic uint16 patches decoded into memory once
   (the loader's file decoding, the DataLoader workers' job, is not timed): without
   and with ``--cache-features`` (the cache built first from ``--cache-tiles`` patch files, timed separately),
   steps/s after ``--warmup`` steps and peak device memory (CPU: the process's peak RSS instead).

Every figure is measured in this run; nothing is compared with stored numbers. The last line gives the total
time against the 8-minute budget. (Written on a machine without a GPU: the default sizes are estimates of what fits
in 8 minutes on one data-centre GPU; lower ``--points``/``--steps`` if it runs over.)
"""

from __future__ import annotations

import argparse
import logging
import platform
import resource
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

SMALL = {
    "points": 5_000,
    "batch_points": 8192,
    "raster_size": 32,
    "steps": 2,
    "warmup": 1,
    "batch_size": 4,
    "image_size": 32,
    "cache_tiles": 4,
}
"""``--small``: sizes for a CPU run in seconds (what the test runs)."""
COMPARED_POINTS = 100_000
"""The bf16 embeddings of this many points are compared with float32 (cosine similarity)."""
BUDGET_S = 8 * 60
"""The whole check should stay within this on one GPU."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto", help="auto, cuda, cuda:1, mps or cpu (default: auto)")
    parser.add_argument("--small", action="store_true", help="small sizes (CPU smoke run): " + str(SMALL))
    parser.add_argument("--points", type=int, default=10_000_000, help="points to embed (default 10 M)")
    parser.add_argument("--batch-points", type=int, default=262_144, help="points per batch on the device")
    parser.add_argument("--raster-size", type=int, default=1024, help="raster grid side in pixels")
    parser.add_argument("--steps", type=int, default=200, help="timed training steps, each way")
    parser.add_argument("--warmup", type=int, default=5, help="training steps before the timing starts")
    parser.add_argument("--batch-size", type=int, default=128, help="training batch size")
    parser.add_argument("--image-size", type=int, default=256, help="training crop side in pixels (<= 256)")
    parser.add_argument("--cache-tiles", type=int, default=256, help="patch files the feature cache is built from")
    parser.add_argument("--precision", default="bf16-mixed", help="Lightning precision of the training steps")
    parser.add_argument("--skip", action="append", default=[], choices=("embed", "raster", "train"))
    args = parser.parse_args(argv)
    if args.small:
        for name, value in SMALL.items():
            setattr(args, name, value)
    if not 16 <= args.image_size <= 256:
        parser.error("--image-size must be between 16 and 256")
    if min(args.points, args.batch_points, args.raster_size, args.steps, args.warmup, args.batch_size) < 1:
        parser.error("sizes and counts must be at least 1")
    return args


# ----------------------------------------------------------------------------------------------------- device


def pick_device(name: str) -> Any:
    import torch

    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    return torch.device("mps" if mps is not None and mps.is_available() else "cpu")


def reset_peak(device: Any) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory(device: Any) -> str:
    """Peak memory since :func:`reset_peak`: the device's (CUDA), else the process's peak RSS so far."""
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)
        return f"peak GPU memory {torch.cuda.max_memory_allocated(device) / 2**30:.2f} GiB"
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return f"peak RSS (process, so far) {rss_kib / 2**20:.2f} GiB"


def synchronize(device: Any) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


# ------------------------------------------------------------------------------------------------ 1. points


def random_points(n: int, seed: int = 0) -> np.ndarray:
    """``n`` area-uniform (lon, lat) degrees, float64 [n, 2]."""
    rng = np.random.default_rng(seed)
    return np.stack([rng.uniform(-180, 180, n), np.degrees(np.arcsin(rng.uniform(-1, 1, n)))], axis=1)


def embed_points(encoder: Any, points: np.ndarray, device: Any, batch: int, bf16: bool, keep: int) -> np.ndarray:
    """The float32 embeddings of the first ``keep`` of ``points`` (every batch is embedded and copied to the host
    as ``satclip embed`` does, then dropped: 10 M x 256 float32 would be 10 GB of host memory); with ``bf16`` the
    network runs under bfloat16 autocast."""
    import torch

    kept = np.empty((min(keep, len(points)), encoder.embed_dim), dtype=np.float32)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16)
    with torch.inference_mode(), autocast:
        for start in range(0, len(points), batch):
            lonlat = torch.from_numpy(points[start : start + batch]).to(device).float()
            out = encoder(lonlat).float().cpu().numpy()
            if start < len(kept):
                kept[start : start + len(out)] = out[: len(kept) - start]
    return kept


def check_embedding(args: argparse.Namespace, device: Any) -> None:
    import torch

    from satclip_cli.models.location_encoder import build_location_encoder

    torch.manual_seed(0)
    encoder = build_location_encoder(legendre_polys=40, sh_method="exact").to(device).float().eval()
    points = random_points(args.points)
    reference: np.ndarray | None = None
    for bf16 in (False, True):
        embed_points(encoder, points[: args.batch_points], device, args.batch_points, bf16, keep=0)  # warm-up
        reset_peak(device)
        start = time.perf_counter()
        out = embed_points(encoder, points, device, args.batch_points, bf16, keep=COMPARED_POINTS)
        synchronize(device)
        seconds = time.perf_counter() - start
        name = "bf16   " if bf16 else "float32"
        extra = ""
        if reference is None:
            reference = out
        else:
            a, b = reference, out
            cosine = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
            extra = f"; mean cosine to float32 {cosine.mean():.5f} (min {cosine.min():.5f})"
        print(
            f"embed   {len(points):>12,} points, L=40 exact SH on {device.type}, {name}: {seconds:8.2f} s "
            f"{len(points) / seconds:>13,.0f} points/s; {peak_memory(device)}{extra}",
            flush=True,
        )


# ------------------------------------------------------------------------------------------------ 2. raster


def zarr_supported() -> bool:
    """Whether ``satclip embed`` writes Zarr stores in this version (``-o out.zarr``)."""
    from dataclasses import fields

    from satclip_cli.embedding.config import EmbedConfig

    return "zarr_chunk" in {field.name for field in fields(EmbedConfig)}


def check_raster(args: argparse.Namespace, device: Any, workdir: Path) -> None:
    """The raster path of ``satclip embed --bbox ... --resolution 0.01 -o OUT`` (the stage's ``run``), Zarr and COG."""
    import torch

    from satclip_cli.embedding.config import EmbedConfig
    from satclip_cli.embedding.job import run as embed
    from satclip_cli.models.checkpoints import save_location_encoder
    from satclip_cli.models.location_encoder import build_location_encoder

    torch.manual_seed(0)
    model = save_location_encoder(build_location_encoder(legendre_polys=10), workdir / "l10.safetensors")
    side = args.raster_size * 0.01
    bbox = (5.0, 45.0, 5.0 + side, 45.0 + side)
    outputs = (["grid.zarr"] if zarr_supported() else []) + ["grid.tif"]
    for name in outputs:
        options: dict[str, Any] = {"zarr_chunk": min(args.raster_size, 1024)} if name.endswith(".zarr") else {}
        config = EmbedConfig(
            model=str(model),
            output=workdir / name,
            bbox=bbox,
            resolution=0.01,
            device=device.type,
            batch_size=args.batch_points,
            **options,
        )
        reset_peak(device)
        raster = embed(config, progress=False).raster
        assert raster is not None
        kind = f"Zarr store (chunk side {options['zarr_chunk']})" if options else "COG"
        print(
            f"raster  {args.raster_size} x {args.raster_size} px = {raster.pixels:,} pixels, L=10, 256 bands, "
            f"in-process satclip embed -> {kind}: {raster.seconds:8.2f} s {raster.pixels_per_second:>11,.0f} "
            f"pixels/s; {peak_memory(device)}",
            flush=True,
        )
        if not options and "grid.zarr" not in outputs:
            print("raster  (this satclip writes no Zarr: the COG path only)", flush=True)


# ------------------------------------------------------------------------------------------------- 3. train


def write_patches(root: Path, count: int, size: int = 256) -> None:
    """``root/images/patch_<i>.tif``: ``count`` synthetic 12-band uint16 Sentinel-2-like patches + ``index.csv``."""
    import pandas as pd

    from satclip_cli.dataset.patch_files import write_patch

    rng = np.random.default_rng(0)
    (root / "images").mkdir(parents=True)
    rows = []
    for i in range(count):
        bands = rng.integers(0, 10_000, size=(12, size, size), dtype=np.uint16)
        transform = (10.0, 0.0, 500_000.0 + 10 * size * i, 0.0, -10.0, 5_000_000.0)
        write_patch(root / "images" / f"patch_{i}.tif", bands, "EPSG:32633", transform, {"index": i})
        lon, lat = random_points(1, seed=i)[0]
        rows.append((f"patch_{i}.tif", lon, lat))
    pd.DataFrame(rows, columns=["fn", "lon", "lat"]).to_csv(root / "index.csv", index=False, float_format="%.8f")


class Repeated:
    """``dataset`` cycled to ``length`` items (a map-style dataset)."""

    def __init__(self, dataset: Any, length: int) -> None:
        self.dataset, self.length = dataset, length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> Any:
        return self.dataset[index % len(self.dataset)]


def quiet_lightning() -> None:
    """Lightning's banners (device, AMP, tips) off: this script prints its own lines."""
    for name in ("lightning.pytorch", "lightning.fabric", "lightning.pytorch.utilities.rank_zero"):
        logging.getLogger(name).setLevel(logging.ERROR)


def fit_steps(module: Any, dataset: Any, args: argparse.Namespace, device: Any) -> float:
    """Train ``warmup + steps`` steps; steps/s of the ``steps`` after the warm-up (loader, Lightning, step)."""
    import lightning.pytorch as pl
    from lightning.pytorch.callbacks import Callback

    from satclip_cli.training.datamodule import S2DataModule

    ends: list[float] = []

    class StepEnds(Callback):
        def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
            synchronize(device)
            ends.append(time.perf_counter())

    quiet_lightning()
    data = S2DataModule("(in memory)", batch_size=args.batch_size, num_workers=0, val_fraction=0.0, dataset=dataset)
    accelerator = {"cuda": "gpu", "mps": "mps"}.get(device.type, "cpu")
    devices = [device.index] if device.type == "cuda" and device.index is not None else 1
    trainer = pl.Trainer(
        accelerator=accelerator,
        devices=devices,
        precision=args.precision,
        max_epochs=1,
        limit_train_batches=args.warmup + args.steps,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        use_distributed_sampler=False,
        callbacks=[StepEnds()],
    )
    trainer.fit(module, datamodule=data)
    if len(ends) != args.warmup + args.steps:
        raise SystemExit(f"expected {args.warmup + args.steps} training steps, ran {len(ends)}")
    return args.steps / (ends[-1] - ends[args.warmup - 1])


def check_training(args: argparse.Namespace, device: Any, workdir: Path) -> None:
    import torch

    from satclip_cli.dataset.torch_dataset import S2PatchDataset
    from satclip_cli.models.vision.freezing import apply_head
    from satclip_cli.training.build import build_module
    from satclip_cli.training.config import TrainConfig
    from satclip_cli.training.feature_cache import feature_cache_dataset

    data_dir = workdir / "patches"
    write_patches(data_dir, args.cache_tiles)
    config = TrainConfig().override(
        data=str(data_dir),
        out=str(workdir / "run"),
        vision="moco-resnet18",
        vision_weights="none",
        image_size=args.image_size,
        batch_size=args.batch_size,
        num_workers=0,
        precision=args.precision,
        cache_features=True,
    )
    length = (args.warmup + args.steps) * args.batch_size
    label = f"{args.steps} steps moco-resnet18 {args.precision}, batch {args.batch_size}, {args.image_size} px"

    torch.manual_seed(0)
    module = build_module(config)
    tiles = S2PatchDataset(data_dir)
    in_memory = [tiles[i] for i in range(len(tiles))]  # decoded once: the loader's file reads are not timed
    reset_peak(device)
    uncached = fit_steps(module, Repeated(in_memory, length), args, device)
    print(f"train   {label}, without cache: {uncached:8.2f} steps/s; {peak_memory(device)}", flush=True)

    torch.manual_seed(0)
    module = build_module(config).to(device)
    start = time.perf_counter()
    cached = feature_cache_dataset(config, module, S2PatchDataset(data_dir), progress=False)
    synchronize(device)
    cache_ms = (time.perf_counter() - start) / args.cache_tiles * 1000
    visual = module.model.visual
    module.image_head = lambda features: apply_head(visual, "moco-resnet18", features)  # as training.job.run does
    reset_peak(device)
    with_cache = fit_steps(module, Repeated(cached, length), args, device)
    print(
        f"train   {label}, with cache:    {with_cache:8.2f} steps/s ({with_cache / uncached:.1f}x; cache built at "
        f"{cache_ms:.1f} ms/tile, {args.cache_tiles} tiles x {config.cache_views} views); {peak_memory(device)}",
        flush=True,
    )


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    warnings.filterwarnings("ignore", ".*GPU available but not used.*")
    warnings.filterwarnings("ignore", ".*module\\(s\\) in eval mode.*")
    warnings.filterwarnings("ignore", ".*LeafSpec.*is deprecated.*")
    warnings.filterwarnings("ignore", ".*precision.*")
    logging.getLogger("rasterio").setLevel(logging.ERROR)
    import torch

    device = pick_device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA GPU is available (use --device cpu --small for a smoke run)")
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "CPU"
    print(f"device  {device} ({gpu}), torch {torch.__version__}, {torch.get_num_threads()} CPU threads", flush=True)
    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="satclip-gpu-check-"))
    try:
        if "embed" not in args.skip:
            check_embedding(args, device)
        if "raster" not in args.skip:
            check_raster(args, device, workdir)
        if "train" not in args.skip:
            check_training(args, device, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    total = time.perf_counter() - started
    verdict = "within" if total <= BUDGET_S else "OVER"
    print(f"total   {total:.1f} s ({verdict} the {BUDGET_S // 60} min budget)", flush=True)


if __name__ == "__main__":
    sys.exit(main())
