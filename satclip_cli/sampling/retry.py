"""Retry transient failures (HTTP 5xx/429, dropped connections) with exponential backoff."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


class RunStoppedError(Exception):
    """The run is stopping (Ctrl-C); raised instead of sleeping before a retry."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry: delays ``base_delay * 2**k`` seconds, capped, with jitter.

    ``attempts`` counts all tries, the first one included.
    """

    attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 30.0

    def delay(self, retry_number: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry ``retry_number`` (1-based): exponential, ±25 % jitter."""
        base = min(self.max_delay, self.base_delay * 2 ** (retry_number - 1))
        jitter = (rng or random).uniform(0.75, 1.25)
        return base * jitter


def call_with_retries(
    func: Callable[[], T],
    policy: RetryPolicy,
    is_transient: Callable[[BaseException], bool],
    *,
    on_retry: Callable[[BaseException], None] | None = None,
    stop: threading.Event | None = None,
) -> T:
    """Call ``func``; on a transient error wait and try again, up to ``policy.attempts`` tries.

    Permanent errors (``is_transient`` false) and the last transient one propagate. ``on_retry``
    is called with each error that leads to a retry. When ``stop`` is set during a wait,
    :class:`RunStoppedError` is raised at once.
    """
    for attempt in range(1, policy.attempts + 1):
        try:
            return func()
        except Exception as error:
            if attempt == policy.attempts or not is_transient(error):
                raise
            if on_retry is not None:
                on_retry(error)
            wait = policy.delay(attempt)
            if stop is not None:
                if stop.wait(wait):
                    raise RunStoppedError() from error
            else:
                threading.Event().wait(wait)
    raise AssertionError("unreachable")  # pragma: no cover
