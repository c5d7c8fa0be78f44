"""Model names -> local files: the released SatCLIP checkpoints and where to find them.

:data:`REGISTRY` lists the six pretrained SatCLIP models Microsoft released on the Hugging Face
Hub (``microsoft/SatCLIP-<Vision>-L<L>``, one ``<name>.ckpt`` per repo; see
https://github.com/microsoft/satclip). An entry may also describe a model shipped inside this
package (``kind="bundled"``, a file under ``satclip_cli/data/``): ``bluemarble-l10``.

:func:`resolve_model` turns what a user gives as the ``model`` setting into a path: an existing local file
as is, a known name from the Hugging Face cache, downloading it once if needed. Everything a
user can fix becomes a one-line :class:`~satclip_cli.errors.CheckpointError` or
:class:`~satclip_cli.errors.OfflineError`. :func:`load_model` resolves a model and loads its location
encoder in one call (reading the file is :mod:`~satclip_cli.models.checkpoints`' job).

``huggingface_hub`` is imported inside the functions, so importing this module stays cheap.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from satclip_cli.errors import CheckpointError, OfflineError, one_line, setting
from satclip_cli.utils.package_data import PACKAGE_DATA_DIR

if TYPE_CHECKING:
    from huggingface_hub import HfFileMetadata

    from satclip_cli.models.location_encoder import LocationEncoder

ModelKind = Literal["huggingface", "bundled"]

#: Folder holding model files bundled with the package (``kind="bundled"`` entries).
BUNDLED_DATA_DIR = PACKAGE_DATA_DIR

#: Suffixes of the model files a ``model`` setting may name; a value ending in one of these is taken as a path.
MODEL_FILE_SUFFIXES = (".ckpt", ".safetensors", ".json", ".pt", ".pth")

_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class ModelSpec:
    """One entry of the model registry.

    Attributes:
        name: the short name users give as the ``model`` setting (lower case).
        kind: ``"huggingface"`` (downloaded from ``repo_id``) or ``"bundled"`` (shipped in the package).
        vision: the image encoder it was trained with, for people (``"ResNet18"``).
        vision_layers: the same as the checkpoint's ``hyper_parameters["vision_layers"]``.
        legendre_polys: L, the number of Legendre polynomials of the spherical-harmonics encoding.
        description: one line for ``satclip models``.
        repo_id: Hugging Face repo (``kind="huggingface"``).
        filename: file name inside the repo, or inside ``satclip_cli/data/`` for bundled models.
        revision: Git revision of the repo to download.
    """

    name: str
    kind: ModelKind
    vision: str
    vision_layers: str
    legendre_polys: int
    description: str
    filename: str
    repo_id: str | None = None
    revision: str = "main"

    def __post_init__(self) -> None:
        """Check that the fields fit the kind."""
        if self.kind == "huggingface" and not self.repo_id:
            raise ValueError(f"registry entry {self.name}: a huggingface model needs a repo_id")
        if self.kind == "bundled" and self.repo_id is not None:
            raise ValueError(f"registry entry {self.name}: a bundled model has no repo_id")

    @property
    def url(self) -> str | None:
        """Download address on the public Hub (for messages), or ``None`` for bundled models."""
        if self.repo_id is None:
            return None
        return f"https://huggingface.co/{self.repo_id}/resolve/{self.revision}/{self.filename}"


@dataclass(frozen=True)
class ModelInfo:
    """What :func:`list_models` reports about one registry entry.

    Attributes:
        name, kind, vision, legendre_polys, description: as in :class:`ModelSpec`.
        repo: Hugging Face repo id, ``None`` for bundled models.
        file: file name in the repo (or in ``satclip_cli/data/``).
        cached: whether the file is on this machine (in the Hugging Face cache, or bundled).
        path: the local file when ``cached``, else ``None``.
        size: its size in bytes when ``cached``, else ``None``.
    """

    name: str
    kind: ModelKind
    repo: str | None
    file: str
    legendre_polys: int
    vision: str
    description: str
    cached: bool
    path: Path | None
    size: int | None


def _released(vision: str, vision_layers: str, vision_text: str, legendre_polys: int) -> ModelSpec:
    """Build the registry entry of one released SatCLIP model."""
    name = f"satclip-{vision.lower()}-l{legendre_polys}"
    detail = "smooth, global-scale patterns" if legendre_polys == 10 else "finer spatial detail"
    return ModelSpec(
        name=name,
        kind="huggingface",
        vision=vision,
        vision_layers=vision_layers,
        legendre_polys=legendre_polys,
        description=f"Released SatCLIP, {vision_text} image encoder, L={legendre_polys}: {detail}",
        filename=f"{name}.ckpt",
        repo_id=f"microsoft/SatCLIP-{vision}-L{legendre_polys}",
    )


_RELEASED_MODELS: tuple[ModelSpec, ...] = tuple(
    _released(vision, layers, text, L)
    for vision, layers, text in (
        ("ResNet18", "moco_resnet18", "ResNet-18 (SSL4EO-S12 MoCo)"),
        ("ResNet50", "moco_resnet50", "ResNet-50 (SSL4EO-S12 MoCo)"),
        ("ViT16", "moco_vit16", "ViT-S/16 (SSL4EO-S12 MoCo)"),
    )
    for L in (10, 40)
)

#: Models shipped inside the package (files under ``satclip_cli/data/``).
_BUNDLED_MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(
        name="bluemarble-l10",
        kind="bundled",
        vision="ViT (from scratch)",
        vision_layers="2",
        legendre_polys=10,
        description="Bundled, works offline: trained by satclip on 30,000 Blue Marble RGB patches, L=10, SIREN "
        "(scripts/train_bundled_model.sh)",
        filename="bluemarble-l10.safetensors",
    ),
)
OFFLINE_FALLBACK = "bluemarble-l10"
"""The bundled model the offline error suggests."""

#: Every known model by name, in display order.
REGISTRY: dict[str, ModelSpec] = {spec.name: spec for spec in (*_RELEASED_MODELS, *_BUNDLED_MODELS)}


def model_names() -> list[str]:
    """The known model names, in display order."""
    return list(REGISTRY)


def find_model(name: str) -> ModelSpec | None:
    """The registry entry for a name or a Hugging Face repo id (case-insensitive), or ``None``."""
    key = name.strip().lower()
    if key in REGISTRY:
        return REGISTRY[key]
    for spec in REGISTRY.values():
        if spec.repo_id is not None and spec.repo_id.lower() == key:
            return spec
    return None


def resolve_model(
    name_or_path: str | os.PathLike[str],
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    endpoint: str | None = None,
    offline: bool | None = None,
) -> Path:
    """Turn a ``model`` setting (a name or a path) into a local model file.

    * An existing local file is returned as is (``~`` expanded).
    * A known model name (see :data:`REGISTRY`; a repo id such as ``microsoft/SatCLIP-ViT16-L40``
      works too) is looked up in the Hugging Face cache first, without touching the network, and
      otherwise downloaded once with ``huggingface_hub.hf_hub_download`` (with its progress bar).
      A fresh download is checked against the SHA-256 the Hub announces for it.
    * A bundled model resolves to its file under ``satclip_cli/data/``.

    Args:
        name_or_path: model name, repo id, or path of a ``.ckpt`` / ``.safetensors`` / ``.json`` file.
        cache_dir: Hugging Face hub cache folder; default: ``huggingface_hub``'s (``HF_HUB_CACHE``).
        endpoint: Hub address; default: ``huggingface_hub``'s (``HF_ENDPOINT``, else huggingface.co).
        offline: never use the network; default: ``HF_HUB_OFFLINE``.

    Returns:
        Path of the model file.

    Raises:
        CheckpointError: unknown name, a path that does not exist, a model missing on the Hub, or a
            cached/downloaded file that is empty, truncated or not a checkpoint.
        OfflineError: the model is not cached and the Hub cannot be reached (or ``offline``).
    """
    text = os.fspath(name_or_path)
    if not text.strip():
        raise CheckpointError(f"no model given; pass a model name ({', '.join(model_names())}) or a file path")
    local = Path(text).expanduser()
    if local.is_file():
        return local

    spec = find_model(text)
    if spec is None:
        if local.is_dir():
            raise CheckpointError(f"model {text} is a directory; pass a .ckpt, .safetensors or .json file")
        if _looks_like_path(text):
            named = find_model(Path(text).stem)
            hint = f" (to download the released model, pass its name: {named.name})" if named else ""
            raise CheckpointError(f"model file {text} not found{hint}")
        close = difflib.get_close_matches(text.lower(), model_names(), n=1, cutoff=0.6)
        did_you_mean = f"did you mean {close[0]}? " if close else ""
        raise CheckpointError(
            f"unknown model {text!r}; {did_you_mean}known models: {', '.join(model_names())} "
            "(or pass the path of a local .ckpt/.safetensors/.json file)"
        )

    if spec.kind == "bundled":
        return _resolve_bundled(spec)
    return _resolve_huggingface(spec, cache_dir=cache_dir, endpoint=endpoint, offline=offline)


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
    from satclip_cli.models.checkpoints import load_location_encoder

    return load_location_encoder(resolve_model(model, cache_dir=cache_dir), sh_method=sh_method)


def list_models(cache_dir: str | os.PathLike[str] | None = None) -> list[ModelInfo]:
    """Describe every known model and whether it is available locally (no network access).

    Args:
        cache_dir: Hugging Face hub cache folder; default: ``huggingface_hub``'s (``HF_HUB_CACHE``).
    """
    infos = []
    for spec in REGISTRY.values():
        path: Path | None
        if spec.kind == "bundled":
            candidate = BUNDLED_DATA_DIR / spec.filename
            path = candidate if candidate.is_file() else None
        else:
            path = _cached_file(spec, hub_cache_dir(cache_dir))
        infos.append(
            ModelInfo(
                name=spec.name,
                kind=spec.kind,
                repo=spec.repo_id,
                file=spec.filename,
                legendre_polys=spec.legendre_polys,
                vision=spec.vision,
                description=spec.description,
                cached=path is not None,
                path=path,
                size=path.stat().st_size if path is not None else None,
            )
        )
    return infos


def hub_cache_dir(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The Hugging Face hub cache folder used for ``cache_dir`` (``huggingface_hub``'s default if ``None``)."""
    if cache_dir is None:
        from huggingface_hub import constants

        cache_dir = constants.HF_HUB_CACHE
    return Path(cache_dir).expanduser()


