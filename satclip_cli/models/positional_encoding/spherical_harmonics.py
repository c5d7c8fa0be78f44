"""Real spherical harmonics of all degrees l < L at once, by a stable recurrence.

Features are laid out as in SatCLIP: for ``l in 0..L-1``, for ``m in -l..l``, the
feature of ``(l, m)`` is column ``l*l + l + m``, so ``L`` degrees give ``L**2``
features.

Three conventions (all checked against ``scipy.special.sph_harm_y``):

``orthonormal``
    Textbook real spherical harmonics without the Condon–Shortley phase, at
    colatitude ``90° - lat`` and azimuth ``lon``. Use this for new models.
``satclip``
    The official "analytic" features the released SatCLIP models were trained on:
    angles ``θ = lat + 90°`` (0 at the south pole) and ``φ = lon + 180°``. This is
    ``(-1)**l * orthonormal``, with the ``m = 0`` columns multiplied by ``π`` (a
    normalisation quirk of the original code generator that the released weights
    depend on).
``closed-form``
    The official closed-form variant: same angles, keeps the Condon–Shortley phase
    and the correct ``m = 0`` normalisation, i.e. ``satclip * (1/π if m == 0 else (-1)**m)``.

All three are computed *exactly* (to rounding) by the same recurrence:

* fully normalised associated Legendre functions ``P̄_l^m(cos θ)`` by the standard
  three-term recursion in ``l`` (stable for every degree, unlike expanded
  polynomials), vectorised over ``m`` and over points;
* ``cos(mλ)`` and ``sin(mλ)`` by the angle-addition (Chebyshev) recursion.

Features work in float32 or float64, on CPU or GPU. When the input needs gradients,
the features are built from out-of-place torch ops (differentiable); otherwise points
are processed in cache-sized chunks, in parallel threads on CPU, with in-place
kernels. Both paths perform the same arithmetic.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import torch

CONVENTIONS = ("satclip", "closed-form", "orthonormal")
#: Minimum points per chunk on GPUs and other accelerators.
GPU_CHUNK_SIZE = 65536


def degree_order_index(degree: int) -> list[tuple[int, int]]:
    """``(l, m)`` of each feature column for ``degree`` L (``L**2`` entries)."""
    return [(l, m) for l in range(degree) for m in range(-l, l + 1)]


@lru_cache(maxsize=32)
def _recurrence_coefficients(degree: int) -> tuple[list[list[float]], list[list[float]]]:
    """``a[l][m]``, ``b[l][m]`` of ``P̄_l^m = a (x P̄_{l-1}^m - b P̄_{l-2}^m)`` for ``m <= l-2``."""
    a: list[list[float]] = [[] for _ in range(degree)]
    b: list[list[float]] = [[] for _ in range(degree)]
    for l in range(2, degree):
        for m in range(l - 1):
            a[l].append(math.sqrt((4 * l * l - 1) / (l * l - m * m)))
            b[l].append(math.sqrt(((l - 1) ** 2 - m * m) / (4 * (l - 1) ** 2 - 1)))
    return a, b


@lru_cache(maxsize=32)
def _coefficient_tensors(
    degree: int, dtype: torch.dtype, device: torch.device
) -> tuple[list[torch.Tensor | None], list[torch.Tensor | None], list[torch.Tensor]]:
    """Per degree l: ``a_l``, ``b_l`` as ``[l-1, 1]`` columns and ``[i]`` reversed row indices ``l..1``."""
    a, b = _recurrence_coefficients(degree)
    a_cols = [torch.tensor(a[l], dtype=dtype, device=device).unsqueeze(1) if l >= 2 else None for l in range(degree)]
    b_cols = [torch.tensor(b[l], dtype=dtype, device=device).unsqueeze(1) if l >= 2 else None for l in range(degree)]
    reverse = [torch.arange(l, 0, -1, device=device) for l in range(degree)]
    return a_cols, b_cols, reverse


Emit = Callable[[int, torch.Tensor, "torch.Tensor | float", "torch.Tensor | None"], None]


def _degree_blocks(
    x: torch.Tensor,
    s: torch.Tensor,
    cos_phi: torch.Tensor,
    sin_phi: torch.Tensor,
    degree: int,
    m0_scale: float,
    condon_shortley: bool,
    emit: Emit,
    workspace: torch.Tensor | None = None,
) -> None:
    """Compute the features of points ``x = cos θ``, ``s = sin θ``, ``φ`` (all ``[n]``), degree by degree.

    Calls ``emit(first_row, values, factor, order)`` for each block of consecutive feature
    rows, whose values are ``values[order] * factor`` (``order=None``: all rows in order).
    Everything is features-major (``[rows, n]``), so every operation works on contiguous
    rows of points. With a ``workspace`` (``[3, L, n]``, no autograd) the Legendre values
    of degree l are written in place into its slot ``l % 3`` instead of allocated (the
    recursion only reads the two previous degrees, so three slots stay in cache); the
    arithmetic is the same.

    The normalised associated Legendre functions ``P̄_l^m`` (no Condon–Shortley phase,
    ``P̄_0^0 = 1/sqrt(4π)``) follow the standard recursion: diagonal
    ``P̄_m^m = sqrt((2m+1)/(2m)) s P̄_{m-1}^{m-1}``, first off-diagonal
    ``P̄_{m+1}^m = sqrt(2m+3) x P̄_m^m`` and ``P̄_l^m = a_lm (x P̄_{l-1}^m - b_lm P̄_{l-2}^m)``.
    """
    dtype, device = x.dtype, x.device
    a_cols, b_cols, reverse = _coefficient_tensors(degree, dtype, device)
    x_row, s_row = x.unsqueeze(0), s.unsqueeze(0)

    # sqrt(2) cos(mφ) and sqrt(2) sin(mφ) for m = 1..L-1, by angle addition; (-1)^m for the CS phase.
    cosines, sines = [cos_phi], [sin_phi]
    for _ in range(2, degree):
        c, t = cosines[-1], sines[-1]
        cosines.append(c * cos_phi - t * sin_phi)
        sines.append(t * cos_phi + c * sin_phi)
    if degree > 1:
        factors = [math.sqrt(2.0) * ((-1.0) ** m if condon_shortley else 1.0) for m in range(1, degree)]
        factor_col = torch.tensor(factors, dtype=dtype, device=device).unsqueeze(1)
        cos_table = torch.stack(cosines) * factor_col  # row m-1 holds order m
        sin_reversed = (torch.stack(sines) * factor_col).flip(0)  # row L-1-m holds order m

    previous2: torch.Tensor | None = None
    if workspace is None:
        previous = torch.full_like(x_row, 1.0 / math.sqrt(4.0 * math.pi))
    else:
        previous = workspace[0, 0:1].fill_(1.0 / math.sqrt(4.0 * math.pi))
    emit(0, previous[0], m0_scale, None)
    for l in range(1, degree):
        r = l - 1  # rows m = 0..l-2 follow the three-term recursion
        diagonal = previous[r : r + 1]
        if workspace is None:
            parts = []
            if l >= 2:
                parts.append(torch.addcmul(previous[:r] * x_row, previous2[:r], b_cols[l], value=-1.0) * a_cols[l])
            parts.append(diagonal * (math.sqrt(2 * l + 1) * x_row))  # m = l - 1
            parts.append(diagonal * (math.sqrt((2 * l + 1) / (2 * l)) * s_row))  # m = l
            current = torch.cat(parts)  # [l + 1, n], orders 0..l
        else:
            current = workspace[l % 3, : l + 1]
            if l >= 2:
                bulk = torch.mul(previous[:r], x_row, out=current[:r])
                bulk.addcmul_(previous2[:r], b_cols[l], value=-1.0).mul_(a_cols[l])
            torch.mul(diagonal, math.sqrt(2 * l + 1) * x_row, out=current[r : r + 1])
            torch.mul(diagonal, math.sqrt((2 * l + 1) / (2 * l)) * s_row, out=current[l : l + 1])
        first = l * l
        emit(first, current, sin_reversed[degree - 1 - l : degree - 1], reverse[l])  # m = -l..-1
        emit(first + l, current[0], m0_scale, None)  # m = 0
        emit(first + l + 1, current[1:], cos_table[:l], None)  # m = 1..l
        previous2, previous = previous, current


def spherical_harmonics(
    lonlat: torch.Tensor,
    degree: int,
    convention: str = "satclip",
    chunk_size: int = 4096,
    out: torch.Tensor | None = None,
    features_major: bool = False,
) -> torch.Tensor:
    """Real spherical-harmonic features of all degrees ``l < degree``.

    Args:
        lonlat: ``[N, 2]`` float tensor of (longitude, latitude) in degrees. Its dtype
            (float32 or float64) and device are kept.
        degree: number of Legendre degrees L (``legendre_polys`` in SatCLIP); L >= 1.
        convention: ``"satclip"`` (default, the released models), ``"closed-form"`` or
            ``"orthonormal"``; see the module docstring.
        chunk_size: points per block when no gradient is needed (keeps the working set
            in cache; results do not depend on it).
        out: optional contiguous ``[N, L**2]`` tensor of the input's dtype and device to
            write into (no autograd). Streaming callers reuse one buffer this way; a fresh
            1 M x 1600 float64 result is 12.8 GB, and first-touching that much memory
            costs more than computing it. With ``features_major``, ``out.T`` must be contiguous.
        features_major: store the features features-major: the result (and ``out``) is the
            ``[N, L**2]`` transpose of a contiguous ``[L**2, N]`` tensor. The features are
            computed features-major, so this skips a transposed copy of the whole result;
            use it when the consumer takes any strides (``torch.nn.functional.linear`` does,
            at the same speed). Values are identical either way.

    Returns:
        ``[N, L**2]`` tensor; column ``l*l + l + m`` holds degree l, order m.
    """
    if degree < 1:
        raise ValueError(f"degree must be >= 1, got {degree}")
    if lonlat.ndim != 2 or lonlat.shape[-1] != 2:
        raise ValueError(f"lonlat must have shape [N, 2], got {tuple(lonlat.shape)}")
    if convention not in CONVENTIONS:
        raise ValueError(f"unknown spherical-harmonics convention {convention!r}; use one of {CONVENTIONS}")
    if not lonlat.is_floating_point():
        lonlat = lonlat.to(torch.get_default_dtype())
    lon = torch.deg2rad(lonlat[:, 0])
    lat = torch.deg2rad(lonlat[:, 1])
    sin_lat, cos_lat, cos_lon, sin_lon = torch.sin(lat), torch.cos(lat).clamp_min(0.0), torch.cos(lon), torch.sin(lon)
    if convention == "orthonormal":
        # Colatitude ϑ = 90° - lat: cos ϑ = sin(lat), sin ϑ = cos(lat); azimuth = lon.
        x, cos_phi, sin_phi = sin_lat, cos_lon, sin_lon
    else:
        # Official angles θ = lat + 90°: cos θ = -sin(lat), sin θ = cos(lat); φ = lon + 180°.
        x, cos_phi, sin_phi = -sin_lat, -cos_lon, -sin_lon
    m0_scale = math.pi if convention == "satclip" else 1.0
    condon_shortley = convention == "closed-form"
    n = lonlat.shape[0]

    if torch.is_grad_enabled() and lonlat.requires_grad:
        if out is not None:
            raise ValueError("out= is not supported when gradients are required")
        blocks: dict[int, torch.Tensor] = {}

        def collect(first: int, values: torch.Tensor, factor: torch.Tensor | float, order: torch.Tensor | None) -> None:
            if order is not None:
                values = values.index_select(0, order)
            blocks[first] = (values * factor).reshape(-1, n)

        _degree_blocks(x, cos_lat, cos_phi, sin_phi, degree, m0_scale, condon_shortley, collect)
        return torch.cat([blocks[k] for k in sorted(blocks)]).T

    if out is None:
        shape = (degree * degree, n) if features_major else (n, degree * degree)
        out = torch.empty(shape, dtype=lonlat.dtype, device=lonlat.device)
        out = out.T if features_major else out
    elif out.shape != (n, degree * degree) or out.dtype != lonlat.dtype or not _has_layout(out, features_major):
        layout = "features-major (out.T contiguous)" if features_major else "contiguous"
        raise ValueError(f"out must be a {layout} [{n}, {degree * degree}] {lonlat.dtype} tensor")
    scratch = threading.local()

    if lonlat.device.type != "cpu":
        chunk_size = max(chunk_size, GPU_CHUNK_SIZE)  # few large kernels suit accelerators better
    chunk_size = max(1, min(chunk_size, n))  # small inputs get small buffers

    def fill(start: int) -> None:
        stop = min(start + chunk_size, n)
        # Build the chunk features-major: straight into a features-major output, else in a
        # per-thread buffer that stays in cache, written to the output once, transposed (a
        # blocked copy). The Legendre values of the last three degrees live in a small
        # per-thread workspace.
        if getattr(scratch, "legendre", None) is None:
            scratch.legendre = torch.empty(3, degree, chunk_size, dtype=out.dtype, device=out.device)
            if not features_major:
                scratch.features = torch.empty(degree * degree, chunk_size, dtype=out.dtype, device=out.device)
        view = out.T[:, start:stop] if features_major else scratch.features[:, : stop - start]
        workspace = scratch.legendre[:, :, : stop - start]

        def write(first: int, values: torch.Tensor, factor: torch.Tensor | float, order: torch.Tensor | None) -> None:
            if order is not None:
                target = view[first : first + order.shape[0]]
                torch.index_select(values, 0, order, out=target)
                target.mul_(factor)
            else:
                rows = 1 if values.ndim == 1 else values.shape[0]
                torch.mul(values.reshape(rows, -1), factor, out=view[first : first + rows])

        sl = slice(start, stop)
        _degree_blocks(
            x[sl], cos_lat[sl], cos_phi[sl], sin_phi[sl], degree, m0_scale, condon_shortley, write, workspace
        )
        if not features_major:
            out[start:stop].copy_(view.T)

    with torch.no_grad():
        run_chunks(fill, range(0, n, chunk_size), parallel=lonlat.device.type == "cpu")
    return out


def _has_layout(tensor: torch.Tensor, features_major: bool) -> bool:
    """Whether ``tensor`` (``[N, F]``) is contiguous, or its transpose is for ``features_major``."""
    return tensor.T.is_contiguous() if features_major else tensor.is_contiguous()


def run_chunks(fill: Callable[[int], None], starts: range, parallel: bool) -> None:
    """Run ``fill(start)`` for every chunk; on CPU, chunks run in parallel threads.

    The per-chunk operations are small, so torch's own intra-op threading mostly adds
    synchronisation (and stalls badly when another process holds a core). Instead each
    of ``torch.get_num_threads()`` Python threads fills whole chunks with single-threaded
    kernels (torch releases the GIL inside kernels).
    """
    threads = torch.get_num_threads()
    if not parallel or threads <= 1 or len(starts) <= 1:
        for start in starts:
            fill(start)
        return
    inference = torch.is_inference_mode_enabled()

    def run(start: int) -> None:
        # Grad and inference modes are thread-local: give workers the caller's.
        with torch.inference_mode(inference), torch.no_grad():
            fill(start)

    torch.set_num_threads(1)
    try:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            for future in [pool.submit(run, start) for start in starts]:
                future.result()
    finally:
        torch.set_num_threads(threads)
