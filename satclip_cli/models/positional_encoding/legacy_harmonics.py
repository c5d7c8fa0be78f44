"""Reproduce the arithmetic of the official SatCLIP "analytic" spherical harmonics.

The released SatCLIP models used generated code with one function per ``(l, m)``:
each associated Legendre function is expanded into monomials of ``cos θ``,
multiplied out by a symbolic-algebra package and printed with 15 significant
digits, for example (l = 3, m = 1)::

    0.304697199642977 * (1.0 - cos(theta)**2)**0.5 * (7.5*cos(theta)**2 - 1.5) * cos(phi)

The monomial coefficients grow to ~1e14 and alternate in sign at l = 39, so in
float64 the sum cancels catastrophically near the poles: the official features are
off by up to ~1e-2 at 30–60° latitude and ~0.6 above 60° (l >= 35). The released
L = 40 models were trained on those noisy features, so to reproduce their
behaviour we evaluate the *same* expansion with the *same* 15-digit coefficients
(including the original double rounding: 53-bit binary, then 15 decimal digits),
for all ``(l, m)`` at once: a coefficient table ``[L, L(L+1)/2]`` applied to the
powers of ``cos θ``, summed from the highest power down as the original did. What
remains is rounding noise below the level at which the original disagrees with
itself (its output even depends on the batch it is computed in).

For new work use :func:`satclip_cli.models.positional_encoding.spherical_harmonics.spherical_harmonics`,
which is exact.
"""

from __future__ import annotations

import math
from decimal import Decimal, localcontext
from fractions import Fraction
from functools import lru_cache

import torch

from satclip_cli.models.positional_encoding.spherical_harmonics import GPU_CHUNK_SIZE, run_chunks

# π to 50 digits, for the high-precision constants below.
_PI = Decimal("3.14159265358979323846264338327950288419716939937511")


def _printed(value: float) -> float:
    """A float64 as the original generator printed it (15 significant digits), parsed back.

    The symbolic package held each number as a 53-bit binary float and printed it
    with 15 significant digits; we reproduce both roundings.
    """
    return float(f"{value:.14e}")


def _to_float(value: Fraction | Decimal) -> float:
    """Nearest float64 of an exact (or 60-digit) number."""
    return float(value)


