"""Start-up and shut-down helpers: garbage collection paused during imports, frozen at exit."""

from __future__ import annotations

import gc
import subprocess
import sys

import pytest

from satclip_cli.utils.startup import no_garbage_collection


@pytest.mark.parametrize("enabled_before", [True, False])
def test_garbage_collection_is_paused_inside_and_restored_after_also_on_errors(enabled_before):
    (gc.enable if enabled_before else gc.disable)()
    try:
        with pytest.raises(RuntimeError), no_garbage_collection():
            assert not gc.isenabled()
            raise RuntimeError
        assert gc.isenabled() is enabled_before
    finally:
        gc.enable()


def test_a_process_that_froze_at_exit_still_exits_cleanly_and_flushes_its_output():
    # exit handlers run last-registered first: the probe registered before sees the objects already frozen
    code = (
        "import atexit, gc; atexit.register(lambda: print('frozen', gc.get_freeze_count() > 1_000)); "
        "from satclip_cli.utils.startup import freeze_at_exit; freeze_at_exit(); freeze_at_exit(); print('done')"
    )
    finished = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert finished.returncode == 0 and finished.stdout == "done\nfrozen True\n" and finished.stderr == ""
