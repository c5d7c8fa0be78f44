"""GeoCLIP's pretrained location encoder (Vivanco et al., NeurIPS 2023), evaluated from the weights in its wheel.

The ``geoclip`` extra (``pip install -e ".[geoclip]"``) installs the ``geoclip`` package, whose wheel ships
``geoclip/model/weights/location_encoder_weights.pth``. Importing ``geoclip`` itself pulls in
``transformers`` for its image tower (seconds of import time we do not need), so this module only *finds*
the package (``importlib.util.find_spec``, which runs none of its code), loads that state dict on CPU and
evaluates the location encoder with torch operations:

1. (lat, lon) degrees -> the Equal Earth projection (Šavrič, Patterson & Jenny 2018), ``x`` and ``y``
   in its unit-sphere coordinates, times ``66.50336 / 180`` (GeoCLIP's scaling of the projected plane);
2. three branches (``LocEnc0..2``, random Fourier features of scales 2^0, 2^4, 2^8): each maps the point
   through its fixed Gaussian matrix ``b`` [256, 2] to ``[cos(2 pi v b'), sin(2 pi v b')]`` (512), then
   three ``Linear(1024) + ReLU`` and a ``Linear(512)`` head;
3. the sum of the three branches: float32 [N, 512].

Our points are (lon, lat); the columns are swapped before step 1. Tests check the result against the
package's own ``LocationEncoder``.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from typing import Any

import numpy as np

from satclip_cli.errors import InputError

WEIGHTS_IN_WHEEL = Path("model") / "weights" / "location_encoder_weights.pth"
"""Where the location encoder's weights are inside the ``geoclip`` package folder."""

# Equal Earth polynomial coefficients (Šavrič et al. 2018) and GeoCLIP's scale factor of the projected plane.
_A1, _A2, _A3, _A4 = 1.340264, -0.081106, 0.000893, 0.003796
_SCALE = 66.50336 / 180.0
_BRANCHES = 3


def geoclip_available() -> bool:
    """Whether the ``geoclip`` package is installed (found, not imported)."""
    return importlib.util.find_spec("geoclip") is not None


def geoclip_weights_path() -> Path:
    """The location encoder's weights inside the installed ``geoclip`` wheel.

    Raises:
        InputError: ``geoclip`` is not installed, or its wheel lacks the weights file.
    """
    spec = importlib.util.find_spec("geoclip")
    if spec is None or not spec.submodule_search_locations:
        raise InputError('the geoclip baseline needs the geoclip extra: pip install -e ".[geoclip]"')
    path = Path(next(iter(spec.submodule_search_locations))) / WEIGHTS_IN_WHEEL
    if not path.is_file():
        raise InputError(f"the installed geoclip package has no location encoder weights at {path}")
    return path


def equal_earth(latlon: Any) -> Any:
    """torch float [N, 2] (lat, lon) degrees -> [N, 2] Equal Earth (x, y) scaled as GeoCLIP scales them."""
    import torch

    lat, lon = torch.deg2rad(latlon[:, 0]), torch.deg2rad(latlon[:, 1])
    theta = torch.asin(math.sqrt(3.0) / 2.0 * torch.sin(lat))
    denominator = 3.0 * (9.0 * _A4 * theta**8 + 7.0 * _A3 * theta**6 + 3.0 * _A2 * theta**2 + _A1)
    x = 2.0 * math.sqrt(3.0) * lon * torch.cos(theta) / denominator
    y = _A4 * theta**9 + _A3 * theta**7 + _A2 * theta**3 + _A1 * theta
    return torch.stack((x, y), dim=1) * _SCALE


class GeoclipLocationEncoder:
    """GeoCLIP's location encoder on CPU: ``encode(lonlat float [N, 2] (lon, lat) degrees) -> float32 [N, 512]``."""

    def __init__(self, weights: Path | None = None) -> None:
        import torch

        path = geoclip_weights_path() if weights is None else weights
        state = torch.load(path, map_location="cpu", weights_only=True)
        try:
            self.branches = [
                {name: state[f"LocEnc{i}.{name}"].float() for name in _BRANCH_TENSORS} for i in range(_BRANCHES)
            ]
        except KeyError as missing:
            raise InputError(f"{path} is not GeoCLIP's location encoder (no tensor {missing})") from None

    def __call__(self, lonlat: np.ndarray, batch_size: int = 8192) -> np.ndarray:
        import torch

        latlon = np.ascontiguousarray(np.asarray(lonlat, dtype=np.float32).reshape(-1, 2)[:, ::-1])
        out = np.zeros((len(latlon), 512), dtype=np.float32)
        with torch.no_grad():
            for start in range(0, len(latlon), batch_size):
                batch = torch.from_numpy(latlon[start : start + batch_size])
                out[start : start + len(batch)] = self._forward(equal_earth(batch)).numpy()
        return out

    def _forward(self, projected: Any) -> Any:
        import torch
        from torch.nn.functional import linear, relu

        total = torch.zeros(projected.shape[0], 512)
        for p in self.branches:
            angles = 2.0 * math.pi * projected @ p["capsule.0.b"].T
            hidden = torch.cat((torch.cos(angles), torch.sin(angles)), dim=-1)
            for layer in ("capsule.1", "capsule.3", "capsule.5"):
                hidden = relu(linear(hidden, p[f"{layer}.weight"], p[f"{layer}.bias"]))
            total += linear(hidden, p["head.0.weight"], p["head.0.bias"])
        return total


_BRANCH_TENSORS = (
    "capsule.0.b",
    "capsule.1.weight",
    "capsule.1.bias",
    "capsule.3.weight",
    "capsule.3.bias",
    "capsule.5.weight",
    "capsule.5.bias",
    "head.0.weight",
    "head.0.bias",
)
