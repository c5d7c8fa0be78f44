"""Pretrained weights for the vision encoders: a local state-dict file, or the published SSL4EO-S12 MoCo weights.

:func:`load_vision_weights` reads a local file (``.safetensors`` or a torch file, keys in timm/CLIP
layout or under a known prefix such as ``model.visual.``). :func:`load_published_weights` loads the
``moco-*`` encoders' published weights, fetched through torchgeo.

Weight downloads go through torchgeo, i.e. ``torch.hub.load_state_dict_from_url``: the file is
cached as ``torch.hub.get_dir()/checkpoints/<basename of the URL>`` (``$TORCH_HOME/hub/...``) and a
cached file is used without any network access. Downloads are verified against the SHA-256 prefix
in the file name (``check_hash=True``; torchgeo itself does not ask for it); torch.hub does not
re-verify a file already in the cache. A download that cannot happen is a one-line
:class:`~satclip_cli.errors.OfflineError` saying how to work offline. ``torchgeo`` is imported only
when needed.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import torch
from torch import nn

from satclip_cli.errors import CheckpointError, OfflineError, SatclipError, one_line, setting
from satclip_cli.models.registry import hf_hub_offline_env
from satclip_cli.models.vision.specs import VisionEncoderSpec, vision_encoder_spec

DOWNLOAD_TIMEOUT_S = 30.0
"""Socket timeout (seconds, per connect/read) while torchgeo downloads weights, so a blackholed
network fails instead of hanging. Applied only if no global default timeout is set."""

VERIFY_DOWNLOAD_HASH = True
"""Ask torch.hub to check a downloaded file against the SHA-256 prefix in its name."""

_KNOWN_PREFIXES = (
    "",
    "model.visual.",
    "visual.",
    "module.encoder_q.",
    "encoder_q.",
    "module.base_encoder.",
    "base_encoder.",
    "module.backbone.",
    "backbone.",
    "module.",
    "model.",
    "encoder.",
)
"""Key prefixes a weights file may put before the timm/CLIP names (SatCLIP, MoCo v2/v3, Lightning ...)."""


def load_vision_weights(visual: nn.Module, name: str, path: str | os.PathLike[str]) -> list[str]:
    """Load a local state-dict file into ``visual``; return the head keys left at their initial values.

    Accepted files: ``.safetensors``, or a torch file read with ``torch.load(weights_only=True)``
    holding a state dict, or a dict with one under ``state_dict`` / ``model`` (Lightning
    checkpoints, the original SSL4EO-S12 files). Keys may be in timm/CLIP layout or carry a
    prefix such as ``model.visual.`` (SatCLIP checkpoints), ``module.encoder_q.`` (MoCo v2) or
    ``module.base_encoder.`` (MoCo v3); the prefix matching most parameters wins. Head weights are
    loaded only if their shapes fit ``embed_dim``; every other parameter must be present with the
    right shape (BatchNorm ``num_batches_tracked`` may be missing).

    Raises:
        CheckpointError: unreadable file, or missing / unexpected / mis-shaped non-head keys (listed).
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise CheckpointError(f"vision weights file {path} does not exist")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            data: Any = load_file(str(path), device="cpu")
        else:
            data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        problem = one_line(error, 160, with_type=True)
        raise CheckpointError(f"cannot read vision weights {path} ({problem})") from None
    return _load_matching(visual, vision_encoder_spec(name), _unwrap_state_dict(data, path), source=str(path))


