"""SatCLIP's training augmentations, done on whole batches on the accelerator instead of per sample in the workers.

The original applies, per sample on the CPU: reflectance / 10,000 (float), a zero B10 band at index 10
(13 bands, SSL4EO-S12 order, for the MoCo-pretrained encoders), ``RandomCrop``, ``RandomHorizontalFlip``,
``RandomVerticalFlip``, ``GaussianBlur(3)`` (sigma uniform in [0.1, 2.0]) and a coordinate jitter. Here
the same image transforms run on the uint16 batch after the host-to-device copy, vectorised over the
batch: one index gather does the crop, both flips and the blur's reflect padding; the blur is the same
separable 3 x 3 Gaussian with a per-sample sigma. The jitter is symmetric: a point uniform in a disc of
``jitter_km`` around each location (the original added U(0, 0.01) degrees to lon and lat: north-east
only, and a lon shift shrinking towards the poles). Validation batches only get the scaling, B10 and a
centre crop.

Shapes: images [B, C, H, W] (C = 12 in; 13 out with B10), points [B, 2] as (lon, lat) in degrees.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, fields

import torch

from satclip_cli.errors import InputError

REFLECTANCE_SCALE = 10_000.0
"""L2A digital numbers per unit reflectance; images are divided by it."""

B10_INDEX = 10
"""Where the all-zero B10 (cirrus, absent from L2A) goes in the 13-band SSL4EO-S12 order."""

BLUR_SIGMA_RANGE = (0.1, 2.0)
"""torchvision ``GaussianBlur(3)``'s default sigma range, px."""

EARTH_RADIUS_KM = 6371.0088
"""Mean Earth radius (IUGG), km: 111.195 km per degree of latitude."""

CPU_CHUNK_BYTES = 8 * 2**20
"""On the CPU, samples are processed in chunks of about this many bytes of float32 padded crops (~3 samples
of 13 x 226 x 226), small enough for the caches: whole-batch temporaries make it about 2x slower."""

ACCELERATOR_CHUNK_BYTES = 512 * 2**20
"""On an accelerator, chunks of about this many bytes (~190 samples of 13 x 226 x 226): a few large kernels
per batch, with temporaries bounded to ~1.5 GB whatever the batch size."""

__all__ = [
    "AugmentationParams",
    "BatchAugmentation",
    "gaussian_blur_3x3",
    "jitter_points",
]


@dataclass(frozen=True)
class AugmentationParams:
    """The random choices for one batch of B samples (all tensors [B]).

    ``top``, ``left``: int64 first row and column of the crop, px. ``flip_horizontal`` (mirror the
    columns) and ``flip_vertical`` (mirror the rows): bool, applied to the crop. ``blur_sigma``: float32
    Gaussian sigma, px, or None for no blur. ``jitter_distance_km``: float64 distance, km, and
    ``jitter_bearing``: float64 direction, radians clockwise from north, of each point's shift; or both
    None for no jitter.
    """

    top: torch.Tensor
    left: torch.Tensor
    flip_horizontal: torch.Tensor
    flip_vertical: torch.Tensor
    blur_sigma: torch.Tensor | None = None
    jitter_distance_km: torch.Tensor | None = None
    jitter_bearing: torch.Tensor | None = None

    def select(self, rows: slice) -> AugmentationParams:
        """The parameters of samples ``rows``."""
        return self._map(lambda value: value[rows])

    def to(self, device: torch.device) -> AugmentationParams:
        """The parameters on ``device``."""
        return self._map(lambda value: value.to(device))

    def _map(self, function: Callable[[torch.Tensor], torch.Tensor]) -> AugmentationParams:
        values = {field.name: getattr(self, field.name) for field in fields(self)}
        return AugmentationParams(
            **{name: None if value is None else function(value) for name, value in values.items()}
        )


