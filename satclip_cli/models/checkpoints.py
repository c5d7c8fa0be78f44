"""Read official SatCLIP Lightning checkpoints and read/write our light safetensors format.

Official checkpoints (the released ``satclip-*.ckpt`` and anything the original trainer
writes) are torch zip files with ``state_dict`` and ``hyper_parameters``. They are read
with ``torch.load(..., weights_only=True)``, which never unpickles arbitrary objects, and
only the location encoder is kept (``model.location.nnet.*``; ``model.visual.*`` is
ignored).

Our own format is ``NAME.safetensors`` (location-encoder weights; the config is also
stored in the safetensors metadata) plus ``NAME.json`` (the same config, readable).
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

import torch

from satclip_cli.errors import CheckpointError, setting
from satclip_cli.models.location_encoder import LocationEncoder, LocationEncoderConfig, build_location_encoder
from satclip_cli.utils.atomic_output import atomic_output, check_output_path
from satclip_cli.utils.output_folder import check_file_folder

#: Official ``le_type`` -> our positional-encoding names.
_OFFICIAL_ENCODINGS = {
    "sphericalharmonics": "sphericalharmonics",
    "direct": "direct",
    "cartesian3d": "cartesian3d",
    "wrap": "wrap",
    "grid": "grid",
    "theory": "theory",
    "spherec": "spherec",
    "spherecplus": "spherec+",
    "spherem": "spherem",
    "spheremplus": "spherem+",
}
#: Official ``harmonics_calculation`` -> our spherical-harmonics convention.
_OFFICIAL_CONVENTIONS = {"analytic": "satclip", "closed-form": "closed-form"}
_STATE_PREFIXES = ("model.location.nnet.", "model.nnet.")
_METADATA_KEY = "satclip_config"
CHECKPOINT_INFO_KEY = "satclip_cli"
"""Checkpoint key under which ``satclip train`` stores its own settings (e.g. the exact SH it used)."""


def official_location_hparams(config: LocationEncoderConfig) -> dict[str, Any]:
    """The original ``hyper_parameters`` describing the location encoder ``config`` (inverse of
    :func:`config_from_official_hparams`). The ``orthonormal`` SH convention has no original
    name; it is stored as ``orthonormal``, which only our loader reads."""
    le_type = {ours: official for official, ours in _OFFICIAL_ENCODINGS.items()}[config.positional_encoding]
    calculation = {ours: official for official, ours in _OFFICIAL_CONVENTIONS.items()}.get(
        config.sh_convention, config.sh_convention
    )
    return {
        "le_type": le_type,
        "pe_type": config.network,
        "frequency_num": config.frequency_num,
        "max_radius": config.max_radius,
        "min_radius": config.min_radius,
        "legendre_polys": config.legendre_polys,
        "harmonics_calculation": calculation,
        "embed_dim": config.embed_dim,
        "num_hidden_layers": config.num_hidden_layers,
        "capacity": config.capacity,
    }


def default_sh_method(legendre_polys: int, harmonics_calculation: str) -> str:
    """SH evaluation that reproduces an official model: ``legacy`` for analytic with L > 10.

    The released L = 40 models were trained on the official expanded-polynomial
    features, which are inexact for high degrees (see ``legacy_harmonics``); at L <= 10
    the two evaluations agree to ~1e-12 and the exact one is used.
    """
    return "legacy" if harmonics_calculation == "analytic" and legendre_polys > 10 else "exact"


def config_from_official_hparams(hparams: dict[str, Any], sh_method: str | None = None) -> LocationEncoderConfig:
    """Translate official ``hyper_parameters`` into a :class:`LocationEncoderConfig`."""
    try:
        le_type = str(hparams.get("le_type", "sphericalharmonics"))
        pe_type = str(hparams.get("pe_type", "siren"))
        legendre_polys = int(hparams.get("legendre_polys", 10))
        calculation = str(hparams.get("harmonics_calculation", "analytic"))
        embed_dim = int(hparams["embed_dim"])
        capacity = int(hparams.get("capacity", 256))
        num_hidden_layers = int(hparams.get("num_hidden_layers", 2))
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"checkpoint hyper_parameters are incomplete or invalid ({error})") from None
    if le_type not in _OFFICIAL_ENCODINGS:
        raise CheckpointError(f"checkpoint uses an unsupported positional encoding le_type={le_type!r}")
    if pe_type not in ("siren", "mlp", "linear", "fcnet"):
        raise CheckpointError(f"checkpoint uses an unsupported network pe_type={pe_type!r}")
    convention = "satclip"
    if le_type == "sphericalharmonics":
        if calculation not in _OFFICIAL_CONVENTIONS:
            raise CheckpointError(f"checkpoint uses harmonics_calculation={calculation!r}, which is not supported")
        convention = _OFFICIAL_CONVENTIONS[calculation]
    method = sh_method or default_sh_method(legendre_polys, calculation)
    if method == "legacy" and convention != "satclip":
        raise CheckpointError(
            f"{setting('sh_method')} legacy applies only to checkpoints with harmonics_calculation 'analytic'"
        )
    try:
        return _official_config(hparams, le_type, legendre_polys, convention, method, pe_type, embed_dim, capacity,
                                num_hidden_layers)  # fmt: skip
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"checkpoint hyper_parameters are invalid: {error}") from None


def _official_config(
    hparams: dict[str, Any],
    le_type: str,
    legendre_polys: int,
    convention: str,
    method: str,
    pe_type: str,
    embed_dim: int,
    capacity: int,
    num_hidden_layers: int,
) -> LocationEncoderConfig:
    """The config of official hyper-parameters already checked by :func:`config_from_official_hparams`."""
    return LocationEncoderConfig(
        positional_encoding=_OFFICIAL_ENCODINGS[le_type],
        legendre_polys=legendre_polys,
        sh_convention=convention,
        sh_method=method,
        frequency_num=int(hparams.get("frequency_num", 10)),
        min_radius=float(hparams.get("min_radius", 1.0)),
        max_radius=float(hparams.get("max_radius", 360.0)),
        network=pe_type,
        embed_dim=embed_dim,
        capacity=capacity,
        # The original FCNet always had four residual blocks.
        num_hidden_layers=4 if pe_type == "fcnet" else num_hidden_layers,
    )


def _load_weights(encoder: LocationEncoder, state: dict[str, torch.Tensor], source: Path) -> LocationEncoder:
    """Load ``nnet.*`` weights into ``encoder``, with a clear error on any mismatch."""
    expected = encoder.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        detail = f"missing {missing[:3]}" if missing else f"unexpected {unexpected[:3]}"
        raise CheckpointError(f"{source}: weights do not fit the model described by its config ({detail})")
    for key, tensor in state.items():
        if tuple(tensor.shape) != tuple(expected[key].shape):
            raise CheckpointError(
                f"{source}: weight {key} has shape {tuple(tensor.shape)}, "
                f"expected {tuple(expected[key].shape)} from its config"
            )
    dtype = next(iter(state.values())).dtype
    encoder = encoder.to(dtype if dtype.is_floating_point else torch.float32)
    encoder.load_state_dict(state)
    return encoder.eval()


def load_official_checkpoint(path: str | os.PathLike, sh_method: str | None = None) -> LocationEncoder:
    """Location encoder of an official SatCLIP Lightning checkpoint (``.ckpt``), in eval mode.

    Args:
        path: checkpoint file.
        sh_method: ``exact`` or ``legacy`` spherical harmonics; default
            :func:`default_sh_method` (legacy for analytic L > 10).

    Raises:
        CheckpointError: unreadable or corrupt file, a pickle with arbitrary objects,
            or a layout that is not an official SatCLIP checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} not found")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for corrupt or unsafe files
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CheckpointError(f"cannot read checkpoint {path}: {first_line[:200]}") from None
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint or "hyper_parameters" not in checkpoint:
        raise CheckpointError(f"{path} is not a SatCLIP Lightning checkpoint (no state_dict/hyper_parameters)")
    config = _config_of_checkpoint(checkpoint, sh_method)
    state_dict = checkpoint["state_dict"]
    for prefix in _STATE_PREFIXES:
        state = {"nnet." + k[len(prefix) :]: v for k, v in state_dict.items() if k.startswith(prefix)}
        if state:
            break
    else:
        raise CheckpointError(f"{path} has no location-encoder weights (model.location.nnet.*)")
    return _load_weights(build_location_encoder(config), state, path)


