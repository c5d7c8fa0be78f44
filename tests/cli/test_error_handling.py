"""Usage errors and our own errors reach the user as one line and exit 2; help stays help."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from satclip_cli.cli.app import app

runner = CliRunner()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["export", "model.ckpt"], "Error: Missing option '--output' / '-o'. (see 'satclip export --help')"),
        (["train", "--max-epochs", "many"], "Error: Invalid value for '--max-epochs'"),
        (["embed", "--bogus"], "Error: No such option: --bogus"),
        (["sample", "--source", "moon", "--out", "x"], "Error: Invalid value for '--source'"),
        (["nosuch"], "Error: No such command 'nosuch'. (see 'satclip --help')"),
        (["repack", "ds", "--workers", "0", "--in-place"], "Error: Invalid value for '--workers'"),
    ],
)
def test_usage_errors_are_one_line_with_exit_2(args, message):
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert result.output.startswith(message) and result.output.count("\n") == 1, result.output


def test_usage_errors_are_one_line_from_the_installed_command_too():
    result = subprocess.run([sys.executable, "-m", "satclip_cli", "export", "x.ckpt"], capture_output=True, text=True)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        "Error: Missing option '--output' / '-o'. (see 'python -m satclip_cli export --help')"
    ]


def test_no_arguments_and_help_still_print_help():
    bare = runner.invoke(app, ["export"], env={"COLUMNS": "200"})
    assert "Usage: satclip export" in bare.output and "Error" not in bare.output
    helped = runner.invoke(app, ["sample", "--help"], env={"COLUMNS": "200"})
    assert helped.exit_code == 0
    # paragraphs of the docstring are reflowed, not cut at the source's line breaks
    assert "DIR/index.csv (fn,lon,lat, as the original S2-100K loader reads) and DIR/index.parquet" in helped.output


def test_sigterm_raises_terminated_inside_a_command_and_the_previous_handler_comes_back():
    import os
    import signal
    import time

    from satclip_cli.cli.error_handling import Terminated, sigterm_as_interrupt

    received = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: received.append(signum))
    try:
        with pytest.raises(Terminated), sigterm_as_interrupt():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # interrupted by the handler
        assert issubclass(Terminated, KeyboardInterrupt)  # so every Ctrl-C clean-up path runs for it too
        os.kill(os.getpid(), signal.SIGTERM)  # after the block: the handler installed before it
        time.sleep(0.05)
        assert received == [signal.SIGTERM]
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_a_full_disk_no_writer_reported_is_still_one_line_and_other_bugs_keep_their_traceback(capsys):
    import errno

    import typer

    from satclip_cli.cli.error_handling import user_errors_exit

    @user_errors_exit
    def logger_fills_the_disk() -> None:
        raise OSError(errno.ENOSPC, "No space left on device", "run/csv/metrics.csv")

    @user_errors_exit
    def a_bug() -> None:
        raise OSError(errno.EBADF, "Bad file descriptor")

    with pytest.raises(typer.Exit) as stopped:
        logger_fills_the_disk()
    assert stopped.value.exit_code == 2
    error = "Error: no space left on the device ([Errno 28] No space left on device: 'run/csv/metrics.csv')\n"
    assert capsys.readouterr().err == error
    with pytest.raises(OSError, match="Bad file descriptor"):
        a_bug()
