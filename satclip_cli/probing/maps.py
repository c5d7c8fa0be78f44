"""PNG maps of a probe run: truth / prediction / error per task, and the spatial-block fold layout.

Every panel is a plate carrée (lon, lat) degrees map with the coastlines of the packaged 5′ land mask
(:mod:`~satclip_cli.geo.land_mask`, averaged to :data:`COAST_RESOLUTION_DEG` cells, land shaded, the 50 %
land contour drawn) behind the points. Classification errors are drawn in two colours (right / wrong),
with a legend, not on a colour bar.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np

from satclip_cli.utils.atomic_output import atomic_output

COAST_RESOLUTION_DEG = 0.5
"""Cell size of the land fraction grid the coastlines are contoured from, degrees."""

RIGHT_COLOUR, WRONG_COLOUR = "#2c7fb8", "#e6550d"


@functools.cache
def _land_fraction() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(lon [C], lat [R], fraction [R, C])``: share of land in each :data:`COAST_RESOLUTION_DEG` cell."""
    from satclip_cli.geo.land_mask import load_land_mask

    mask = load_land_mask()
    factor = max(1, round(COAST_RESOLUTION_DEG / mask.resolution_deg))
    rows, cols = mask.grid.shape
    grid = mask.grid[: rows - rows % factor, : cols - cols % factor]
    fraction = grid.reshape(grid.shape[0] // factor, factor, grid.shape[1] // factor, factor).mean(axis=(1, 3))
    step = 180.0 / fraction.shape[0]
    lat = 90.0 - (np.arange(fraction.shape[0]) + 0.5) * step
    lon = -180.0 + (np.arange(fraction.shape[1]) + 0.5) * step
    return lon, lat, fraction


@functools.cache
def _coastline_segments() -> list[np.ndarray]:
    """The 50 % land contour of the land fraction grid: float [k, 2] (lon, lat) polylines, computed once."""
    import contourpy

    lon, lat, fraction = _land_fraction()
    return list(contourpy.contour_generator(lon, lat, fraction).lines(0.5))


def draw_coastlines(axis: Any) -> None:
    """Land shaded light grey and the coastline in grey on a (lon, lat) axis, below everything else."""
    from matplotlib.collections import LineCollection
    from matplotlib.colors import ListedColormap

    _, _, fraction = _land_fraction()
    land = np.ma.masked_less(fraction, 0.5)
    axis.imshow(
        land, extent=(-180, 180, -90, 90), origin="upper", cmap=ListedColormap(["#ececec"]), vmin=0, vmax=1,
        interpolation="nearest", zorder=0,
    )  # fmt: skip
    axis.add_collection(LineCollection(_coastline_segments(), colors="#8c8c8c", linewidths=0.5, zorder=1))


def _frame(axis: Any, lonlat: np.ndarray, title: str) -> None:
    """Coastlines, the title, and the extent of the points (with a margin), at equal aspect."""
    draw_coastlines(axis)
    axis.set_title(title)
    west, south = lonlat.min(axis=0) if len(lonlat) else (-180.0, -90.0)
    east, north = lonlat.max(axis=0) if len(lonlat) else (180.0, 90.0)
    margin = max(2.0, 0.05 * max(east - west, north - south))
    axis.set_xlim(max(-180.0, west - margin), min(180.0, east + margin))
    axis.set_ylim(max(-90.0, south - margin), min(90.0, north + margin))
    axis.set_aspect("equal")
    axis.set_xlabel("longitude (°)")
    axis.set_ylabel("latitude (°)")


def _save(fig: Any, path: Path) -> Path:
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path, overwrite=True) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def write_task_maps(
    path: Path,
    title: str,
    lonlat: np.ndarray,
    truth: np.ndarray,
    prediction: np.ndarray,
    classification: bool,
) -> Path:
    """A PNG with three maps of the test points: truth, prediction, and the error.

    The error is ``|prediction - truth|`` on a colour bar (regression) or right/wrong in two colours
    (classification). ``lonlat`` float [N, 2] degrees (lon, lat); ``truth``/``prediction`` [N] values
    or class indices.
    """
    from matplotlib.lines import Line2D

    plt = _pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(18, 4.8), constrained_layout=True)
    lon, lat = lonlat[:, 0], lonlat[:, 1]
    size = max(1.0, min(12.0, 4000.0 / max(1, len(lon))))
    for axis, name in zip(axes, ("truth", "prediction", "error"), strict=True):
        _frame(axis, lonlat, name)
    if classification:
        for axis, values in zip(axes[:2], (truth, prediction), strict=True):
            axis.scatter(lon, lat, c=values, s=size, cmap="tab20", linewidths=0, zorder=2)
        wrong = np.asarray(truth) != np.asarray(prediction)
        axes[2].scatter(lon[~wrong], lat[~wrong], c=RIGHT_COLOUR, s=size, linewidths=0, zorder=2)
        axes[2].scatter(lon[wrong], lat[wrong], c=WRONG_COLOUR, s=size, linewidths=0, zorder=3)
        handles = [
            Line2D([], [], marker="o", linestyle="", color=RIGHT_COLOUR, label=f"right ({int((~wrong).sum())})"),
            Line2D([], [], marker="o", linestyle="", color=WRONG_COLOUR, label=f"wrong ({int(wrong.sum())})"),
        ]
        axes[2].legend(handles=handles, loc="lower left", fontsize="small")
        axes[2].set_title(f"error: {wrong.mean():.1%} wrong")
    else:
        low, high = np.nanpercentile(np.concatenate([truth, prediction]), [1, 99])
        for axis, values in zip(axes[:2], (truth, prediction), strict=True):
            points = axis.scatter(
                lon, lat, c=values, s=size, cmap="viridis", vmin=low, vmax=high, linewidths=0, zorder=2
            )
            fig.colorbar(points, ax=axis, shrink=0.7)
        error = np.abs(np.asarray(prediction) - np.asarray(truth))
        points = axes[2].scatter(lon, lat, c=error, s=size, cmap="magma_r", linewidths=0, zorder=2)
        fig.colorbar(points, ax=axes[2], shrink=0.7)
        axes[2].set_title("|error|")
    fig.suptitle(title)
    return _save(fig, path)


