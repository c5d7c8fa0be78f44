"""The probe-task download registry and cache (satclip_cli.probing.downloads), against a loopback HTTP server."""

from __future__ import annotations

import hashlib
import re
import shutil
import socket
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from satclip_cli.cli.options import flag_name
from satclip_cli.errors import InputError, OfflineError
from satclip_cli.probing import downloads as task_data
from satclip_cli.probing.downloads import REGISTRY, DataFile, DataIntegrityError, cache_root, fetch


class _LoopbackServer:
    """``python -m http.server`` in a thread over ``root``, counting GET requests per path."""

    def __init__(self, root: Path) -> None:
        self.requests: list[str] = []
        server = self

        class Handler(SimpleHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server naming
                server.requests.append(self.path)
                super().do_GET()

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - base signature
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(root)))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> _LoopbackServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


def _publish(root: Path, entry: DataFile, source: Path) -> Path:
    """Put ``source`` where ``entry`` is on the mirror: ``root/<repo>/<commit>/<path>``."""
    assert entry.path is not None
    target = root / entry.repo / entry.commit / entry.path
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[_LoopbackServer]:
    root = tmp_path / "mirror"
    root.mkdir()
    with _LoopbackServer(root) as server:
        server.root = root  # type: ignore[attr-defined]
        yield server


def test_download_once_then_cached(mirror: _LoopbackServer, data_dir: Path, tmp_path: Path) -> None:
    entry = REGISTRY["air_temperature"]["stationDataAll.csv"]
    _publish(mirror.root, entry, data_dir / "air_temperature" / "stationDataAll.csv")  # type: ignore[attr-defined]
    cache = tmp_path / "cache"
    path = fetch("air_temperature", "stationDataAll.csv", base_url=mirror.url, cache_dir=cache)
    assert path == cache / "air_temperature" / "stationDataAll.csv"
    assert _sha256(path) == entry.sha256 and path.stat().st_size == entry.size
    assert len(mirror.requests) == 1
    assert mirror.requests[0] == f"/{entry.repo}/{entry.commit}/{entry.path}"
    # the second call uses the cache (hash checked locally) without touching the network
    assert fetch("air_temperature", "stationDataAll.csv", base_url=mirror.url, cache_dir=cache) == path
    assert len(mirror.requests) == 1


def test_corrupted_cache_is_downloaded_again(mirror: _LoopbackServer, data_dir: Path, tmp_path: Path) -> None:
    entry = REGISTRY["air_temperature"]["stationDataAll.csv"]
    _publish(mirror.root, entry, data_dir / "air_temperature" / "stationDataAll.csv")  # type: ignore[attr-defined]
    cached = tmp_path / "cache" / "air_temperature" / "stationDataAll.csv"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"truncated")
    fetch("air_temperature", "stationDataAll.csv", base_url=mirror.url, cache_dir=tmp_path / "cache")
    assert _sha256(cached) == entry.sha256
    assert len(mirror.requests) == 1


def test_hash_mismatch_is_an_error_and_nothing_is_kept(mirror: _LoopbackServer, data_dir: Path, tmp_path: Path) -> None:
    entry = REGISTRY["air_temperature"]["stationDataAll.csv"]
    served = _publish(mirror.root, entry, data_dir / "air_temperature" / "stationDataAll.csv")  # type: ignore[attr-defined]
    served.write_bytes(served.read_bytes().replace(b"18.025", b"19.025", 1))  # one changed value
    cache = tmp_path / "cache"
    with pytest.raises(DataIntegrityError, match="SHA-256") as info:
        fetch("air_temperature", "stationDataAll.csv", base_url=mirror.url, cache_dir=cache)
    message = str(info.value)
    assert "\n" not in message and mirror.url in message and "pass data_dir DIR" in message
    assert "pass --data-dir DIR" in info.value.message_for(flag_name)  # what `satclip probe` prints
    assert [p for p in cache.rglob("*") if p.is_file()] == []  # neither the file nor a temporary copy


def test_missing_on_server_is_an_offline_error(mirror: _LoopbackServer, tmp_path: Path) -> None:
    with pytest.raises(OfflineError, match="404"):
        fetch("elevation", "etopo60.cdf", base_url=mirror.url, cache_dir=tmp_path / "cache")


