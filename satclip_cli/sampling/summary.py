"""What a ``satclip sample`` run did: counts of patches, rejections, errors and retries, and its report."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from satclip_cli.dataset.layout import FAILURES_GLOB, STATE_DIR


@dataclass
class SampleSummary:
    """Counts of a run; thread-safe increments through :meth:`add`.

    Attributes:
        out_dir: the dataset folder.
        planned: patches of this shard (done before or not).
        already_done: patches of this shard present before the run.
        written: patches written by the run.
        gave_up: patches without an acceptable window after every point attempt (logged as failures).
        no_item: points without a usable scene (redrawn).
        outside_item: windows past a scene's edge or a pole (redrawn or the next scene tried).
        rejected: windows rejected by the quality check, by reason (``nodata``, ``cloud``).
        search_errors: failed searches (logged as failures; the point is redrawn).
        read_errors: failed reads (logged as failures; the next scene or point is tried).
        bad_items: found STAC items that cannot be used, e.g. malformed ``proj:transform``/``proj:shape``
            (logged as failures each time a search returns one; the point's other scenes are tried).
        retries: retried searches and reads.
        index_rows: rows of the index written at the end.
        remade_unreadable: unreadable finished patches (0 bytes, damaged) removed at the start to be made again.
        interrupted: the run was stopped by Ctrl-C.
        seconds: wall time of the run.
    """

    out_dir: Path
    planned: int = 0
    already_done: int = 0
    written: int = 0
    gave_up: int = 0
    no_item: int = 0
    outside_item: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    search_errors: int = 0
    read_errors: int = 0
    bad_items: int = 0
    retries: int = 0
    index_rows: int = 0
    remade_unreadable: int = 0
    interrupted: bool = False
    seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, name: str, count: int = 1) -> None:
        """Add ``count`` to the counter ``name`` (e.g. ``"outside_item"``)."""
        with self._lock:
            setattr(self, name, getattr(self, name) + count)

    def reject(self, reason: str) -> None:
        """Count a window rejected for ``reason``."""
        with self._lock:
            self.rejected[reason] += 1

    def lines(self) -> list[str]:
        """A short human-readable report."""
        verb = "Interrupted after writing" if self.interrupted else "Wrote"
        lines = [
            f"{verb} {self.written:,} patches in {self.seconds:.1f} s "
            f"({self.already_done:,} already present; index lists {self.index_rows:,}) -> {self.out_dir}",
        ]
        rejected = ", ".join(f"{count:,} {reason}" for reason, count in sorted(self.rejected.items())) or "none"
        lines.append(
            f"Rejected patches: {rejected}; points without a usable scene (redrawn): {self.no_item:,}; "
            f"windows past a scene edge (or a pole): {self.outside_item:,}"
        )
        lines.append(
            f"Errors: {self.search_errors:,} search, {self.read_errors:,} read, {self.bad_items:,} bad item "
            f"(skipped; see {self.out_dir / STATE_DIR}/{FAILURES_GLOB}); retries: {self.retries:,}; "
            f"gave up on {self.gave_up:,} patches"
        )
        if self.remade_unreadable:
            lines.append(
                f"Unreadable patches found and made again: {self.remade_unreadable:,} "
                f"(listed in {self.out_dir / STATE_DIR}/{FAILURES_GLOB})"
            )
        if self.interrupted:
            lines.append("The dataset is consistent; run the same command again to resume.")
        return lines
