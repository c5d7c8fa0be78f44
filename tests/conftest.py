"""Shared test fixtures: paths to the read-only reference data beside the checkout."""

import sys
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"

# The loopback STAC/COG servers and their fixtures (tests/sampling/loopback_fixtures.py) serve the
# sampling tests and the `satclip sample` command tests alike.
sys.path.insert(0, str(Path(__file__).resolve().parent / "sampling"))
pytest_plugins = ["loopback_fixtures"]


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