def check_model_file(path: str | os.PathLike[str]) -> str:
    """Check that ``path`` plausibly holds a model; return its format.

    Returns ``"zip"`` (torch checkpoint, the format ``torch.save`` writes), ``"pickle"`` (legacy
    ``torch.save``), ``"safetensors"`` or ``"json"``. Raises :class:`CheckpointError` for an empty
    file, a truncated zip archive, or anything else.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(16)
    except OSError as error:
        raise CheckpointError(f"cannot read model file {path}: {error.strerror or error}") from None
    if size == 0:
        raise CheckpointError(f"model file {path} is empty")
    if head.startswith(b"PK\x03\x04"):
        if not zipfile.is_zipfile(path):
            raise CheckpointError(f"model file {path} is a truncated or damaged torch checkpoint (zip)")
        return "zip"
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return "pickle"
    if len(head) >= 9 and head[8:9] == b"{" and 0 < int.from_bytes(head[:8], "little") <= size - 8:
        return "safetensors"
    if head.lstrip()[:1] == b"{":
        return "json"
    raise CheckpointError(f"model file {path} is not a torch checkpoint, safetensors or JSON file")


def _looks_like_path(text: str) -> bool:
    """Whether a ``model`` setting is meant as a file path rather than a model name."""
    separators = {"/", os.sep} | ({os.altsep} if os.altsep else set())
    return (
        any(sep in text for sep in separators)
        or text.startswith(("~", "."))
        or text.lower().endswith(MODEL_FILE_SUFFIXES)
    )


def _resolve_bundled(spec: ModelSpec) -> Path:
    """The file of a bundled model, checked."""
    path = BUNDLED_DATA_DIR / spec.filename
    if not path.is_file():
        raise CheckpointError(
            f"bundled model {spec.name} is missing from this installation ({path}); reinstall satclip"
        )
    check_model_file(path)
    return path


def _cached_file(spec: ModelSpec, cache_dir: Path) -> Path | None:
    """The cached file of a Hub model, or ``None`` (looks at the cache only, never the network)."""
    from huggingface_hub import try_to_load_from_cache

    assert spec.repo_id is not None
    found = try_to_load_from_cache(spec.repo_id, spec.filename, cache_dir=cache_dir, revision=spec.revision)
    return Path(found) if isinstance(found, str) else None


def hf_hub_offline_env() -> bool:
    """Whether the ``HF_HUB_OFFLINE`` environment variable asks for no network (``1``, ``ON``, ``YES``, ``TRUE``)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in {"1", "ON", "YES", "TRUE"}


