"""Temporaries named after their writer; leftovers of dead writers removed, live writers' kept."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from satclip_cli.utils.atomic_output import atomic_output
from satclip_cli.utils.temporary_files import (
    Leftovers,
    remove_leftovers,
    temporary_dir_beside,
    temporary_file_beside,
    writer_tag,
)

HOST = socket.gethostname()


@pytest.fixture(scope="module")
def dead_pid() -> int:
    """The pid of a process that has run and been reaped."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


def test_temporaries_carry_the_writers_pid_and_host(tmp_path):
    target = tmp_path / "out.parquet"
    file, folder = temporary_file_beside(target), temporary_dir_beside(target)
    assert file.name.startswith(f".out.parquet.{os.getpid()}@{HOST}.") and file.name.endswith(".partial.parquet")
    assert folder.is_dir() and folder.name.startswith(f".out.parquet.{writer_tag()}.") and folder.name.endswith(".tmp")
    assert file.parent == folder.parent == tmp_path


def test_only_leftovers_of_dead_writers_and_old_names_are_removed(tmp_path, dead_pid, live_pid):
    target = tmp_path / "out.tif"

    def make(name: str, size: int = 10, folder: bool = False) -> Path:
        path = tmp_path / name
        if folder:
            path.mkdir()
            (path / "embedding.tif").write_bytes(b"x" * size)
        else:
            path.write_bytes(b"x" * size)
        return path

    removed = [
        make(f".out.tif.{dead_pid}@{HOST}.a1b2c3d4.partial.tif", 100),
        make(f".out.tif.{dead_pid}@{HOST}.a1b2c3d4.partial.tif.aux.xml", 5),  # a GDAL side-car of it
        make(f".out.tif.{dead_pid}@{HOST}.x_y9z8w7.tmp", 1000, folder=True),
        make(".out.tif.q1w2e3r4.partial.tif", 7),  # older versions: no writer in the name
        make(".out.tif.q1w2e3r4.tmp", 3, folder=True),
        make(".out.tif.1@elsewhere.example.a1b2c3d4.partial.tif", 2),  # another host, untouched for long
    ]
    os.utime(removed[-1], (0, 0))
    kept = [
        make(f".out.tif.{live_pid}@{HOST}.a1b2c3d4.partial.tif"),  # a run writing the same output right now
        make(f".out.tif.{live_pid}@{HOST}.a1b2c3d4.tmp", folder=True),
        make(f".out.tif.{os.getpid()}@{HOST}.a1b2c3d4.partial.tif"),  # this process's own
        make(".out.tif.1@elsewhere.example.a1b2c3d4.tmp", folder=True),  # another host, recently changed
        make("out.tif"),
        make(".out.tif.aux.xml"),  # not named like our temporaries
        make(f".out.tif.aux.{dead_pid}@{HOST}.a1b2c3d4.partial.aux"),  # the temporary of output "out.tif.aux"
        make(f".other.tif.{dead_pid}@{HOST}.a1b2c3d4.partial.tif"),  # of another output
        make(f".out.tif.{dead_pid}@{HOST}.a1b2c3d4.partial.png"),  # another suffix: not ours
    ]
    assert remove_leftovers(target) == Leftovers(6, 100 + 5 + 1000 + 7 + 3 + 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in kept)
    assert remove_leftovers(target) == Leftovers(0, 0)
    assert remove_leftovers(tmp_path / "missing-folder" / "x.tif") == Leftovers(0, 0)


def test_atomic_output_removes_dead_writers_leftovers_first(tmp_path, dead_pid, live_pid):
    dead = tmp_path / f".table.csv.{dead_pid}@{HOST}.abcd1234.partial.csv"
    dead.write_text("half a table")
    live = tmp_path / f".table.csv.{live_pid}@{HOST}.abcd1234.partial.csv"
    live.write_text("being written")
    with atomic_output(tmp_path / "table.csv") as tmp:
        assert not dead.exists() and live.exists()
        assert tmp.name.startswith(f".table.csv.{writer_tag()}.")
        tmp.write_text("a,b\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["table.csv", live.name])
