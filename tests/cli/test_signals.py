"""``satclip embed`` killed with SIGKILL or SIGTERM mid-run, as real processes: no debris that lasts.

SIGKILL cannot be handled: the killed run's temporaries (named ``.OUT.<pid>@<host>.<random>.partial.EXT`` and
``.OUT.<pid>@<host>.<random>.tmp/``) stay until the next run writing ``OUT`` removes them, keeping those of a
writer that still runs. SIGTERM takes Ctrl-C's path: temporaries removed, an existing output untouched, exit 143.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from satclip_cli.models.checkpoints import load_location_encoder

CHECKPOINT = "satclip_resnet18_l10.ckpt"
# A small --batch-size makes a small output take seconds, so the run can be killed mid-way.
SLOW = ["--batch-size", "1"]
RASTER = ["--bbox", "-180", "-60", "180", "60", "--resolution", "3", "--dtype", "float64"]
"""120 x 40 pixels of 256 float64-computed bands: 4.9 MB uncompressed."""


@pytest.fixture(scope="module")
def checkpoint(fixtures_dir: Path) -> Path:
    return fixtures_dir / CHECKPOINT


def _satclip(*args: object) -> list[str]:
    return [sys.executable, "-m", "satclip_cli", *map(str, args)]


def _temporaries(output: Path) -> list[Path]:
    return sorted(output.parent.glob(f".{output.name}.*"))


def _start_and_wait_for_temporaries(command: list[str], output: Path, kinds: tuple[str, ...]) -> subprocess.Popen:
    """Start ``command`` and return once it has created a temporary of ``output`` of each kind (name endings);
    fails when the run ends first."""
    run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and run.poll() is None:
        names = [p.name for p in _temporaries(output) if f".{run.pid}@" in p.name]
        if all(any(name.endswith(kind) for name in names) for kind in kinds):
            time.sleep(0.3)  # well into the run
            if run.poll() is None:
                return run
        time.sleep(0.01)
    run.kill()
    _, stderr = run.communicate()
    pytest.fail(f"the run ended (or never wrote {kinds}) before it could be signalled: {run.returncode}, {stderr}")


def _expected(checkpoint: Path, lonlat: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return load_location_encoder(checkpoint).double()(torch.as_tensor(np.array(lonlat, dtype=np.float64))).numpy()


def test_sigkilled_vector_and_raster_embeds_leave_nothing_after_the_next_run(tmp_path, checkpoint, live_pid):
    import geopandas as gpd
    import rasterio

    host = socket.gethostname()
    rng = np.random.default_rng(0)
    points = pd.DataFrame({"lon": rng.uniform(-180, 180, 20_000), "lat": rng.uniform(-80, 80, 20_000)})
    points.to_csv(tmp_path / "points.csv", index=False)
    vector, raster = tmp_path / "points.parquet", tmp_path / "grid.tif"
    vector_command = _satclip("embed", tmp_path / "points.csv", "-o", vector, "--model", checkpoint, "-q")
    raster_command = _satclip("embed", "-o", raster, "--model", checkpoint, "-q", *RASTER)
    for command, output, kinds in (
        (vector_command, vector, (".partial.parquet",)),
        (raster_command, raster, (".partial.tif", ".tmp")),
    ):
        run = _start_and_wait_for_temporaries([*command, *SLOW], output, kinds)
        os.kill(run.pid, signal.SIGKILL)
        run.wait()
        assert run.returncode == -signal.SIGKILL and not output.exists()
        left = _temporaries(output)
        assert left and all(f".{run.pid}@{host}." in p.name for p in left)  # the debris SIGKILL leaves
        live = tmp_path / f".{output.name}.{live_pid}@{host}.abcd1234.partial{output.suffix}"
        live.write_bytes(b"another run is writing this")
        again = subprocess.run(command, capture_output=True, text=True, timeout=300)
        assert again.returncode == 0, again.stderr
        assert _temporaries(output) == [live], "the killed run's temporaries are gone, the live writer's kept"
        live.unlink()

    frame = gpd.read_parquet(vector)
    assert len(frame) == len(points)
    rows = [0, 12_345, len(points) - 1]
    np.testing.assert_allclose(
        np.stack(frame["embedding"].to_numpy()[rows]), _expected(checkpoint, points.iloc[rows].to_numpy()), atol=1e-5
    )
    with rasterio.open(raster) as grid:
        assert (grid.width, grid.height, grid.count) == (120, 40, 256)
        pixels = np.stack([grid.read(window=((r, r + 1), (c, c + 1)))[:, 0, 0] for r, c in ((0, 0), (17, 93))])
        centres = np.array([grid.xy(r, c) for r, c in ((0, 0), (17, 93))])
    np.testing.assert_allclose(pixels, _expected(checkpoint, centres), atol=1e-6)


def test_sigterm_cleans_up_like_ctrl_c_and_exits_143(tmp_path, checkpoint):
    raster = tmp_path / "grid.tif"
    raster.write_bytes(b"an earlier output")
    command = _satclip("embed", "-o", raster, "--model", checkpoint, "--overwrite", *RASTER, *SLOW)
    run = _start_and_wait_for_temporaries(command, raster, (".partial.tif", ".tmp"))
    os.kill(run.pid, signal.SIGTERM)
    _, stderr = run.communicate(timeout=60)
    assert run.returncode == 143, stderr
    assert stderr.strip().splitlines()[-1] == "Terminated."
    assert "Traceback" not in stderr
    assert _temporaries(raster) == []
    assert raster.read_bytes() == b"an earlier output"


def test_sigterm_during_training_exits_143_and_leaves_no_loader_workers(dataset_dir, tiny_training, tmp_path):
    """Lightning turns an interrupt into ``sys.exit(1)``; a SIGTERM still ends ``satclip train`` with 143, and
    its DataLoader worker processes end with it."""
    import psutil
    import yaml

    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump({**tiny_training, "batch_size": 4, "max_epochs": 10_000, "num_workers": 2}))
    run_dir = tmp_path / "run"
    command = _satclip("train", "--config", config, "--data", dataset_dir, "--out", run_dir, "--gpus", "0", "-q")
    run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    children: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and run.poll() is None and len(children) < 2:
            children = psutil.Process(run.pid).children(recursive=True)
            time.sleep(0.05)
        assert run.poll() is None and len(children) >= 2, "training ended before its loader workers started"
        time.sleep(0.5)
        os.kill(run.pid, signal.SIGTERM)
        _, stderr = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert run.returncode == 143, stderr
    assert stderr.strip().splitlines()[-1] == "Terminated."
    _, alive = psutil.wait_procs(children, timeout=10)
    assert [p for p in alive if p.status() != psutil.STATUS_ZOMBIE] == []


def test_sigkilled_training_keeps_a_loadable_last_checkpoint_and_resumes(dataset_dir, tiny_training, tmp_path):
    """Checkpoints are written to a temporary file and renamed: a SIGKILL at any moment leaves the previous
    ``last.ckpt`` whole, the loader workers end with the trainer, and ``--resume`` goes on from it."""
    import psutil
    import yaml

    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump({**tiny_training, "batch_size": 4, "max_epochs": 10_000, "num_workers": 2}))
    run_dir = tmp_path / "run"
    last = run_dir / "checkpoints" / "last.ckpt"
    command = _satclip("train", "--config", config, "--data", dataset_dir, "--out", run_dir, "--gpus", "0", "-q")
    run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and run.poll() is None and not last.exists():
            time.sleep(0.05)
        first = last.stat().st_mtime_ns if last.exists() else None
        while time.monotonic() < deadline and run.poll() is None and last.stat().st_mtime_ns == first:
            time.sleep(0.01)  # the second checkpoint is in place: the next save is moments away
        assert run.poll() is None, "training ended before it could be killed"
        children = psutil.Process(run.pid).children(recursive=True)
        time.sleep(0.2)
        run.kill()
        run.wait(timeout=30)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    _, alive = psutil.wait_procs(children, timeout=15)
    assert [p for p in alive if p.status() != psutil.STATUS_ZOMBIE] == []
    epoch = torch.load(last, weights_only=True)["epoch"]  # whole, not truncated

    resumed = subprocess.run(
        _satclip("train", "--config", config, "--data", dataset_dir, "--out", run_dir, "--gpus", "0", "-q",
                 "--resume", "--max-epochs", epoch + 2, "--num-workers", 0),
        capture_output=True, text=True,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert torch.load(last, weights_only=True)["epoch"] == epoch + 1
    assert not [p.name for p in last.parent.iterdir() if p.name.startswith(".")]  # the killed save's temporary is gone


def test_a_sigkilled_probe_leaves_nothing_after_the_next_run(tmp_path):
    out = tmp_path / "probe"
    args = ["probe", "--task", "checkerboard", "--baselines", "coords,sh10", "--n-points", "3000", "--seeds", "3"]
    run = subprocess.Popen(_satclip(*args, "-o", out), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and run.poll() is None and not out.exists():
        time.sleep(0.02)
    time.sleep(1.0)
    assert run.poll() is None, "the probe ended before it could be killed"
    run.kill()
    run.wait()
    again = subprocess.run(_satclip(*args, "-o", out, "-q"), capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert {p.name for p in out.iterdir()} >= {"results.json", "results.csv"}
    assert not [p for p in out.rglob(".*")]
