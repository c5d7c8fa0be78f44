"""Shared test fixtures: the test data in ``tests/data``, and the full reference data beside the checkout.

Every test reads ``tests/data``: a few MB of real data derived from ``../shared`` by the script beside each
folder (``tests/data/README.md``), so a fresh clone runs the same tests as a checkout with ``../shared`` beside
it. The few tests that need the full data are marked ``@pytest.mark.shared_data`` and take ``shared_data_dir`` or
``shared_fixtures_dir``; they are skipped when ``../shared`` is missing.
"""

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest

TEST_DATA = Path(__file__).resolve().parent / "data"
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SHARED_DATA_MARKER = "shared_data"

# The loopback STAC/COG servers and their fixtures (tests/support/loopback_fixtures.py) serve the
# sampling tests and the `satclip sample` command tests alike.
pytest_plugins = ["tests.support.loopback_fixtures"]


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip the tests marked ``shared_data`` when ``../shared`` is not beside the checkout."""
    if item.get_closest_marker(SHARED_DATA_MARKER) is not None and not SHARED.is_dir():
        pytest.skip(f"needs the full reference data in {SHARED} (not available)")


def _shared(request: pytest.FixtureRequest, folder: str) -> Path:
    """``../shared/<folder>`` for a test marked ``shared_data``; skips when it is missing."""
    if request.node.get_closest_marker(SHARED_DATA_MARKER) is None:
        raise pytest.UsageError(f"{request.node.nodeid} reads ../shared/{folder}: mark it @pytest.mark.shared_data")
    path = SHARED / folder
    if not path.is_dir():
        pytest.skip(f"{path} is not available")
    return path


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """``tests/data``: real data derived from ``../shared/data``, laid out like it (``data_dir/<dataset>/<file>``).

    Holds what the tests read: ``s2_tiles`` (23 S2-100K patches, centre 64 px), ``s2_stac_tiles`` (4 patches,
    top-left 252 px, the loopback STAC catalog's source), ``stac`` (Planetary Computer items), and trimmed copies
    of the probe tasks' sources (``air_temperature``, ``california_housing``, ``median_income``, ``natural_earth``,
    ``ecoregions``, ``elevation``); each folder's script and README say how.
    """
    return TEST_DATA


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """``tests/data/fixtures``: the official-layout ``satclip_resnet18_l10.ckpt`` trimmed to its location tower, and
    the first rows of the official reference outputs (``points.npy`` and what the official code made of them)."""
    return TEST_DATA / "fixtures"


@pytest.fixture
def shared_data_dir(request: pytest.FixtureRequest) -> Path:
    """``../shared/data``, the full real data, for tests marked ``shared_data`` (skips when missing)."""
    return _shared(request, "data")


@pytest.fixture
def shared_fixtures_dir(request: pytest.FixtureRequest) -> Path:
    """``../shared/fixtures``, the full official-format checkpoints and reference outputs, for tests marked
    ``shared_data`` (skips when missing)."""
    return _shared(request, "fixtures")


@pytest.fixture(scope="session")
def closed_form_checkpoint(fixtures_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The official-layout checkpoint of ``fixtures_dir`` relabelled ``harmonics_calculation='closed-form'``.

    Its weights are the analytic model's, so it serves behaviour decided by the hyper-parameters (what a
    closed-form model allows), not embeddings.
    """
    import torch

    checkpoint = torch.load(fixtures_dir / "satclip_resnet18_l10.ckpt", weights_only=True)
    checkpoint["hyper_parameters"]["harmonics_calculation"] = "closed-form"
    path = tmp_path_factory.mktemp("closed-form") / "satclip_resnet18_l10_closed.ckpt"
    torch.save(checkpoint, path)
    return path


@pytest.fixture
def make_s2_dataset(data_dir: Path) -> Callable[..., Path]:
    """``make(root, count=None) -> root``: images/ links to the first ``count`` patches of ``tests/data/s2_tiles``
    (23 real S2-100K patches, 12 x 64 x 64 uint16, their original LZW encoding) + index.csv ``fn, lon, lat``."""
    tiles = data_dir / "s2_tiles"

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


@pytest.fixture
def live_pid() -> Iterator[int]:
    """The pid of another process, running during the test: a live writer whose temporaries must survive."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield process.pid
    process.kill()
    process.wait()
