"""Planetary Computer access: which URLs need signing, and the ``planetary-computer`` package's signers.

Planetary Computer's blob storage answers only requests with a SAS token; the
``planetary-computer`` package fetches tokens (honouring ``PC_SDK_SUBSCRIPTION_KEY``) and
leaves URLs of other hosts unchanged. Light to import (the CLI reads the default STAC URL from here).
"""

from __future__ import annotations

import warnings
from types import ModuleType
from urllib.parse import urlparse

PLANETARY_COMPUTER_STAC_URL = "https://planetarycomputer.microsoft.com/api/stac/v1"
"""Planetary Computer's STAC API, the default ``stac_url`` of the sampler."""


def is_planetary_computer(url: str) -> bool:
    """Whether ``url`` is a Planetary Computer STAC API or blob-storage URL (needs signing)."""
    host = urlparse(url).hostname or ""
    return host.endswith("planetarycomputer.microsoft.com") or host.endswith(".blob.core.windows.net")


def planetary_computer() -> ModuleType:
    """The ``planetary_computer`` module, imported without its pydantic deprecation warnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import planetary_computer as module
    return module