def _unwrap_state_dict(data: Any, source: Path | str) -> dict[str, torch.Tensor]:
    """The tensors of a loaded file: a state dict, or one under ``state_dict`` / ``model``."""
    for key in ("state_dict", "model"):
        if isinstance(data, Mapping) and isinstance(data.get(key), Mapping):
            data = data[key]
            break
    if not isinstance(data, Mapping):
        raise CheckpointError(f"{source} does not hold a state dict (found {type(data).__name__})")
    tensors = {str(k): v for k, v in data.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise CheckpointError(f"{source} holds no tensors")
    return tensors


def _load_matching(
    visual: nn.Module, spec: VisionEncoderSpec, state: Mapping[str, torch.Tensor], *, source: str
) -> list[str]:
    """Load ``state`` (any known prefix) into ``visual``; non-head tensors must all fit. Returns skipped head keys."""
    target = visual.state_dict()

    def stripped(prefix: str) -> dict[str, torch.Tensor]:
        return {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}

    prefix = max(_KNOWN_PREFIXES, key=lambda p: sum(k in target for k in stripped(p)))
    found = stripped(prefix)
    if not any(k in target for k in found):
        sample = ", ".join(list(state)[:3])
        raise CheckpointError(f"{source} has no {spec.name} weights (keys look like: {sample})")
    missing = [k for k in target if k not in found and not spec.is_head_key(k)]
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    unexpected = [k for k in found if k not in target and not spec.is_head_key(k)]
    shapes = [
        f"{k} {tuple(v.shape)} vs {tuple(target[k].shape)}"
        for k, v in found.items()
        if k in target and v.shape != target[k].shape and not spec.is_head_key(k)
    ]
    if missing or unexpected or shapes:
        problems = [
            f"{label} {len(keys)}: {', '.join(keys[:4])}{', …' if len(keys) > 4 else ''}"
            for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", shapes))
            if keys
        ]
        where = f" under prefix {prefix!r}" if prefix else ""
        raise CheckpointError(f"{source} does not fit a {spec.name} encoder{where}: {'; '.join(problems)}")
    selected = {k: v for k, v in found.items() if k in target and v.shape == target[k].shape}
    visual.load_state_dict(selected, strict=False)
    return [k for k in target if spec.is_head_key(k) and k not in selected]


def load_published_weights(visual: nn.Module, name: str) -> list[str]:
    """Load the published SSL4EO-S12 MoCo weights of a ``moco-*`` encoder into ``visual``.

    Returns the head keys left at their initial values (the published files have no head). See
    :func:`download_published_weights` for the cache, the download and its errors.
    """
    spec = vision_encoder_spec(name)
    return _load_matching(visual, spec, download_published_weights(spec.name), source=torchgeo_weights_url(spec.name))


def torchgeo_weights(name: str) -> Any:
    """The torchgeo weights enum member of a ``moco-*`` encoder (imports torchgeo)."""
    spec = vision_encoder_spec(name)
    if spec.torchgeo_weights is None:
        raise SatclipError(f"{spec.name} has no published weights")
    import torchgeo.models

    enum_name, member = spec.torchgeo_weights
    return getattr(getattr(torchgeo.models, enum_name), member)


def torchgeo_weights_url(name: str) -> str:
    """Download URL of a ``moco-*`` encoder's weights."""
    return str(torchgeo_weights(name).url)


def torchgeo_cache_path(name: str) -> Path:
    """Where torch.hub caches those weights: ``torch.hub.get_dir()/checkpoints/<URL basename>``.

    ``torch.hub.get_dir()`` is ``$TORCH_HOME/hub`` (default ``~/.cache/torch/hub``). Copying the
    file there (from a machine with internet access) makes ``weights="default"`` work offline.
    """
    url = torchgeo_weights_url(name)
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(urlparse(url).path)


def download_published_weights(name: str) -> dict[str, torch.Tensor]:
    """The MoCo state dict of a ``moco-*`` encoder: from the torch.hub cache, else downloaded by torchgeo.

    Reads with ``weights_only=True``. Downloads are verified (:data:`VERIFY_DOWNLOAD_HASH`), time
    out after :data:`DOWNLOAD_TIMEOUT_S` of silence, and print torch.hub's ``Downloading: ...`` line
    to stderr (not stdout). With ``HF_HUB_OFFLINE=1`` nothing is downloaded.

    Raises:
        OfflineError: not cached and the download failed (one line naming the URL).
        CheckpointError: the download failed its hash check, or the cached file is unreadable.
    """
    spec = vision_encoder_spec(name)
    weights = torchgeo_weights(name)
    url, cached = str(weights.url), torchgeo_cache_path(name)
    was_cached = cached.is_file()
    if not was_cached and hf_hub_offline_env():
        raise _offline_error(spec, url, cached, "HF_HUB_OFFLINE is set and the file is not cached")
    try:
        with _default_socket_timeout(DOWNLOAD_TIMEOUT_S), contextlib.redirect_stdout(sys.stderr):
            data = weights.get_state_dict(
                progress=True, map_location="cpu", weights_only=True, check_hash=VERIFY_DOWNLOAD_HASH
            )
    except Exception as error:
        problem = one_line(error, 160, with_type=True)
        if was_cached:
            raise CheckpointError(
                f"cannot read the cached {spec.name} weights {cached} ({problem}); delete it to download again"
            ) from None
        if isinstance(error, OSError):  # URLError, HTTPError, timeouts, connection errors
            raise _offline_error(spec, url, cached, problem) from None
        if "hash" in str(error).lower():
            raise CheckpointError(
                f"the {spec.name} weights downloaded from {url} failed their SHA-256 check ({problem}); "
                f"try again, or download the file yourself and pass {setting('vision_weights')} PATH"
            ) from None
        raise CheckpointError(f"cannot load the {spec.name} weights from {url} ({problem})") from None
    return _unwrap_state_dict(data, url)


def _offline_error(spec: VisionEncoderSpec, url: str, cached: Path, reason: str) -> OfflineError:
    """The one-line error for published weights that are neither cached nor downloadable."""
    return OfflineError(
        f"cannot download the {spec.name} weights from {url} ({reason}); pass {setting('vision_weights')} PATH with "
        f"a local copy of that file (or copy it to {cached}), or {setting('vision_weights')} none for random weights"
    )


@contextlib.contextmanager
def _default_socket_timeout(seconds: float) -> Iterator[None]:
    """Temporarily set a global socket timeout if none is set (urllib's urlopen uses it)."""
    previous = socket.getdefaulttimeout()
    if previous is None:
        socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        if previous is None:
            socket.setdefaulttimeout(None)
