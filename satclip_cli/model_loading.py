"""Turn a ``--model`` value (released name or local file) into a ready location encoder."""

from __future__ import annotations

import os

from satclip_cli.checkpoints import load_location_encoder
from satclip_cli.location_encoder import LocationEncoder
from satclip_cli.model_registry import resolve_model


def load_model(
    model: str, *, sh_method: str | None = None, cache_dir: str | os.PathLike[str] | None = None
) -> LocationEncoder:
    """Resolve ``model`` (downloading a released model once) and load its location encoder.

    Args:
        model: released model name (``satclip-resnet18-l10`` ...), or a path to an
            official ``.ckpt`` or our ``.safetensors``/``.json``.
        sh_method: ``exact`` or ``legacy`` spherical harmonics; default: what reproduces
            the model (legacy for official analytic checkpoints with L > 10).
        cache_dir: Hugging Face cache folder (default: the standard one).
    """
    return load_location_encoder(resolve_model(model, cache_dir=cache_dir), sh_method=sh_method)
