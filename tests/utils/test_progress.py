"""The shared progress bar shows a rate and disappears when done."""

import io

from rich.console import Console

from satclip_cli.utils.progress import progress_bar


def test_progress_bar_reports_rate_on_a_terminal():
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=120)
    with progress_bar(True, 50, "Embedding", unit="pixels", console=console) as advance:
        for _ in range(5):
            advance(10)
        console.print("")  # force a refresh while the bar is live
    text = buffer.getvalue()
    assert "Embedding" in text and "pixels/s" in text


def test_disabled_progress_bar_draws_nothing():
    buffer = io.StringIO()
    with progress_bar(False, 3, "Embedding", console=Console(file=buffer, force_terminal=True)) as advance:
        advance(3)
    assert buffer.getvalue() == ""
