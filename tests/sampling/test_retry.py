import threading

import pytest

from satclip_cli.sampling.retry import RetryPolicy, RunStoppedError, call_with_retries

FAST = RetryPolicy(attempts=4, base_delay=0.001, max_delay=0.002)


class Flaky:
    def __init__(self, failures: int, error: Exception) -> None:
        self.failures = failures
        self.error = error
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return "ok"


def test_transient_errors_are_retried_until_success():
    func = Flaky(3, ConnectionError("reset"))
    seen = []
    assert call_with_retries(func, FAST, lambda e: True, on_retry=seen.append) == "ok"
    assert func.calls == 4
    assert len(seen) == 3


def test_last_transient_error_propagates_after_all_attempts():
    func = Flaky(10, ConnectionError("down"))
    with pytest.raises(ConnectionError, match="down"):
        call_with_retries(func, FAST, lambda e: True)
    assert func.calls == FAST.attempts


def test_permanent_errors_are_not_retried():
    func = Flaky(1, ValueError("corrupt"))
    with pytest.raises(ValueError):
        call_with_retries(func, FAST, lambda e: isinstance(e, ConnectionError))
    assert func.calls == 1


def test_stop_event_interrupts_the_wait():
    stop = threading.Event()
    stop.set()
    func = Flaky(5, ConnectionError("x"))
    with pytest.raises(RunStoppedError):
        call_with_retries(func, RetryPolicy(attempts=3, base_delay=60), lambda e: True, stop=stop)
    assert func.calls == 1


def test_delays_grow_exponentially_and_are_capped():
    policy = RetryPolicy(attempts=10, base_delay=1.0, max_delay=5.0)
    delays = [policy.delay(k) for k in range(1, 6)]
    assert 0.75 <= delays[0] <= 1.25
    assert 1.5 <= delays[1] <= 2.5
    assert 3.0 <= delays[2] <= 5.0
    assert all(d <= 5.0 * 1.25 for d in delays)
