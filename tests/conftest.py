"""Shared test fixtures: paths to the read-only reference data beside the checkout."""

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"

# The loopback STAC/COG servers and their fixtures (tests/support/loopback_fixtures.py) serve the
# sampling tests and the `satclip sample` command tests alike.
pytest_plugins = ["tests.support.loopback_fixtures"]


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """``../shared/fixtures``: official-format checkpoints and reference outputs."""
    path = SHARED / "fixtures"
    if not path.is_dir():
        pytest.skip("../shared/fixtures is not available")
    return path


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    """``../shared/data``: real data for tests (Natural Earth, S2 tiles, stations, ...)."""
    path = SHARED / "data"
    if not path.is_dir():
        pytest.skip("../shared/data is not available")
    return path


@pytest.fixture
def make_s2_dataset(shared_data_dir: Path) -> Callable[..., Path]:
    """``make(root, count=None) -> root``: images/ links to the first ``count`` shared tiles + index.csv."""
    tiles = shared_data_dir / "s2_tiles"
    if not (tiles / "index.csv").is_file():
        pytest.skip("../shared/data/s2_tiles is not available")

    def make(root: Path, count: int | None = None) -> Path:
        index = pd.read_csv(tiles / "index.csv").rename(columns={"file": "fn"})[["fn", "lon", "lat"]]
        index = index.iloc[:count]
        (root / "images").mkdir(parents=True)
        for name in index["fn"]:
            (root / "images" / name).symlink_to(tiles / name)
        index.to_csv(root / "index.csv", index=False)
        return root

    return make


@pytest.fixture
def dataset_dir(make_s2_dataset: Callable[..., Path], tmp_path: Path) -> Path:
    """A dataset folder over all 23 real patches."""
    return make_s2_dataset(tmp_path / "ds")


@pytest.fixture
def tiny_training() -> dict:
    """Settings of a tiny, fast CPU training run (a 1-layer 32-wide ViT on 64 px crops, L = 4, 16-d)."""
    return {
        "batch_size": 8,
        "num_workers": 0,
        "vision": "clip-vit",
        "vision_layers": 1,
        "vision_width": 32,
        "vision_patch_size": 16,
        "image_size": 64,
        "legendre_polys": 4,
        "capacity": 32,
        "embed_dim": 16,
        "precision": "32-true",
    }
