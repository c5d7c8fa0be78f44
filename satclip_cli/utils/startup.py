"""Start-up cost: imports and model loading create ~200k objects that live as long as the process."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def no_garbage_collection() -> Iterator[None]:
    """No automatic garbage collections inside the block (restored to what it was after): while torch, pandas
    or geopandas are imported, each collection would traverse all the long-lived objects made so far again."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