def _legendre_derivative(l: int, m: int) -> list[Fraction]:
    """Exact coefficients (ascending powers of x) of ``d^m/dx^m P_l(x)``."""
    coefficients = [Fraction(0)] * (l + 1)
    for k in range(l // 2 + 1):
        power = l - 2 * k
        coefficients[power] = Fraction((-1) ** k * math.comb(l, k) * math.comb(2 * l - 2 * k, l), 2**l)
    for _ in range(m):
        coefficients = [coefficients[j] * j for j in range(1, len(coefficients))]
    return coefficients


def _normalisation(l: int, m: int) -> Decimal:
    """The generator's prefactor: ``sqrt((2l+1)π/4)`` for m = 0, else ``sqrt(2 (2l+1)/(4π) (l-m)!/(l+m)!)``."""
    with localcontext() as ctx:
        ctx.prec = 60
        if m == 0:
            return ((2 * l + 1) * _PI / 4).sqrt()
        ratio = Decimal(math.factorial(l - m)) / Decimal(math.factorial(l + m))
        return (2 * (2 * l + 1) * ratio / (4 * _PI)).sqrt()


@lru_cache(maxsize=16)
def legacy_coefficient_table(degree: int) -> tuple[list[list[float]], list[float]]:
    """Printed coefficients of the original expansion, for each ``(l, m >= 0)``.

    Returns ``(polynomials, prefactors)`` indexed by ``l(l+1)/2 + m``: the feature is
    ``prefactor * (1 - x²)**(m/2) * Σ_k polynomial[k] x**k`` times ``cos(mφ)`` or
    ``sin(|m|φ)``. The grouping follows what the symbolic package printed: for m = 0
    the prefactor is multiplied into each coefficient; when the derivative is a
    single monomial its number joins the prefactor. (The original multiplied
    ``(1 - x²)`` out for l = m = 2 only; that changes the last bit at most.)
    """
    polynomials: list[list[float]] = []
    prefactors: list[float] = []
    for l in range(degree):
        for m in range(l + 1):
            exact = _legendre_derivative(l, m)
            normalisation = _normalisation(l, m)
            nonzero = [k for k, c in enumerate(exact) if c != 0]
            if m == 0:
                # The prefactor was a 53-bit float, multiplied into each rational coefficient.
                prefactor = Fraction(_to_float(normalisation))
                polynomials.append([_printed(_to_float(prefactor * c)) if c != 0 else 0.0 for c in exact])
                prefactors.append(1.0)
            elif len(nonzero) == 1:
                (k,) = nonzero
                with localcontext() as ctx:
                    ctx.prec = 60
                    merged = normalisation * Decimal(exact[k].numerator) / Decimal(exact[k].denominator)
                polynomial = [0.0] * (k + 1)
                polynomial[k] = 1.0
                polynomials.append(polynomial)
                prefactors.append(_printed(_to_float(merged)))
            else:
                polynomials.append([_printed(_to_float(c)) if c != 0 else 0.0 for c in exact])
                prefactors.append(_printed(_to_float(normalisation)))
    return polynomials, prefactors


@lru_cache(maxsize=16)
def _evaluation_plan(
    degree: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, list[tuple[int, int]], torch.Tensor]:
    """Rows of the packed ``(l, m >= 0)`` polynomials, reordered so each power touches a row prefix.

    A polynomial of degree d has non-zero coefficients only for powers ``k <= d`` with
    ``k ≡ d (mod 2)``. Rows are grouped by the parity of d (even first) and sorted by
    decreasing d, so for power k the rows to update are the first rows of one group.

    Returns ``(coefficients [L, P], prefactors [P], orders [P], prefixes, feature_rows [L²])``:
    ``prefixes[k] = (first_row, row_count)`` for power k, and ``feature_rows`` maps each
    feature column (l, m) to its reordered packed row.
    """
    polynomials, prefactors = legacy_coefficient_table(degree)
    packed_orders = [m for l in range(degree) for m in range(l + 1)]
    degrees = [max(k for k, c in enumerate(p) if c != 0) for p in polynomials]
    rows = sorted(range(len(polynomials)), key=lambda j: (degrees[j] % 2, -degrees[j]))
    position = {j: i for i, j in enumerate(rows)}
    coefficients = torch.zeros(degree, len(rows), dtype=torch.float64)
    for i, j in enumerate(rows):
        coefficients[: len(polynomials[j]), i] = torch.tensor(polynomials[j], dtype=torch.float64)
    even_count = sum(1 for d in degrees if d % 2 == 0)
    prefixes = []
    for k in range(degree):
        first = 0 if k % 2 == 0 else even_count
        count = sum(1 for d in degrees if d % 2 == k % 2 and d >= k)
        prefixes.append((first, count))
    feature_rows = [position[l * (l + 1) // 2 + abs(m)] for l in range(degree) for m in range(-l, l + 1)]
    return (
        coefficients,
        torch.tensor([prefactors[j] for j in rows], dtype=torch.float64),
        torch.tensor([packed_orders[j] for j in rows], dtype=torch.float64),
        prefixes,
        torch.tensor(feature_rows),
    )


def legacy_spherical_harmonics(lonlat: torch.Tensor, degree: int, chunk_size: int = 1024) -> torch.Tensor:
    """Official "analytic" SatCLIP features, with the original expanded-polynomial arithmetic.

    Inference only (no autograd): this exists to reproduce the released models.

    Args:
        lonlat: ``[N, 2]`` (longitude, latitude) in degrees. Evaluate in float64 to
            match the released models (the original code ran in float64).
        degree: number of Legendre degrees L.
        chunk_size: points per block (keeps the working set in cache).

    Returns:
        ``[N, L**2]`` features in the ``satclip`` convention and column order (a
        transposed view of a ``[L**2, N]`` buffer).
    """
    if degree < 1:
        raise ValueError(f"degree must be >= 1, got {degree}")
    if not lonlat.is_floating_point():
        lonlat = lonlat.to(torch.get_default_dtype())
    dtype, device = lonlat.dtype, lonlat.device
    coefficients, prefactors, orders, prefixes, feature_rows = (
        t.to(device=device, dtype=dtype) if isinstance(t, torch.Tensor) and t.is_floating_point() else t
        for t in _evaluation_plan(degree)
    )
    feature_rows = feature_rows.to(device)
    packed_orders = orders.to(torch.long)  # order m of each reordered packed row
    # cos(mφ) is trig row m and sin(|m|φ) row L + |m|, for each feature column.
    feature_trig = torch.tensor(
        [m if m >= 0 else degree - m for l in range(degree) for m in range(-l, l + 1)], device=device
    )
    m_values = torch.arange(degree, dtype=dtype, device=device).unsqueeze(1)
    n = lonlat.shape[0]
    out = torch.empty(degree * degree, n, dtype=dtype, device=device)

    if device.type != "cpu":
        chunk_size = max(chunk_size, GPU_CHUNK_SIZE)  # few large kernels suit accelerators better
    chunk_size = max(1, min(chunk_size, n))  # small inputs get small buffers

    def fill(start: int) -> None:
        block = lonlat[start : start + chunk_size]
        theta = torch.deg2rad(block[:, 1] + 90)
        phi = torch.deg2rad(block[:, 0] + 180)
        x = torch.cos(theta)
        # Sum the monomials from the highest power down, term by term, as the original
        # generated expressions did: this keeps the rounding of the cancelling sums close
        # to the original's (a matrix product sums in another order and drifts ~3x more).
        values = torch.zeros(coefficients.shape[1], x.shape[0], dtype=dtype, device=device)
        for k in range(degree - 1, -1, -1):
            first, count = prefixes[k]
            if count:
                terms = torch.outer(coefficients[k, first : first + count], x**k)
                values[first : first + count] += terms
        # prefactor * (1 - cos²θ)^(m/2) * polynomial, in the original order of operations;
        # powers and cos/sin(mφ) are computed once per order m, then gathered.
        sine_powers = ((1.0 - x**2).unsqueeze(0) ** (m_values / 2)).index_select(0, packed_orders)
        packed = (prefactors.unsqueeze(1) * sine_powers) * values
        angles = m_values * phi.unsqueeze(0)
        trig = torch.cat([torch.cos(angles), torch.sin(angles)]).index_select(0, feature_trig)
        torch.mul(packed.index_select(0, feature_rows), trig, out=out[:, start : start + block.shape[0]])

    with torch.no_grad():
        run_chunks(fill, range(0, n, chunk_size), parallel=device.type == "cpu")
    return out.T