def _config_of_checkpoint(checkpoint: dict[str, Any], sh_method: str | None) -> LocationEncoderConfig:
    """The location encoder's config: ours when ``satclip train`` wrote the checkpoint, else the original's."""
    info = checkpoint.get(CHECKPOINT_INFO_KEY)
    if isinstance(info, dict) and isinstance(info.get("location_encoder"), dict):
        try:
            config = LocationEncoderConfig.from_dict(info["location_encoder"])
        except (TypeError, ValueError) as error:
            raise CheckpointError(f"checkpoint {CHECKPOINT_INFO_KEY} settings are invalid ({error})") from None
        return _with_sh_method(config, sh_method) if sh_method is not None else config
    return config_from_official_hparams(dict(checkpoint["hyper_parameters"]), sh_method=sh_method)


def _with_sh_method(config: LocationEncoderConfig, sh_method: str) -> LocationEncoderConfig:
    """``config`` evaluating its spherical harmonics by ``sh_method`` (``legacy`` needs the 'satclip' convention)."""
    if sh_method == "legacy" and config.sh_convention != "satclip":
        raise CheckpointError(f"{setting('sh_method')} legacy applies only to models in the 'satclip' SH convention")
    return config.replace(sh_method=sh_method)


def save_location_encoder(encoder: LocationEncoder, path: str | os.PathLike, overwrite: bool = False) -> Path:
    """Write ``path`` (``.safetensors``) and its ``.json`` config beside it, atomically.

    Returns the safetensors path.
    """
    from safetensors.torch import save_file

    path = Path(path)
    if path.suffix != ".safetensors":
        raise CheckpointError(f"model file must end in .safetensors, got {path.name}")
    config_json = json.dumps(encoder.config.to_dict(), indent=2)
    tensors = {k: v.detach().contiguous().cpu() for k, v in encoder.state_dict().items()}
    json_path = path.with_suffix(".json")
    check_file_folder(path, "model file")
    with atomic_output(json_path, overwrite=overwrite) as tmp_json, atomic_output(path, overwrite=overwrite) as tmp:
        mode = tmp.stat().st_mode & 0o777  # what atomic_output gave the file (the umask's permissions)
        save_file(tensors, str(tmp), metadata={_METADATA_KEY: config_json})
        os.chmod(tmp, mode)  # safetensors re-creates the file 0600; keep the same permissions as the .json
        tmp_json.write_text(config_json + "\n")
    return path