def test_unreachable_server_gives_one_line_offline_error(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    with pytest.raises(OfflineError) as info:
        fetch("elevation", "etopo60.cdf", base_url=base, cache_dir=tmp_path / "cache")
    message = str(info.value)
    entry = REGISTRY["elevation"]["etopo60.cdf"]
    assert "\n" not in message
    assert f"{base}/{entry.repo}/{entry.commit}/{entry.path}" in message
    assert "pass data_dir DIR" in message and "DIR/elevation/etopo60.cdf" in message
    assert "pass --data-dir DIR" in info.value.message_for(flag_name)
    assert not (tmp_path / "cache" / "elevation" / "etopo60.cdf").exists()


def test_shapefile_comes_with_its_sidecars(
    mirror: _LoopbackServer, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses

    import geopandas as gpd

    for name in ("biomes.shp", "biomes.shx", "biomes.dbf", "biomes.prj"):
        # the test copies are thinned (tests/data/ecoregions): the registry pins their hashes for this test
        local = data_dir / "ecoregions" / name
        entry = dataclasses.replace(REGISTRY["ecoregions"][name], sha256=_sha256(local), size=local.stat().st_size)
        monkeypatch.setitem(REGISTRY["ecoregions"], name, entry)
        _publish(mirror.root, entry, local)  # type: ignore[attr-defined]
    path = fetch("ecoregions", "biomes.shp", base_url=mirror.url, cache_dir=tmp_path / "cache")
    assert sorted(p.name for p in path.parent.iterdir()) == ["biomes.dbf", "biomes.prj", "biomes.shp", "biomes.shx"]
    frame = gpd.read_file(path, encoding="latin1")
    assert len(frame) == 15 and frame.crs.to_epsg() == 4326


def test_data_dir_is_used_as_is(data_dir: Path, tmp_path: Path) -> None:
    path = fetch("natural_earth", "ne_110m_admin_0_countries.geojson", data_dir)
    assert path == data_dir / "natural_earth" / "ne_110m_admin_0_countries.geojson"
    (tmp_path / "elevation").mkdir()
    with pytest.raises(InputError, match=r"etopo20\.cdf is missing.*one folder per dataset"):
        fetch("elevation", "etopo20.cdf", tmp_path)
    # a shapefile needs its sidecars too
    (tmp_path / "ecoregions").mkdir()
    shutil.copyfile(data_dir / "ecoregions" / "biomes.shp", tmp_path / "ecoregions" / "biomes.shp")
    with pytest.raises(InputError, match=r"biomes\.shx is missing"):
        fetch("ecoregions", "biomes.shp", tmp_path)


def test_files_that_cannot_be_downloaded_say_so(tmp_path: Path) -> None:
    entry = REGISTRY["natural_earth"]["ne_50m_admin_0_countries.geojson"]
    assert not entry.downloadable and entry.url() is None and entry.source_url().endswith(".7z")
    with pytest.raises(InputError, match=r"cannot be downloaded as it is: upstream only inside the 7-Zip archive"):
        fetch("natural_earth", "ne_50m_admin_0_countries.geojson", cache_dir=tmp_path)
    derived = REGISTRY["median_income"]["county_median_income_with_centroids.csv"]
    assert derived.url() is None and derived.source_url() is None and "DERIVED" in derived.note


def test_unknown_names(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="known: air_temperature, california_housing"):
        fetch("worldclim", "bio1.tif", tmp_path)
    with pytest.raises(InputError, match="known in elevation: etopo20.cdf, etopo60.cdf"):
        fetch("elevation", "etopo5.cdf", tmp_path)


def test_cache_root_honours_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(task_data.CACHE_ENV, str(tmp_path))
    assert cache_root() == tmp_path / "data"
    monkeypatch.delenv(task_data.CACHE_ENV)
    assert cache_root().parts[-2:] == ("satclip", "data")


@pytest.mark.shared_data  # every registered file, full size
def test_registry_matches_the_manifest_and_the_shared_copies(shared_data_dir: Path) -> None:
    """Every pinned size and SHA-256 is the one MANIFEST.md gives, and the shared copies have them."""
    manifest = (shared_data_dir / "MANIFEST.md").read_text(encoding="utf-8")
    rows = {
        name: (int(size.replace(",", "")), digest)
        for name, size, digest in re.findall(r"^\| `([^`]+)` \| ([\d,]+) \| `([0-9a-f]{64})` \|$", manifest, re.M)
    }
    checked = 0
    for dataset, files in REGISTRY.items():
        for filename, entry in files.items():
            assert rows[f"{dataset}/{filename}"] == (entry.size, entry.sha256), f"{dataset}/{filename}"
            assert re.fullmatch(r"[0-9a-f]{40}", entry.commit) and entry.repo.count("/") == 1
            local = shared_data_dir / dataset / filename
            assert local.stat().st_size == entry.size and _sha256(local) == entry.sha256, local
            checked += 1
    assert checked == 22
    # the download URLs name the source path the manifest gives
    url = REGISTRY["elevation"]["etopo20.cdf"].url()
    assert url == (
        "https://raw.githubusercontent.com/NOAA-PMEL/FerretDatasets/32a063b95c4d688f373449992e56d46e460ffdd3/data/etopo20.cdf"
    )
