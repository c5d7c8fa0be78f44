"""Run a location encoder over numpy arrays of points: device and dtype choice, batching."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from satclip_cli.errors import InputError, setting
from satclip_cli.models.location_encoder import LocationEncoder

DEVICES = ("auto", "cpu", "cuda", "mps")
DTYPES = {"float32": torch.float32, "float64": torch.float64}

EmbedFn = Callable[[np.ndarray], np.ndarray]


def select_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA, then Apple MPS, then CPU; an explicit but unavailable device is an error."""
    if name not in DEVICES:
        raise InputError(f"unknown device {name!r}; use one of {', '.join(DEVICES)}")
    cuda = torch.cuda.is_available()
    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if name == "auto":
        return torch.device("cuda" if cuda else "mps" if mps else "cpu")
    if name == "cuda" and not cuda:
        raise InputError(f"{setting('device')} cuda was requested but no CUDA GPU is available")
    if name == "mps" and not mps:
        raise InputError(f"{setting('device')} mps was requested but Apple MPS is not available")
    return torch.device(name)


def select_dtype(name: str, device: torch.device) -> torch.dtype:
    """Map ``float32``/``float64`` to a torch dtype (MPS has no float64)."""
    if name not in DTYPES:
        raise InputError(f"unknown dtype {name!r}; use float32 or float64")
    if device.type == "mps" and name == "float64":
        raise InputError(
            f"Apple MPS does not support float64; use {setting('dtype')} float32 or {setting('device')} cpu"
        )
    return DTYPES[name]


def make_embed_fn(
    encoder: LocationEncoder,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
    batch_size: int = 65536,
) -> EmbedFn:
    """Wrap ``encoder`` as ``f(lonlat float64 [n, 2]) -> float32 [n, embed_dim]``.

    Points are embedded in batches of ``batch_size`` on ``device`` in ``dtype``, in eval
    mode without autograd. Coordinates go to the device in float64 and are cast there,
    so float64 runs see the caller's exact coordinates.
    """
    if batch_size < 1:
        raise InputError(f"{setting('batch_size')} must be >= 1")
    device = torch.device(device)
    encoder = encoder.to(device=device, dtype=dtype).eval()

    def embed(lonlat: np.ndarray) -> np.ndarray:
        lonlat = np.ascontiguousarray(lonlat, dtype=np.float64)
        out = np.empty((lonlat.shape[0], encoder.embed_dim), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, lonlat.shape[0], batch_size):
                batch = torch.from_numpy(lonlat[start : start + batch_size]).to(device)
                out[start : start + batch.shape[0]] = encoder(batch.to(dtype)).float().cpu().numpy()
        return out

    return embed