def _offline_mode(offline: bool | None) -> bool:
    """Resolve the ``offline`` argument: explicit value, else ``HF_HUB_OFFLINE`` (read now or at import)."""
    if offline is not None:
        return offline
    from huggingface_hub import constants

    return hf_hub_offline_env() or constants.is_offline_mode()


def _offline_error(spec: ModelSpec, cache_dir: Path, reason: str) -> OfflineError:
    """The one-line error for a model that is neither cached nor downloadable."""
    return OfflineError(
        f"model {spec.name} is not in the Hugging Face cache ({cache_dir}) and {reason}; "
        f"download {spec.url} on a machine with internet access and pass {setting('model')} "
        f"/path/to/{spec.filename}, or use the bundled {setting('model')} {OFFLINE_FALLBACK}"
    )


def _not_on_hub(spec: ModelSpec, hub: str, error: BaseException) -> CheckpointError:
    """The one-line error for a repo, revision or file the Hub does not have (or does not show us)."""
    return CheckpointError(f"{hub} has no {spec.repo_id}/{spec.filename} ({one_line(error, 80, with_type=True)})")


def _discard(path: Path) -> str:
    """Remove a bad cached file (the snapshot link and the blob it points to); say what happened."""
    try:
        blob = path.resolve()
        path.unlink(missing_ok=True)
        if blob != path:
            blob.unlink(missing_ok=True)
    except OSError:
        return f"delete {path} and run again to download it afresh"
    return "removed it from the cache; run again to download it afresh"


