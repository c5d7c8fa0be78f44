"""PNG maps of a probe run (satclip_cli.probing.maps): coastlines behind, two-colour errors, the fold layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from satclip_cli.probing.maps import RIGHT_COLOUR, WRONG_COLOUR, write_blocks_map, write_task_maps


def _pixels(path: Path) -> np.ndarray:
    import matplotlib.image

    return (matplotlib.image.imread(path)[..., :3] * 255).round().astype(int).reshape(-1, 3)


def _count(pixels: np.ndarray, colour: str) -> int:
    rgb = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(pixels - rgb).max(axis=1) <= 2).sum())


def test_classification_errors_are_two_colours_over_shaded_land(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    lonlat = np.c_[rng.uniform(-170, 170, 400), rng.uniform(-60, 70, 400)]
    truth = rng.integers(0, 3, 400)
    prediction = np.where(rng.random(400) < 0.8, truth, (truth + 1) % 3)
    path = write_task_maps(tmp_path / "m.png", "t", lonlat, truth, prediction, classification=True)
    pixels = _pixels(path)
    assert _count(pixels, RIGHT_COLOUR) > 50 and _count(pixels, WRONG_COLOUR) > 20
    assert _count(pixels, "#ececec") > 10_000  # land from the packaged mask, behind the points


def test_regression_maps_and_the_blocks_layout(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    lonlat = np.c_[rng.uniform(-10, 30, 300), rng.uniform(35, 60, 300)]  # Europe: coastlines in the frame
    truth = lonlat[:, 1] * 0.5
    path = write_task_maps(tmp_path / "r.png", "t", lonlat, truth, truth + rng.normal(size=300), classification=False)
    assert _count(_pixels(path), "#ececec") > 5_000
    folds = rng.integers(0, 5, 300)
    blocks = write_blocks_map(tmp_path / "b.png", "blocks", lonlat, folds, [(0.0, 40.0, 5.0, 45.0)], 5)
    pixels = _pixels(blocks)
    assert _count(pixels, "#1f77b4") > 20 and _count(pixels, "#9467bd") > 20  # fold 1 and fold 5 of tab10