def export_location_encoder(checkpoint: str | os.PathLike, output: str | os.PathLike, overwrite: bool = False) -> Path:
    """Write the location encoder of a Lightning checkpoint as ``output`` (.safetensors) + .json.

    The encoder keeps the spherical-harmonics evaluation its checkpoint implies (see
    :func:`load_official_checkpoint`) and its weights' dtype. Returns the safetensors path.
    """
    output = Path(output)
    if output.suffix != ".safetensors":
        raise CheckpointError(f"output must end in .safetensors, got {output.name}")
    check_output_path(output, overwrite)
    check_file_folder(output, "model file")
    return save_location_encoder(load_official_checkpoint(checkpoint), output, overwrite=overwrite)


def load_safetensors_model(path: str | os.PathLike, sh_method: str | None = None) -> LocationEncoder:
    """Load our light format (``.safetensors`` + ``.json``; either path may be given)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file, safe_open

    path = Path(path)
    weights = path.with_suffix(".safetensors")
    if not weights.is_file():
        raise CheckpointError(f"model weights {weights} not found")
    try:
        with safe_open(str(weights), framework="pt") as handle:
            metadata = handle.metadata() or {}
        state = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(f"cannot read {weights}: {str(error).splitlines()[0][:200]}") from None
    config_path = weights.with_suffix(".json")
    try:
        if _METADATA_KEY in metadata:
            config_dict = json.loads(metadata[_METADATA_KEY])
        elif config_path.is_file():
            config_dict = json.loads(config_path.read_text())
        else:
            raise CheckpointError(f"{weights} has no embedded config and {config_path.name} is missing")
        config = LocationEncoderConfig.from_dict(config_dict)
    except (json.JSONDecodeError, ValueError, TypeError) as error:
        raise CheckpointError(f"invalid model config for {weights}: {error}") from None
    if sh_method is not None and config.positional_encoding == "sphericalharmonics":
        config = _with_sh_method(config, sh_method)
    return _load_weights(build_location_encoder(config), state, weights)


def load_location_encoder(path: str | os.PathLike, sh_method: str | None = None) -> LocationEncoder:
    """Load a location encoder from an official ``.ckpt`` or our ``.safetensors``/``.json`` files."""
    path = Path(path)
    if path.suffix in (".safetensors", ".json"):
        return load_safetensors_model(path, sh_method=sh_method)
    if not path.is_file():
        raise CheckpointError(f"model file {path} not found")
    if not zipfile.is_zipfile(path):
        raise CheckpointError(
            f"{path} is neither a torch checkpoint (zip) nor a .safetensors model; it may be corrupt or truncated"
        )
    return load_official_checkpoint(path, sh_method=sh_method)