def write_blocks_map(
    path: Path,
    title: str,
    lonlat: np.ndarray,
    fold_of_point: np.ndarray,
    block_bounds: list[tuple[float, float, float, float]],
    n_folds: int,
) -> Path:
    """The spatial-block layout: each point coloured by its fold, the outline of every occupied block.

    ``lonlat`` float [N, 2] (lon, lat) degrees; ``fold_of_point`` int [N] in ``0..n_folds-1``;
    ``block_bounds`` ``(west, south, east, north)`` degrees of the blocks that hold points.
    """
    from matplotlib.collections import PatchCollection
    from matplotlib.lines import Line2D
    from matplotlib.patches import Rectangle

    plt = _pyplot()
    fig, axis = plt.subplots(figsize=(12, 6.5), constrained_layout=True)
    _frame(axis, lonlat, title)
    rectangles = [Rectangle((w, s), e - w, n - s) for w, s, e, n in block_bounds]
    axis.add_collection(PatchCollection(rectangles, facecolor="none", edgecolor="#555555", linewidth=0.4, zorder=3))
    colours = plt.get_cmap("tab10" if n_folds <= 10 else "tab20")
    size = max(1.0, min(10.0, 4000.0 / max(1, len(lonlat))))
    handles = []
    for fold in range(n_folds):
        mine = fold_of_point == fold
        colour = colours(fold % colours.N)
        axis.scatter(lonlat[mine, 0], lonlat[mine, 1], color=colour, s=size, linewidths=0, zorder=2)
        handles.append(
            Line2D([], [], marker="o", linestyle="", color=colour, label=f"fold {fold + 1} ({int(mine.sum())})")
        )
    axis.legend(handles=handles, loc="lower left", fontsize="small")
    return _save(fig, path)
