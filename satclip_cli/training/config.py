"""Training settings as data: defaults that reproduce the released SatCLIP models, a YAML file, CLI overrides."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from satclip_cli.errors import InputError, setting

DEFAULT_DATA = "s2-100k"
"""The dataset folder a run reads by default: where ``satclip sample`` writes by default."""
DEFAULT_OUT = "satclip-run"
"""The run folder a run writes by default."""
PRECISIONS = ("32-true", "16-mixed", "bf16-mixed", "64-true")
ACCELERATORS = ("auto", "cpu", "gpu", "cuda", "mps")


@dataclass(frozen=True)
class TrainConfig:
    """Everything ``satclip train`` needs; the defaults reproduce the released models.

    Data: ``data`` is a dataset folder (``index.csv`` + ``images/``, as ``satclip sample`` writes or
    S2-100K); ``val_fraction`` of it (seeded) is held out. Model: location encoder ``positional_encoding``
    of ``legendre_polys`` degrees into a ``network`` of ``capacity`` x ``num_hidden_layers`` with
    ``embed_dim`` outputs; vision encoder ``vision`` (``moco-resnet18``, ``moco-resnet50``,
    ``moco-vit-s16``, ``clip-vit``, ``clip-resnet``) with ``vision_weights`` (``default``, ``none`` or a
    file). Optimisation: AdamW, ``lr``, ``weight_decay``, ``batch_size`` pairs per device and step,
    ``accumulate`` micro-batches per step that all enter one contrastive batch. Augmentation:
    ``jitter_km`` of symmetric coordinate noise (km). ``image_size`` is the crop fed to the vision
    encoder (None: the encoder's own input size).
    """

    data: str = DEFAULT_DATA
    out: str = DEFAULT_OUT
    max_epochs: int = 500
    batch_size: int = 512
    accumulate: int = 1
    lr: float = 1e-4
    weight_decay: float = 0.01
    seed: int = 0
    val_fraction: float = 0.1
    num_workers: int = 4
    # location encoder
    positional_encoding: str = "sphericalharmonics"
    legendre_polys: int = 10
    sh_convention: str = "satclip"
    network: str = "siren"
    capacity: int = 512
    num_hidden_layers: int = 2
    embed_dim: int = 256
    location_dtype: str = "float64"
    location_dropout: float = 0.5
    # vision encoder
    vision: str = "moco-resnet18"
    vision_weights: str = "default"
    vision_layers: Any = None
    vision_width: int | None = None
    vision_patch_size: int | None = None
    image_size: int | None = None
    # augmentation
    jitter_km: float = 1.0
    # frozen-backbone fast path
    cache_features: bool = False
    cache_views: int = 4
    # hardware
    accelerator: str = "auto"
    devices: int | None = None
    nodes: int = 1
    precision: str | None = None
    compile: bool = False
    resume: bool = False
    log_every_n_steps: int = 10

    @classmethod
    def from_yaml(cls, path: Path) -> TrainConfig:
        """Settings from a YAML file of ``name: value`` pairs (unknown names are an error)."""
        import yaml

        if not path.is_file():
            raise InputError(f"config file {path} not found")
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as error:
            raise InputError(f"cannot read config file {path}: {' '.join(str(error).split())}") from None
        if not isinstance(data, dict):
            raise InputError(f"config file {path} must hold name: value pairs")
        return cls().override(**{str(key).replace("-", "_"): value for key, value in data.items()})

    def override(self, **changes: Any) -> TrainConfig:
        """A copy with ``changes`` applied (None values are ignored: "not given on the command line")."""
        known = {field.name for field in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise InputError(f"unknown training setting(s): {', '.join(unknown)}")
        return dataclasses.replace(self, **{key: value for key, value in changes.items() if value is not None})

    def to_dict(self) -> dict[str, Any]:
        """The settings as a plain dict (what ``config.yaml`` and the checkpoints store)."""
        return dataclasses.asdict(self)

    def validate(self) -> None:
        """Raise :class:`InputError` with a one-line message for an unusable setting."""
        if not self.data:
            raise InputError(f"give the dataset folder with {setting('data')} DIR")
        if self.data == DEFAULT_DATA and not Path(self.data).exists():
            raise InputError(
                f"no dataset folder {DEFAULT_DATA} here (the default {setting('data')}); make it with `satclip sample` "
                f"(which writes ./{DEFAULT_DATA} by default) or give the dataset folder with {setting('data')} DIR"
            )
        from satclip_cli.models.location_encoder import SIZE_LIMITS

        positive = ("max_epochs", "batch_size", "accumulate", "nodes")
        for name in positive:
            if int(getattr(self, name)) < 1:
                raise InputError(f"{setting(name)} must be at least 1")
        for name, (low, high) in SIZE_LIMITS.items():  # the model's sizes, checked before anything is allocated
            if hasattr(self, name) and not low <= int(getattr(self, name)) <= high:
                raise InputError(f"{setting(name)} must be between {low} and {high}, got {getattr(self, name)}")
        if not 0 < self.val_fraction < 1:
            raise InputError(f"{setting('val_fraction')} must be between 0 and 1")
        if self.lr <= 0:
            raise InputError(f"{setting('lr')} must be positive")
        if self.precision is not None and self.precision not in PRECISIONS:
            raise InputError(f"{setting('precision')} must be one of {', '.join(PRECISIONS)}")
        if self.accelerator not in ACCELERATORS:
            raise InputError(f"{setting('accelerator')} must be one of {', '.join(ACCELERATORS)}")
        if not 0 <= self.location_dropout < 1:
            raise InputError(f"{setting('location_dropout')} must be in [0, 1)")
        if self.location_dtype not in ("float32", "float64"):
            raise InputError(f"{setting('location_dtype')} must be float32 or float64")
        self._validate_model_size()
        if self.cache_features and self.cache_views not in (1, 2, 4, 8):
            raise InputError(
                f"{setting('cache_views')} must be 1, 2, 4 (the flips of the augmentation) or 8 (also rotations)"
            )

    def _validate_model_size(self) -> None:
        """Refuse a location encoder too large to build (see ``models.location_encoder.MAX_PARAMETERS``)."""
        from satclip_cli.models.location_encoder import MAX_PARAMETERS, parameter_estimate

        estimate = parameter_estimate(self)
        if estimate > MAX_PARAMETERS:
            raise InputError(
                f"the location encoder would have about {estimate:.2g} parameters (at most {MAX_PARAMETERS:.0e}); "
                f"lower {setting('legendre_polys')}, or the network's capacity or num_hidden_layers"
            )
