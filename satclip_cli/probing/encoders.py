"""The encoders a probe compares: location models (released, checkpoints, our files) and honest baselines.

Every encoder is a function ``f(lonlat float64 [N, 2] (lon, lat) degrees) -> float32 [N, D]``.
Baselines, reported by default, keep the comparison honest:

* ``coords``: the raw (lon, lat) in degrees, D = 2 — what any model must beat.
* ``sh10``, ``sh40``: spherical-harmonics features alone (L = 10 / 40, D = 100 / 1600), no
  network — a strong baseline for smooth targets.
* ``geoclip``: GeoCLIP's location encoder (Vivanco et al. 2023, D = 512) when the ``geoclip``
  extra is installed (``pip install -e ".[geoclip]"``; its wheel ships the weights, loaded on CPU).
  GeoCLIP takes (lat, lon); the (lon, lat) points are swapped before they reach it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from satclip_cli.errors import InputError, setting
from satclip_cli.probing.geoclip_encoder import geoclip_available

EncodeFn = Callable[[np.ndarray], np.ndarray]
BASELINES = ("coords", "sh10", "sh40", "geoclip")
DEFAULT_BASELINES = ("coords", "sh10", "sh40")


@dataclass(frozen=True)
class ProbeEncoder:
    """A named encoder: ``encode(lonlat [N, 2] degrees) -> float32 [N, dim]``; ``kind`` model or baseline."""

    name: str
    kind: str
    encode: EncodeFn
    description: str


def coords_features(lonlat: np.ndarray) -> np.ndarray:
    """The coordinates themselves: float32 [N, 2] (lon, lat) degrees."""
    return np.asarray(lonlat, dtype=np.float32).reshape(-1, 2)


def spherical_harmonics_features(degree: int) -> EncodeFn:
    """``f(lonlat) -> float32 [N, degree**2]``: exact real SH of all degrees < ``degree`` (no network)."""

    def encode(lonlat: np.ndarray) -> np.ndarray:
        import torch

        from satclip_cli.models.positional_encoding.spherical_harmonics import spherical_harmonics

        points = torch.from_numpy(np.ascontiguousarray(lonlat, dtype=np.float64))
        with torch.no_grad():
            return spherical_harmonics(points, degree, convention="orthonormal").float().numpy()

    return encode


def geoclip_features() -> EncodeFn:
    """GeoCLIP's pretrained location encoder, ``f(lonlat) -> float32 [N, 512]``, on CPU from its wheel's weights.

    See :mod:`~satclip_cli.probing.geoclip_encoder` (GeoCLIP takes (lat, lon): the columns are swapped there).
    """
    from satclip_cli.probing.geoclip_encoder import GeoclipLocationEncoder

    return GeoclipLocationEncoder()


def baseline_encoder(name: str) -> ProbeEncoder:
    """One of :data:`BASELINES` (``geoclip`` only when installed: :class:`InputError` otherwise)."""
    if name == "coords":
        return ProbeEncoder("coords", "baseline", coords_features, "raw (lon, lat) degrees, 2-d")
    if name in ("sh10", "sh40"):
        degree = int(name[2:])
        return ProbeEncoder(
            name, "baseline", spherical_harmonics_features(degree), f"spherical harmonics L={degree}, {degree**2}-d"
        )
    if name == "geoclip":
        return ProbeEncoder("geoclip", "baseline", geoclip_features(), "GeoCLIP location encoder, 512-d")
    raise InputError(f"unknown baseline {name!r}; use one of {', '.join(BASELINES)}")


def model_encoder(model: str, *, device: str = "auto", batch_size: int = 16384) -> ProbeEncoder:
    """A location model by released name or file (see ``satclip models``), embedded in float32."""
    from pathlib import Path

    from satclip_cli.models.inference import make_embed_fn, select_device
    from satclip_cli.models.registry import load_model

    encoder = load_model(model)
    embed = make_embed_fn(encoder, select_device(device), batch_size=batch_size)
    config = encoder.config
    name = Path(model).stem if Path(model).suffix else model
    description = f"{config.positional_encoding} L={config.legendre_polys}, {config.network}, {config.embed_dim}-d"
    return ProbeEncoder(name, "model", embed, description)


def resolve_encoders(
    models: list[str], baselines: list[str] | None = None, *, device: str = "auto"
) -> list[ProbeEncoder]:
    """Models first, then baselines (default :data:`DEFAULT_BASELINES`, plus ``geoclip`` when installed)."""
    if baselines is None:
        baselines = list(DEFAULT_BASELINES) + (["geoclip"] if geoclip_available() else [])
    encoders = [model_encoder(model, device=device) for model in models]
    encoders += [baseline_encoder(name) for name in baselines]
    names = [encoder.name for encoder in encoders]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise InputError(f"encoder name(s) given twice: {', '.join(duplicated)}")
    if not encoders:
        raise InputError(f"no encoders to probe: give {setting('models')} and/or keep the baselines")
    return encoders