class BatchAugmentation(torch.nn.Module):
    """Turn a uint16 batch into encoder input: scale, optional B10, crop, and (``train``) flips, blur, jitter.

    ``crop_size``: side of the square crop, px. ``insert_b10``: add the zero B10 at index 10 (12 -> 13
    bands). ``jitter_km``: radius of the disc, km, in which each training point is moved (0: no jitter).
    ``blur_sigma``: (min, max) of the per-sample blur sigma, px, or None for no blur. ``chunk_size``: at
    most this many samples at once (same results; bounds the temporaries); None: chunks of about
    :data:`CPU_CHUNK_BYTES` on the CPU, :data:`ACCELERATOR_CHUNK_BYTES` elsewhere. ``scale``: pixel values
    are divided by it (10,000 for Sentinel-2 reflectance, 255 for 8-bit RGB). The module has no
    parameters or buffers (nothing enters checkpoints).
    """

    def __init__(
        self,
        crop_size: int,
        insert_b10: bool,
        jitter_km: float = 1.0,
        blur_sigma: tuple[float, float] | None = BLUR_SIGMA_RANGE,
        chunk_size: int | None = None,
        scale: float = REFLECTANCE_SCALE,
    ) -> None:
        super().__init__()
        if crop_size < 2:
            raise InputError(f"the crop size must be at least 2 px, got {crop_size}")
        if not jitter_km >= 0:
            raise InputError(f"the coordinate jitter must be >= 0 km, got {jitter_km}")
        if blur_sigma is not None and not 0 < blur_sigma[0] <= blur_sigma[1]:
            raise InputError(f"the blur sigma range must be 0 < min <= max, got {blur_sigma}")
        if chunk_size is not None and chunk_size < 1:
            raise InputError(f"the chunk size must be at least 1, got {chunk_size}")
        self.crop_size = int(crop_size)
        self.insert_b10 = bool(insert_b10)
        self.jitter_km = float(jitter_km)
        self.blur_sigma = None if blur_sigma is None else (float(blur_sigma[0]), float(blur_sigma[1]))
        self.chunk_size = chunk_size
        self.scale = float(scale)

    def extra_repr(self) -> str:
        return (
            f"crop_size={self.crop_size}, insert_b10={self.insert_b10}, jitter_km={self.jitter_km}, "
            f"blur_sigma={self.blur_sigma}"
        )

    def forward(
        self,
        images: torch.Tensor,
        points: torch.Tensor,
        train: bool,
        generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Augment one batch.

        ``images``: [B, 12, H, W] uint16 (or any integer/float dtype) reflectance x 10,000, H and W >=
        ``crop_size``. ``points``: [B, 2] (lon, lat) degrees. ``train``: random crop, flips, blur and
        jitter drawn from ``generator`` (default: torch's global CPU RNG; the draws are made on the
        generator's device, so a seeded CPU generator gives the same batch on any accelerator);
        otherwise only the centre crop. Returns images float32 [B, 13 or 12, crop_size, crop_size]
        (reflectance) and points float64 [B, 2] (lon in [-180, 180], lat in [-90, 90] degrees), on the
        devices of the inputs.
        """
        height, width = self._check(images, points)
        if train:
            params = self.sample_params(len(images), height, width, generator)
        else:
            params = self.centre_params(len(images), height, width)
        return self.apply(images, points, params)

    def sample_params(
        self, batch_size: int, height: int, width: int, generator: torch.Generator | None = None
    ) -> AugmentationParams:
        """Random training choices for ``batch_size`` patches of ``height`` x ``width`` px, on the generator's device.

        Draw order (fixed, for reproducibility): top, left, horizontal flip, vertical flip, blur sigma,
        jitter radius, jitter bearing. A crop offset is uniform in [0, size - crop_size]; each flip has
        p = 0.5; the jitter is uniform in the disc (radius = jitter_km * sqrt(U), bearing = 2 pi U).
        """
        device = generator.device if generator is not None else torch.device("cpu")
        crop = self.crop_size

        def uniform(dtype: torch.dtype = torch.float32) -> torch.Tensor:
            return torch.rand(batch_size, generator=generator, device=device, dtype=dtype)

        top = torch.randint(0, height - crop + 1, (batch_size,), generator=generator, device=device)
        left = torch.randint(0, width - crop + 1, (batch_size,), generator=generator, device=device)
        flip_horizontal = uniform() < 0.5
        flip_vertical = uniform() < 0.5
        sigma = None
        if self.blur_sigma is not None:
            low, high = self.blur_sigma
            sigma = low + (high - low) * uniform()
        distance = bearing = None
        if self.jitter_km > 0:
            distance = self.jitter_km * uniform(torch.float64).sqrt()
            bearing = (2 * math.pi) * uniform(torch.float64)
        return AugmentationParams(top, left, flip_horizontal, flip_vertical, sigma, distance, bearing)

    def centre_params(self, batch_size: int, height: int, width: int) -> AugmentationParams:
        """Validation: the centre crop (offsets as torchvision's ``CenterCrop``), nothing else."""
        top = int(round((height - self.crop_size) / 2.0))
        left = int(round((width - self.crop_size) / 2.0))
        no_flip = torch.zeros(batch_size, dtype=torch.bool)
        return AugmentationParams(
            torch.full((batch_size,), top, dtype=torch.int64),
            torch.full((batch_size,), left, dtype=torch.int64),
            no_flip,
            no_flip,
        )

    def apply(
        self, images: torch.Tensor, points: torch.Tensor, params: AugmentationParams
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Apply ``params`` (from :meth:`sample_params` or :meth:`centre_params`); shapes as :meth:`forward`."""
        height, width = self._check(images, points)
        batch_size, crop = len(images), self.crop_size
        bands = images.shape[1] + (1 if self.insert_b10 else 0)
        out = torch.empty(batch_size, bands, crop, crop, dtype=torch.float32, device=images.device)
        chunk = self.chunk_size
        if chunk is None:
            budget = CPU_CHUNK_BYTES if images.device.type == "cpu" else ACCELERATOR_CHUNK_BYTES
            chunk = max(1, budget // (4 * bands * (crop + 2) ** 2))
        on_device = params.to(images.device)
        for first in range(0, batch_size, chunk):
            rows = slice(first, first + chunk)
            self._augment_images(images[rows], on_device.select(rows), out[rows])
        points = points.to(torch.float64)
        if params.jitter_distance_km is not None and params.jitter_bearing is not None:
            moves = params.to(points.device)
            points = jitter_points(points, moves.jitter_distance_km, moves.jitter_bearing)  # type: ignore[arg-type]
        return out, points

    # ------------------------------------------------------------------ internals

    def _augment_images(self, images: torch.Tensor, params: AugmentationParams, out: torch.Tensor) -> None:
        """Crop, flip, scale (+ B10) and blur ``images`` [n, C, H, W] into ``out`` [n, C', crop, crop] float32.

        ``params`` are on the images' device.
        """
        device = images.device
        blur = params.blur_sigma is not None
        pad = 1 if blur else 0
        rows = _crop_indices(params.top, self.crop_size, params.flip_vertical, pad)
        cols = _crop_indices(params.left, self.crop_size, params.flip_horizontal, pad)
        cropped = _gather_crops(images, rows, cols)  # [n, C, crop + 2 pad, crop + 2 pad], input dtype
        if not blur:
            _to_reflectance(cropped, out, self.insert_b10, self.scale)
            return
        padded = torch.empty(
            (out.shape[0], out.shape[1], *cropped.shape[2:]), dtype=torch.float32, device=device
        )  # [n, C', crop + 2, crop + 2]
        _to_reflectance(cropped, padded, self.insert_b10, self.scale)
        _blur_padded(padded, params.blur_sigma, out=out)  # type: ignore[arg-type]

    def _check(self, images: torch.Tensor, points: torch.Tensor) -> tuple[int, int]:
        if images.ndim != 4:
            raise ValueError(f"images must be [B, C, H, W], got shape {tuple(images.shape)}")
        if points.ndim != 2 or points.shape[1] != 2 or len(points) != len(images):
            raise ValueError(f"points must be [B, 2] (lon, lat) with B = {len(images)}, got {tuple(points.shape)}")
        if self.insert_b10 and images.shape[1] != B10_INDEX + 2:
            raise ValueError(f"inserting B10 needs the 12 S2-100K bands, got {images.shape[1]} channels")
        height, width = images.shape[-2:]
        if height < self.crop_size or width < self.crop_size:
            raise InputError(
                f"patches of {height} x {width} px are smaller than the crop size {self.crop_size} px; "
                "use a smaller image size"
            )
        return height, width


def gaussian_blur_3x3(images: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """torchvision's ``gaussian_blur(img, [3, 3], [s, s])`` (reflect padding) with a sigma per sample.

    ``images``: [B, C, H, W] float, H and W >= 2. ``sigma``: [B] px. Returns [B, C, H, W]. The kernel
    is separable, 1-D ``[e, 1, e] / (1 + 2 e)`` with ``e = exp(-1 / (2 sigma^2))``: it sums to 1, so the
    blur keeps the mean (up to the image border).
    """
    padded = torch.nn.functional.pad(images, (1, 1, 1, 1), mode="reflect")
    return _blur_padded(padded, sigma.to(images.device), out=torch.empty_like(images))


def jitter_points(points: torch.Tensor, distance_km: torch.Tensor, bearing: torch.Tensor) -> torch.Tensor:
    """Move each point ``distance_km`` [B] km along ``bearing`` [B] (radians clockwise from north) on the sphere.

    ``points``: [B, 2] float64 (lon, lat) degrees. Returns [B, 2] float64 (lon in [-180, 180], lat in
    [-90, 90]) exactly ``distance_km`` away along a great circle (Earth radius :data:`EARTH_RADIUS_KM`,
    111.195 km per degree). Unlike the flat rule "lat by 111.2 km per degree, lon divided by cos(lat)",
    which it matches away from the poles, this stays exact across the dateline and near or at the poles.
    """
    lon = torch.deg2rad(points[:, 0].to(torch.float64))
    lat = torch.deg2rad(points[:, 1].to(torch.float64))
    delta = distance_km.to(torch.float64) / EARTH_RADIUS_KM
    bearing = bearing.to(torch.float64)
    cos_lat, sin_lat, cos_lon, sin_lon = lat.cos(), lat.sin(), lon.cos(), lon.sin()
    # Unit vector of the point and its local north and east (both defined at the poles too).
    position = torch.stack([cos_lat * cos_lon, cos_lat * sin_lon, sin_lat])
    north = torch.stack([-sin_lat * cos_lon, -sin_lat * sin_lon, cos_lat])
    east = torch.stack([-sin_lon, cos_lon, torch.zeros_like(lon)])
    direction = bearing.cos() * north + bearing.sin() * east
    x, y, z = delta.cos() * position + delta.sin() * direction
    new_lat = torch.rad2deg(torch.atan2(z, torch.hypot(x, y))).clamp(-90.0, 90.0)
    new_lon = torch.rad2deg(torch.atan2(y, x))
    return torch.stack([new_lon, new_lat], dim=1)


def _crop_indices(start: torch.Tensor, size: int, flip: torch.Tensor, pad: int) -> torch.Tensor:
    """Source rows (or columns) [n, size + 2 pad] of crops starting at ``start`` [n].

    Mirrored where ``flip`` [n]; ``pad`` extra positions each side by reflection (the blur's padding).
    """
    offsets = torch.arange(-pad, size + pad, device=start.device).abs()
    offsets = torch.where(offsets > size - 1, 2 * (size - 1) - offsets, offsets)  # reflect at the far edge
    offsets = torch.where(flip[:, None], (size - 1) - offsets, offsets)
    return start[:, None] + offsets


def _gather_crops(images: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    """``images[b, :, rows[b]][:, :, :, cols[b]]`` for every b in one gather: [n, C, len(rows), len(cols)].

    uint16 is gathered through an int16 view (same bits): gather kernels do not all take uint16.
    """
    n, channels, height, width = images.shape
    source = images.reshape(n, channels, height * width)
    if source.dtype == torch.uint16:
        source = source.view(torch.int16)
    flat = (rows[:, :, None] * width + cols[:, None, :]).reshape(n, 1, -1).expand(n, channels, -1)
    out = source.gather(2, flat).reshape(n, channels, rows.shape[1], cols.shape[1])
    return out.view(images.dtype) if images.dtype == torch.uint16 else out


def _to_reflectance(images: torch.Tensor, out: torch.Tensor, insert_b10: bool, scale: float) -> None:
    """``out`` (float32 [n, C', h, w]) = ``images`` [n, C, h, w] / ``scale``, with a zero B10 at index 10 if asked."""
    if insert_b10:
        out[:, :B10_INDEX].copy_(images[:, :B10_INDEX])
        out[:, B10_INDEX].zero_()
        out[:, B10_INDEX + 1 :].copy_(images[:, B10_INDEX:])
    else:
        out.copy_(images)
    out.div_(scale)


def _blur_padded(padded: torch.Tensor, sigma: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """Separable 3 x 3 Gaussian of ``padded`` [n, C, h + 2, w + 2] (already padded) into ``out`` [n, C, h, w].

    Elementwise ops only (no conv2d), so autocast leaves the blur in float32.
    """
    e = torch.exp(-0.5 / sigma.to(torch.float64).square())
    side = (e / (1 + 2 * e)).to(padded.dtype)[:, None, None, None]
    centre = (1 / (1 + 2 * e)).to(padded.dtype)[:, None, None, None]
    across = torch.add(padded[..., :-2], padded[..., 2:]).mul_(side).addcmul_(padded[..., 1:-1], centre)
    torch.add(across[:, :, :-2], across[:, :, 2:], out=out)
    return out.mul_(side).addcmul_(across[:, :, 1:-1], centre)
