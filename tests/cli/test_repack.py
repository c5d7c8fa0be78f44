"""``satclip repack`` through the CLI on real S2-100K patches."""

from __future__ import annotations

import rasterio
from typer.testing import CliRunner

from satclip_cli.cli.app import app

runner = CliRunner()


def test_repack_writes_a_smaller_lossless_copy_and_reports_it(make_s2_dataset, tmp_path):
    data = make_s2_dataset(tmp_path / "ds", count=3)
    result = runner.invoke(app, ["repack", str(data), "-o", str(tmp_path / "fast"), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "Re-encoded 3 of 3 patches" in result.output and "MB ->" in result.output
    for path in (data / "images").iterdir():
        with rasterio.open(path) as a, rasterio.open(tmp_path / "fast" / "images" / path.name) as b:
            assert (a.read() == b.read()).all() and b.tags(ns="IMAGE_STRUCTURE")["COMPRESSION"] == "ZSTD"
    again = runner.invoke(app, ["repack", str(data), "-o", str(tmp_path / "fast"), "--quiet"])
    assert again.exit_code == 0 and again.output == ""


def test_out_or_in_place_is_required_and_errors_are_one_line(make_s2_dataset, tmp_path):
    data = make_s2_dataset(tmp_path / "ds", count=1)
    for args in (
        [str(data)],
        [str(data), "-o", str(tmp_path / "x"), "--in-place"],
        [str(tmp_path / "nope"), "--in-place"],
    ):
        result = runner.invoke(app, ["repack", *args])
        assert result.exit_code == 2, result.output
        assert result.output.startswith("Error: ") and result.output.count("\n") == 1, result.output
    assert not (tmp_path / "x").exists()


def test_an_unwritable_or_file_output_is_one_line(make_s2_dataset, tmp_path):
    from tests.support.permissions import read_only_folder, unprivileged, world_readable_dir

    data = make_s2_dataset(tmp_path / "ds", count=3)
    (tmp_path / "a-file").write_text("keep")
    result = CliRunner().invoke(app, ["repack", str(data), "-o", str(tmp_path / "a-file" / "fast")])
    assert result.exit_code == 2 and "a part of the path is a file" in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1
    with world_readable_dir() as root:
        shared = make_s2_dataset(root / "ds", count=3)
        locked = read_only_folder(root)
        with unprivileged():
            result = CliRunner().invoke(app, ["repack", str(shared), "-o", str(locked / "fast")])
            in_place = CliRunner().invoke(app, ["repack", str(shared), "--in-place"])
        assert result.exit_code == 2 and "cannot create output folder" in result.output
        assert "permission denied" in result.output
        assert in_place.exit_code == 2 and "cannot write in dataset images folder" in in_place.output
        assert len(result.output.strip().splitlines()) == 1 and len(in_place.output.strip().splitlines()) == 1


def test_workers_end_when_repack_is_killed_with_sigkill(data_dir, tmp_path):
    """``kill -9`` of a running ``satclip repack --workers 2``: its worker processes exit within seconds instead of
    waiting at PPID 1 on a pipe for ever; the next run removes the killed run's temporary patches and finishes."""
    import os
    import signal
    import subprocess
    import sys
    import time

    import pandas as pd
    import psutil

    tiles = data_dir / "s2_tiles"
    names = pd.read_csv(tiles / "index.csv")[["file", "lon", "lat"]]
    rows = []
    (tmp_path / "ds" / "images").mkdir(parents=True)
    for copy in range(20):  # 460 patches: seconds of work for 2 workers
        for name, lon, lat in names.itertuples(index=False):
            (tmp_path / "ds" / "images" / f"c{copy}_{name}").symlink_to(tiles / name)
            rows.append((f"c{copy}_{name}", lon, lat))
    pd.DataFrame(rows, columns=["fn", "lon", "lat"]).to_csv(tmp_path / "ds" / "index.csv", index=False)
    out = tmp_path / "fast"
    command = [sys.executable, "-m", "satclip_cli", "repack", str(tmp_path / "ds"), "-o", str(out), "--workers", "2"]
    run = subprocess.Popen([*command, "--quiet"], stderr=subprocess.PIPE)
    workers: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and run.poll() is None:
            workers = psutil.Process(run.pid).children(recursive=True)
            if len(workers) >= 2 and (out / "images").is_dir() and len(os.listdir(out / "images")) > 10:
                break
            time.sleep(0.02)
        assert run.poll() is None and len(workers) >= 2, "repack finished before it could be killed"
        os.kill(run.pid, signal.SIGKILL)
        run.wait()
        _, alive = psutil.wait_procs(workers, timeout=5)
        alive = [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        assert alive == [], f"orphaned workers: {[(p.pid, p.ppid()) for p in alive]}"
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
        for worker in workers:  # never leave a process behind, even when the test fails
            if worker.is_running():
                worker.kill()
    assert len(os.listdir(out / "images")) < len(rows)  # it was killed mid-run
    again = subprocess.run([*command, "--quiet"], capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert sorted(os.listdir(out / "images")) == sorted(name for name, _, _ in rows)  # no temporary patch left
    assert (out / "index.csv").is_file()