def _check_hub_file(spec: ModelSpec, path: Path, state: str) -> None:
    """Reject a cached or downloaded Hub file that is empty or not a checkpoint (and drop it).

    ``state`` ("cached" or "downloaded") only goes into the message.
    """
    try:
        check_model_file(path)
    except CheckpointError as error:
        raise CheckpointError(f"{error} ({state} {spec.name}); {_discard(path)}") from None


def _verify_download(spec: ModelSpec, path: Path, metadata: HfFileMetadata) -> None:
    """Compare a fresh download with the size and SHA-256 (LFS ETag) the Hub announced."""
    size = path.stat().st_size
    if metadata.size is not None and size != metadata.size:
        raise CheckpointError(
            f"downloaded {spec.name} has {size} bytes, the Hub announced {metadata.size}; {_discard(path)}"
        )
    etag = (metadata.etag or "").lower()
    if _SHA256_RE.match(etag):
        with path.open("rb") as handle:
            digest = hashlib.file_digest(handle, "sha256").hexdigest()
        if digest != etag:
            raise CheckpointError(
                f"downloaded {spec.name} is corrupt: SHA-256 {digest[:12]}… instead of {etag[:12]}…; {_discard(path)}"
            )
    _check_hub_file(spec, path, "downloaded")


def _resolve_huggingface(
    spec: ModelSpec,
    *,
    cache_dir: str | os.PathLike[str] | None,
    endpoint: str | None,
    offline: bool | None,
) -> Path:
    """Find a Hub model in the cache, or download it (see :func:`resolve_model`)."""
    import httpx  # huggingface-hub 1.x (pinned below 2 for the geoclip extra) talks through httpx
    from huggingface_hub import constants, get_hf_file_metadata, hf_hub_download, hf_hub_url
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RemoteEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    assert spec.repo_id is not None
    cache = hub_cache_dir(cache_dir)
    cached = _cached_file(spec, cache)
    if cached is not None:
        _check_hub_file(spec, cached, "cached")
        return cached

    if _offline_mode(offline):
        raise _offline_error(spec, cache, "offline mode is on (HF_HUB_OFFLINE), so it cannot be downloaded")

    hub = (endpoint or constants.ENDPOINT).rstrip("/")
    not_found = (RepositoryNotFoundError, GatedRepoError, RevisionNotFoundError, RemoteEntryNotFoundError)
    unreachable = (httpx.TransportError, OfflineModeIsEnabled, LocalEntryNotFoundError, HfHubHTTPError)

    # One quick metadata request first: fail fast when the Hub is unreachable (hf_hub_download
    # would retry with back-off for ~30 s), and learn the SHA-256 to check the download against.
    url = hf_hub_url(spec.repo_id, spec.filename, revision=spec.revision, endpoint=hub)
    try:
        metadata = get_hf_file_metadata(url, endpoint=hub)
    except not_found as error:
        raise _not_on_hub(spec, hub, error) from None
    except unreachable as error:
        reason = f"{hub} cannot be reached ({one_line(error, 160, with_type=True)})"
        raise _offline_error(spec, cache, reason) from None
    if metadata.commit_hash is None or metadata.etag is None:
        raise _offline_error(spec, cache, f"{hub} does not answer like the Hugging Face Hub (no commit or ETag header)")

    try:
        downloaded = hf_hub_download(spec.repo_id, spec.filename, revision=spec.revision, cache_dir=cache, endpoint=hub)
    except not_found as error:
        raise _not_on_hub(spec, hub, error) from None
    except unreachable as error:
        reason = f"downloading it from {hub} failed ({one_line(error, 160, with_type=True)})"
        raise _offline_error(spec, cache, reason) from None
    except OSError as error:  # e.g. the size check of http_get, a full disk
        raise CheckpointError(f"downloading {spec.name} failed: {one_line(error, 160, with_type=True)}") from None

    path = Path(downloaded)
    _verify_download(spec, path, metadata)
    return path
