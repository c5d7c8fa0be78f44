"""``satclip embed --scheduler`` on real Dask processes (a ``dask scheduler`` and ``dask worker``s on loopback, and
``local:2``): outputs equal the in-process ones; a worker SIGKILLed or a client killed mid-run changes nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import xarray as xr

from satclip_cli.embedding.config import EmbedConfig
from satclip_cli.embedding.job import EmbeddingModel, run
from satclip_cli.embedding.partitions import finished_parts
from satclip_cli.embedding.resumable import read_run
from satclip_cli.embedding.zarr_writer import DONE_FOLDER
from tests.support.dask_processes import DaskProcesses

BBOX = (-30.0, -20.0, 30.0, 20.0)


@pytest.fixture(scope="module")
def checkpoint(fixtures_dir) -> str:
    return str(fixtures_dir / "satclip_resnet18_l10.ckpt")


@pytest.fixture(scope="module")
def cluster():
    with DaskProcesses(workers=2, lifetime_s=300) as processes:
        yield processes


@pytest.fixture(scope="module")
def points_csv(tmp_path_factory) -> Path:
    rng = np.random.default_rng(3)
    n = 6000
    path = tmp_path_factory.mktemp("points") / "points.csv"
    frame = pd.DataFrame({"id": np.arange(n), "name": [f"p{i}" for i in range(n)]})
    frame["lon"] = rng.uniform(-180, 180, n)
    frame["lat"] = rng.uniform(-85, 85, n)
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def reference(checkpoint, points_csv, tmp_path_factory) -> gpd.GeoDataFrame:
    out = tmp_path_factory.mktemp("ref") / "ref.parquet"
    run(EmbedConfig(model=checkpoint, device="cpu", input=points_csv, output=out), progress=False)
    return gpd.read_parquet(out)


def _embeddings(frame: pd.DataFrame) -> np.ndarray:
    return np.stack(frame["embedding"].to_numpy())


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "satclip_cli", "embed", *args, "--quiet"]


def test_vector_dataset_on_a_real_cluster_equals_in_process(cluster, checkpoint, points_csv, reference, tmp_path):
    import pyarrow.dataset as ds

    out = tmp_path / "emb.parquet"
    config = EmbedConfig(
        model=checkpoint, device="cpu", input=points_csv, output=out, scheduler=cluster.address, partition_rows=1000
    )
    summary = run(config, progress=False)
    assert summary.vector is not None and summary.vector.rows == 6000 and summary.vector.embed_dim == 256
    assert sorted(p.name for p in out.glob("*.parquet")) == [f"part-{i:05d}.parquet" for i in range(6)]
    result = gpd.read_parquet(out)
    assert (result["id"].to_numpy() == reference["id"].to_numpy()).all()
    assert result.crs.to_epsg() == 4326
    np.testing.assert_allclose(_embeddings(result), _embeddings(reference), atol=1e-5, rtol=0)
    assert ds.dataset(out, format="parquet").count_rows() == 6000
    assert read_run(out)["complete"] is True


def test_zarr_on_a_real_cluster_equals_the_cog_and_opens_with_rioxarray(cluster, checkpoint, tmp_path):
    import rioxarray

    cog, store = tmp_path / "grid.tif", tmp_path / "grid.zarr"
    base = {"model": checkpoint, "device": "cpu", "bbox": BBOX, "resolution": 1.0}
    run(EmbedConfig(**base, output=cog), progress=False)
    summary = run(EmbedConfig(**base, output=store, scheduler=cluster.address, zarr_chunk=16), progress=False)
    assert summary.raster is not None and summary.raster.pixels == 60 * 40
    dataset = xr.open_zarr(store, decode_coords="all")
    assert dataset.attrs["satclip_complete"] is True
    embedding = dataset["embedding"]
    assert embedding.dims == ("band", "y", "x") and embedding.shape == (256, 40, 60)
    np.testing.assert_allclose(embedding.x.values[:2], [-29.5, -28.5])
    np.testing.assert_allclose(embedding.y.values[:2], [19.5, 18.5])
    with rasterio.open(cog) as src:
        np.testing.assert_allclose(embedding.values, src.read(), atol=1e-5, rtol=0)
        transform = src.transform
    assert embedding.rio.crs.to_epsg() == 4326 and embedding.rio.transform() == transform
    gdal_view = rioxarray.open_rasterio(f'ZARR:"{store}":/embedding')
    assert gdal_view.rio.crs.to_epsg() == 4326 and gdal_view.shape == (256, 40, 60)


def test_a_worker_killed_mid_run_leaves_the_result_unchanged(cluster, checkpoint, points_csv, reference, tmp_path):
    cluster.workers.append(cluster._spawn("worker-victim", [
        "worker", cluster.address, "--nthreads", "1", "--no-nanny", "--no-dashboard", "--name", "victim",
    ]))  # fmt: skip
    deadline = time.monotonic() + 60
    while cluster.registered_workers() < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    out = tmp_path / "emb.parquet"
    client = subprocess.Popen(
        _cli(str(points_csv), "-o", str(out), "--model", checkpoint, "--device", "cpu", "--scheduler",
             cluster.address, "--partition-rows", "100"),
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while (not out.exists() or len(finished_parts(out)) < 5) and time.monotonic() < deadline:
        time.sleep(0.05)
    cluster.kill_worker(len(cluster.workers) - 1)
    _, stderr = client.communicate(timeout=120)
    assert client.returncode == 0, stderr
    assert finished_parts(out) == set(range(60))
    np.testing.assert_allclose(_embeddings(gpd.read_parquet(out)), _embeddings(reference), atol=1e-5, rtol=0)


def test_a_client_killed_mid_run_then_rerun_resumes(checkpoint, tmp_path):
    store = tmp_path / "world.zarr"
    args = _cli("--bbox", "-180", "-90", "180", "90", "--resolution", "2", "-o", str(store), "--model", checkpoint,
                "--device", "cpu", "--scheduler", "local:2", "--zarr-chunk", "16")  # fmt: skip
    first = subprocess.Popen(args, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and len(list((store / DONE_FOLDER).glob("*"))) < 3:
        time.sleep(0.05)
    os.killpg(first.pid, signal.SIGKILL)  # the client and the local cluster it started
    first.wait(timeout=30)
    done_before = len(list((store / DONE_FOLDER).glob("*")))
    assert 3 <= done_before < 72, "the first run should have been killed part-way"
    assert read_run(store)["complete"] is False
    second = subprocess.run(args, capture_output=True, text=True, timeout=180)
    assert second.returncode == 0, second.stderr
    assert len(list((store / DONE_FOLDER).glob("*"))) == 72  # 12 x 6 chunks of 16 px
    reference = tmp_path / "ref.zarr"
    run(EmbedConfig(model=checkpoint, device="cpu", bbox=(-180, -90, 180, 90), resolution=2.0, output=reference,
                    zarr_chunk=16), progress=False)  # fmt: skip
    np.testing.assert_allclose(
        xr.open_zarr(store)["embedding"].values, xr.open_zarr(reference)["embedding"].values, atol=1e-5, rtol=0
    )
    again = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert again.returncode == 2 and again.stderr.strip().startswith("Error:") and "--overwrite" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1


def test_local_cluster_vector_equals_in_process(checkpoint, points_csv, reference, tmp_path):
    out = tmp_path / "local.parquet"
    config = EmbedConfig(
        model=checkpoint, device="cpu", input=points_csv, output=out, scheduler="local:2", partition_rows=2500
    )
    run(config, progress=False)
    assert finished_parts(out) == {0, 1, 2}
    np.testing.assert_allclose(_embeddings(gpd.read_parquet(out)), _embeddings(reference), atol=1e-5, rtol=0)


def test_model_is_loaded_once_per_worker(cluster, checkpoint):
    from distributed import Client

    from satclip_cli.embedding.cluster import model_info_task

    settings = EmbeddingModel.load(EmbedConfig(model=checkpoint, device="cpu", output=Path("x"))).settings
    with Client(cluster.address, set_as_default=False) as client:
        client.run(_clear_cache)
        futures = client.map(model_info_task, [settings] * 8, pure=False)
        client.gather(futures)
        loaded = client.run(_cache_size)
    assert sum(loaded.values()) == len(loaded) >= 1


def _clear_cache() -> None:
    from satclip_cli.embedding import model

    model._CACHE.clear()


def _cache_size() -> int:
    from satclip_cli.embedding import model

    return len(model._CACHE)


def test_a_model_the_workers_cannot_load_is_one_satclip_error(cluster, points_csv, tmp_path):
    from satclip_cli.errors import SatclipError

    config = EmbedConfig(
        model=str(tmp_path / "missing.ckpt"), device="cpu", input=points_csv, output=tmp_path / "o.parquet",
        scheduler=cluster.address,
    )  # fmt: skip
    with pytest.raises(SatclipError, match="missing.ckpt"):
        run(config, progress=False)


def test_a_folder_of_parts_is_one_input_in_name_order(cluster, checkpoint, points_csv, reference, tmp_path):
    parts = tmp_path / "parts"
    parts.mkdir()
    table = pd.read_csv(points_csv)
    table.iloc[:2500].to_csv(parts / "a.csv", index=False)
    table.iloc[2500:].to_parquet(parts / "b.parquet")
    out = tmp_path / "emb.parquet"
    config = EmbedConfig(
        model=checkpoint, device="cpu", input=parts, output=out, scheduler=cluster.address, partition_rows=2000
    )
    assert run(config, progress=False).vector.rows == 6000
    assert finished_parts(out) == {0, 1, 2, 3}  # a.csv: 2000 + 500 rows, b.parquet: 2000 + 1500
    result = gpd.read_parquet(out)
    assert (result["id"].to_numpy() == np.arange(6000)).all()
    np.testing.assert_allclose(_embeddings(result), _embeddings(reference), atol=1e-5, rtol=0)


def test_every_worker_loads_the_model_at_the_start(cluster, checkpoint, tmp_path):
    """Every worker gets a model-loading task when the run starts, so all load the model in parallel (else one
    loads it for the description while the others sit idle, and each loads it only with its first chunk)."""
    from distributed import Client, get_task_stream

    config = EmbedConfig(
        model=checkpoint, device="cpu", output=tmp_path / "one.zarr", bbox=(0.0, 0.0, 1.0, 1.0), resolution=0.25,
        scheduler=cluster.address,
    )  # fmt: skip
    with Client(cluster.address, set_as_default=False) as client, get_task_stream(client) as stream:
        run(config, progress=False)
        workers = set(client.scheduler_info()["workers"])
    loading = {task["worker"] for task in stream.data if task["key"].startswith("model_info_task")}
    assert loading == workers and len(workers) == 2
