"""One progress bar for long loops: rich, on stderr, with a rate column (points/s, pixels/s).

rich is imported only when a bar is enabled: quiet runs (``-q``) do not pay for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import ProgressColumn


def _rate_column(unit: str) -> ProgressColumn:
    """A rich column: average items per second since the start, e.g. ``12,345 points/s``."""
    from rich.progress import ProgressColumn, Task
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task: Task) -> Text:
            elapsed = task.elapsed or 0.0
            if elapsed <= 0 or not task.completed:
                return Text(f"- {unit}/s", style="progress.data.speed")
            return Text(f"{task.completed / elapsed:,.0f} {unit}/s", style="progress.data.speed")

    return RateColumn()


@contextmanager
def progress_bar(
    enabled: bool, total: int | None, description: str, unit: str = "points", console: Console | None = None
) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr, removed when done (callers print a one-line summary).

    Yields ``advance(n)``. Nothing is drawn with ``enabled=False`` or when stderr is not
    a terminal (logs get the summary line only).
    """
    if not enabled:
        yield lambda count: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = console or Console(stderr=True)
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        _rate_column(unit),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
    with progress:
        task = progress.add_task(description, total=total)

        def advance(count: int) -> None:
            progress.advance(task, count)

        yield advance
