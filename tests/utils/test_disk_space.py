"""Full-disk errors in all the forms libraries raise them, turned into one message naming the path and space.

These inject ``OSError(ENOSPC)`` and its look-alikes at the write call, so they run anywhere; the real full
file systems (a tmpfs) are in ``tests/cli/test_full_disk.py``.
"""

from __future__ import annotations

import errno

import pytest

from satclip_cli.errors import DiskFullError
from satclip_cli.utils.atomic_output import atomic_output
from satclip_cli.utils.disk_space import (
    check_free_space,
    disk_full_error,
    format_bytes,
    free_bytes,
    is_disk_full,
    reporting_full_disk,
)


def _chained(outer: BaseException, inner: BaseException) -> BaseException:
    try:
        try:
            raise inner
        except BaseException as error:
            raise outer from error
    except BaseException as raised:
        return raised


@pytest.mark.parametrize(
    "error",
    [
        OSError(errno.ENOSPC, "No space left on device"),
        OSError(errno.EDQUOT, "Disk quota exceeded"),
        OSError("Error writing bytes to file. Detail: [errno 28] No space left on device"),  # pyarrow: no errno
        RuntimeError("Error while serializing: I/O error: No space left on device (os error 28)"),  # safetensors
        _chained(RuntimeError("PytorchStreamWriter failed"), OSError(errno.ENOSPC, "No space left on device")),
    ],
)
def test_full_disks_are_recognised_in_every_form(error):
    assert is_disk_full(error)


@pytest.mark.parametrize(
    "error",
    [
        OSError(errno.EACCES, "Permission denied"),
        ValueError("28 points"),
        RuntimeError("errno 2"),
        _chained(ValueError("bad"), KeyError("x")),
    ],
)
def test_other_errors_are_not_full_disks(error):
    assert not is_disk_full(error)


@pytest.mark.parametrize(
    ("n", "text"),
    [(0, "0 B"), (999, "999 B"), (1000, "1.0 kB"), (3_600, "3.6 kB"), (64e6, "64.0 MB"), (2.5e12, "2.5 TB")],
)
def test_format_bytes(n, text):
    assert format_bytes(n) == text


def test_the_message_names_the_path_the_free_space_and_what_was_needed(tmp_path):
    message = str(disk_full_error(tmp_path / "out.parquet", needed=3_600, kept="finished parts are kept"))
    free = format_bytes(free_bytes(tmp_path))
    path = tmp_path / "out.parquet"
    expected = f"no space left on the device for {path} ({free} free, about 3.6 kB needed); finished parts are kept"
    assert message == expected


def test_free_space_of_a_path_not_made_yet_is_its_nearest_folders(tmp_path):
    assert free_bytes(tmp_path / "a" / "b" / "c.tif") == free_bytes(tmp_path)


def test_check_free_space_refuses_more_than_is_free(tmp_path):
    check_free_space(tmp_path, 1, "a test")
    with pytest.raises(DiskFullError, match=r"not enough disk space for a test in .*: about .* needed, .* free"):
        check_free_space(tmp_path, 10**18, "a test")


def test_reporting_turns_an_injected_enospc_into_one_error_after_cleaning_up(tmp_path):
    calls = []
    expected = r"no space left on the device for .*x\.bin \(.* free, about 5 B needed\)"
    with (
        pytest.raises(DiskFullError, match=expected),
        reporting_full_disk(tmp_path / "x.bin", needed=5, cleanup=lambda: calls.append("cleanup")),
    ):
        raise OSError(errno.ENOSPC, "No space left on device")
    assert calls == ["cleanup"]


def test_reporting_lets_other_errors_and_ctrl_c_through_and_still_cleans_up(tmp_path):
    calls = []
    with pytest.raises(PermissionError), reporting_full_disk(tmp_path, cleanup=lambda: calls.append(1)):
        raise PermissionError(errno.EACCES, "Permission denied")
    with pytest.raises(KeyboardInterrupt), reporting_full_disk(tmp_path, cleanup=lambda: calls.append(2)):
        raise KeyboardInterrupt
    assert calls == [1, 2]


def test_atomic_output_reports_a_full_disk_removes_its_temporary_and_keeps_the_old_output(tmp_path):
    target = tmp_path / "out.json"
    target.write_text("old")
    with (
        pytest.raises(DiskFullError, match=r"no space left on the device for .*out\.json .*; earlier"),
        atomic_output(target, overwrite=True, kept="earlier outputs are kept") as tmp,
    ):
        tmp.write_text("half")
        raise OSError(errno.ENOSPC, "No space left on device")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]
