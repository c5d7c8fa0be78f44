"""The training data: a folder of Sentinel-2 patches in the S2-100K layout, read as raw uint16 pixels.

Layout (S2-100K's, and what ``satclip sample`` writes; names in :mod:`satclip_cli.dataset.layout`)::

    ROOT/index.csv        columns fn,lon,lat (more columns are ignored); lon/lat in degrees, EPSG:4326
    ROOT/images/<fn>      12-band uint16 GeoTIFF, bands B01 B02 B03 B04 B05 B06 B07 B08 B8A B09 B11 B12,
                          reflectance x 10,000 (L2A digital numbers), typically 256 x 256 px

A sample is ``{"image": [12, H, W] torch.uint16, "point": [2] torch.float64 (lon, lat) degrees}``.
The workers only decode: pixels stay uint16 (half the bytes of float32 through the worker queue,
``pin_memory`` and the host-to-device copy); scaling, B10, crop, flips and blur run on the whole batch
on the accelerator (:mod:`satclip_cli.training.augmentations`).

Why ``torch.uint16`` (torch >= 2.3): ``torch.from_numpy`` takes numpy's uint16 without a copy, and
everything the batch goes through supports it: ``torch.stack`` into shared memory (workers), the
DataLoader's ``pin_memory`` (a dtype-agnostic byte copy into pinned memory), ``.to(device)`` (a
same-dtype memcpy) and ``.float()`` (the CPU and CUDA copy kernels dispatch on the "barebones"
unsigned types, and c10's ``fetch_and_cast`` has ``UInt16``). Arithmetic is not implemented for
uint16 in general, so the augmentation converts to float32 first (index gathers run on an int16 view).
int32 would double the bytes; an int16 view would misread reflectances >= 32768 unless re-viewed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch.utils.data import Dataset

from satclip_cli.dataset.index import check_images_present, read_index
from satclip_cli.dataset.layout import IMAGES_DIR, INDEX_CSV
from satclip_cli.dataset.patch_files import GDAL_READ_OPTIONS, read_error_reason
from satclip_cli.errors import InputError

PIXEL_DTYPES = ("uint16", "uint8")
"""uint16: Sentinel-2 reflectance x 10,000 (satclip sample, S2-100K); uint8: RGB (Blue Marble patches)."""
TORCH_PIXEL_DTYPES = {"uint16": torch.uint16, "uint8": torch.uint8}
"""The torch dtype a batch of each of :data:`PIXEL_DTYPES` is decoded into."""

Mode = Literal["both", "points"]


class S2PatchDataset(Dataset):
    """Patches and their locations from a dataset folder ``root`` in the S2-100K layout.

    ``mode="both"`` (default) yields ``{"image": [12, H, W] torch.uint16, "point": [2] torch.float64}``;
    ``mode="points"`` yields only ``{"point": ...}`` and needs no images (to embed the locations).
    ``point`` is (lon, lat) in degrees, in that order.

    The folder is checked when the dataset is built: :class:`InputError` (one line) for a missing
    folder or index, missing columns, missing, non-numeric or out-of-range coordinates, files listed but
    absent (how many, and the first). The first patch is opened to learn the patch size; every patch
    read later must have the same size, 12 bands and uint16 pixels.

    File names and points are kept in numpy arrays (no per-row Python objects), so forked DataLoader
    workers share them without copy-on-read growth.
    """

    def __init__(self, root: str | Path, mode: Mode = "both") -> None:
        if mode not in ("both", "points"):
            raise InputError(f"unknown dataset mode {mode!r}; use 'both' or 'points'")
        self.root = Path(root)
        self.mode: Mode = mode
        self.images_dir = self.root / IMAGES_DIR
        filenames, points = read_index(self.root)
        if mode == "both":
            check_images_present(self.images_dir, filenames, self.root / INDEX_CSV)
        self.filenames: np.ndarray = np.asarray(filenames, dtype=str)
        """File names in ``images/`` [N] (numpy unicode strings)."""
        self.points: np.ndarray = points
        """Locations [N, 2] float64, (lon, lat) degrees."""
        self.patch_shape: tuple[int, int, int] | None = None
        """(bands, height, width) of every patch; None in points mode."""
        self.pixel_dtype: np.dtype | None = None
        """uint16 (Sentinel-2) or uint8 (RGB) pixels of every patch; None in points mode."""
        if mode == "both":
            first = self.read_image(0)
            self.patch_shape = tuple(first.shape)  # type: ignore[assignment]
            self.pixel_dtype = first.dtype

    def __len__(self) -> int:
        return len(self.points)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        """``{"image": [C, H, W] torch.uint16 (or uint8), "point": [2] torch.float64 (lon, lat) degrees}``."""
        sample = {}
        if self.mode == "both":
            sample["image"] = torch.from_numpy(self.read_image(index))
        sample["point"] = torch.from_numpy(self.points[index].copy())
        return sample

    def __getitems__(self, indices: Sequence[int]) -> PatchBatch:
        """The samples of a batch (the DataLoader calls this with a batch's indices).

        Every image is decoded straight into one ``[B, C, H, W]`` buffer (in shared memory inside a
        DataLoader worker), so :func:`collate_patches` hands that buffer on instead of stacking copies:
        one allocation and no copy per batch. The samples are views into it.
        """
        if self.patch_shape is None:  # points mode: no images to decode
            return PatchBatch(self[index] for index in indices)
        points = _new_batch_tensor((len(indices), 2), torch.float64)
        points.copy_(torch.from_numpy(self.points[np.asarray(indices, dtype=np.int64)]))
        images = _new_batch_tensor((len(indices), *self.patch_shape), TORCH_PIXEL_DTYPES[str(self.pixel_dtype)])
        for row, index in enumerate(indices):
            self.read_image(index, out=images[row].numpy())
        batch = PatchBatch({"image": images[row], "point": points[row]} for row in range(len(indices)))
        batch.stacked = {"image": images, "point": points}
        return batch

    def path(self, index: int) -> Path:
        """The patch file of sample ``index``."""
        return self.images_dir / str(self.filenames[index])

    def read_image(self, index: int, out: np.ndarray | None = None) -> np.ndarray:
        """The pixels of patch ``index``: [C, H, W] as stored (12 bands uint16 reflectance x 10,000 for S2-100K).

        With ``out`` (of the dataset's patch shape and dtype) the pixels are decoded into it. The band
        count, size and dtype are checked against the first patch before decoding; InputError if they differ.
        """
        import rasterio
        from rasterio.errors import RasterioError

        path = self.path(index)
        try:
            with rasterio.Env(**GDAL_READ_OPTIONS), rasterio.open(path) as src:
                if len(set(src.dtypes)) != 1 or src.dtypes[0] not in PIXEL_DTYPES:
                    raise InputError(
                        f"{path} has {src.count} bands of {src.dtypes[0]}; expected uint16 (Sentinel-2 reflectance "
                        "x 10000) or uint8 (RGB) pixels"
                    )
                self._check_like_first(path, (src.count, src.height, src.width), np.dtype(src.dtypes[0]))
                return src.read(out=out)
        except RasterioError as error:
            raise InputError(f"cannot read patch {path}: {read_error_reason(error, path)}") from None

    def _check_like_first(self, path: Path, shape: tuple[int, int, int], dtype: np.dtype) -> None:
        """InputError unless a patch of ``shape`` (bands, rows, cols) and ``dtype`` matches the first patch."""
        if self.patch_shape is None:
            return
        first = self.path(0).name
        if shape[0] != self.patch_shape[0]:
            raise InputError(
                f"{path} has {shape[0]} bands but {first} has {self.patch_shape[0]}; "
                "all patches of a dataset must have the same bands"
            )
        if dtype != self.pixel_dtype:
            raise InputError(f"{path} has {dtype} pixels but {first} has {self.pixel_dtype}")
        if shape != self.patch_shape:
            raise InputError(
                f"{path} is {shape[1]} x {shape[2]} px but {first} is "
                f"{self.patch_shape[1]} x {self.patch_shape[2]}; all patches of a dataset must have the same size"
            )


def worker_error_message(error: BaseException) -> str | None:
    """The original one-line message of an error a DataLoader worker raised, or None if it is not one.

    torch re-raises a worker's exception in the main process as the same type with the worker's whole
    traceback as message (``Caught InputError in DataLoader worker process 1. Original Traceback ...``);
    the original message is the traceback's last line, after the exception's type.
    """
    text = str(error)
    if not text.startswith("Caught ") or "Original Traceback" not in text:
        return None
    last = text.rstrip().splitlines()[-1]
    name = type(error).__name__
    for prefix in (f"{type(error).__module__}.{name}: ", f"{name}: "):
        if last.startswith(prefix):
            return last[len(prefix) :].strip()
    return None


class PatchBatch(list):
    """The samples of one batch (a list of sample dicts), with ``stacked``: the batch already stacked, or None."""

    stacked: dict[str, torch.Tensor] | None = None


def collate_patches(samples: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Stack samples into ``{"image": [B, 12, H, W] torch.uint16, "point": [B, 2] torch.float64}``.

    A :class:`PatchBatch` from :meth:`S2PatchDataset.__getitems__` is already stacked and is passed on
    as it is. Otherwise, in a DataLoader worker the batch is stacked straight into shared memory (as
    ``default_collate`` does), so it reaches the main process without another copy. ``"image"`` is
    absent in points mode.
    """
    if isinstance(samples, PatchBatch) and samples.stacked is not None:
        return samples.stacked
    batch = {}
    for key in samples[0]:
        tensors = [sample[key] for sample in samples]
        out = _new_batch_tensor((len(tensors), *tensors[0].shape), tensors[0].dtype)
        batch[key] = torch.stack(tensors, out=out)
    return batch


def _new_batch_tensor(shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    """An uninitialised tensor of ``shape``; in shared memory inside a DataLoader worker (no copy to the main
    process), ordinary memory elsewhere."""
    if torch.utils.data.get_worker_info() is None:
        return torch.empty(shape, dtype=dtype)
    numel = int(np.prod(shape))
    storage = torch.empty(0, dtype=dtype)._typed_storage()._new_shared(numel, device="cpu")
    return torch.empty(0, dtype=dtype).new(storage).view(shape)


def split_indices(n: int, val_fraction: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A seeded random split of ``range(n)`` into (train, val) sorted int64 index arrays.

    The validation part has ``round(n * val_fraction)`` samples (at least 1 when ``val_fraction > 0``,
    and at most ``n - 1``); the two parts are disjoint and cover ``range(n)``. The same ``n``,
    ``val_fraction`` and ``seed`` always give the same split (numpy's PCG64, independent of torch's RNG).
    """
    if n < 1:
        raise InputError("the dataset is empty; nothing to split")
    if not 0 <= val_fraction < 1:
        raise InputError(f"the validation fraction must be in [0, 1), got {val_fraction}")
    n_val = 0
    if val_fraction > 0:
        n_val = min(n - 1, max(1, round(n * val_fraction)))
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[n_val:]).astype(np.int64), np.sort(order[:n_val]).astype(np.int64)
