"""Loopback STAC + COG fixtures for the ``satclip sample`` tests (a pytest plugin loaded by tests/conftest.py).

* ``stac_tiles_dir``: ``tests/data/s2_stac_tiles``, the real Sentinel-2 patches the catalogs are cut from.
* ``range_server``: one :class:`RangeHTTPServer` per session over a session temp dir; every catalog lives in its own
  sub-directory of it, so every catalog has its own COG URLs (GDAL caches remote files per URL inside a process, so
  two tests must never serve different content under the same URL).
* ``default_stac_catalog``: :data:`s2_stac_fixture.DEFAULT_SPECS` (5 items, 4 places) built once per session with its
  own ``rustac serve``. Treat it as read-only, and do not count bytes on it (another test may have warmed GDAL's cache).
* ``stac_catalog_factory``: ``factory(specs, name=None) -> LoopbackCatalog`` builds a fresh catalog under new URLs
  and starts a rustac server for it; the servers stop at the end of the test.
* ``small_stac_catalog_factory``: the same, but cut from the 64 px patches of ``tests/data/s2_tiles`` (23 places on six
  continents) as 60 px (600 m) scenes.
* ``gdal_loopback_env``: a ``rasterio.Env`` with :data:`range_http_server.GDAL_LOOPBACK_ENV` for the test's duration.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
import rasterio

from tests.support.range_http_server import GDAL_LOOPBACK_ENV, RangeHTTPServer
from tests.support.rustac_server import RustacServer
from tests.support.s2_stac_fixture import CROP_PX, DEFAULT_SPECS, Catalog, ItemSpec, build_catalog

_catalog_numbers = itertools.count(1)
#: Scene side of ``small_stac_catalog_factory`` in 10 m pixels: the largest multiple of 6 (60 m bands) within 64 px.
SMALL_CROP_PX = 60


@dataclass
class LoopbackCatalog:
    """A built catalog served over loopback HTTP.

    ``stac_url``: rustac API root (``http://127.0.0.1:<port>``; ``pystac_client.Client.open(stac_url)``).
    ``cog_base_url``: URL of the catalog directory on the range server (asset hrefs start with it).
    ``path_prefix``: the same as a URL path (``/<name>``), for ``range_server.fail_next`` / ``requests_for``.
    ``catalog``: files, item dicts and per-item pixel truth (:class:`s2_stac_fixture.Catalog`).
    """

    stac_url: str
    cog_base_url: str
    path_prefix: str
    catalog: Catalog
    rustac: RustacServer
    range_server: RangeHTTPServer


class StacCatalogFactory:
    """Builds catalogs below the range server's root under unique names and serves each with its own rustac."""

    def __init__(
        self, range_server: RangeHTTPServer, tiles_dir: Path, label: str = "catalog", crop_px: int = CROP_PX
    ) -> None:
        self.range_server = range_server
        self.tiles_dir = tiles_dir
        self.label = label
        self.crop_px = crop_px
        """10 m pixels per side of each scene (the top-left window of each patch, see ``build_catalog``)."""
        self._servers: list[RustacServer] = []

    def __call__(self, specs: Sequence[ItemSpec], name: str | None = None) -> LoopbackCatalog:
        """Write COGs + STAC JSON for ``specs`` and start ``rustac serve`` on them."""
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", name or self.label).strip("-")[:60] or "catalog"
        dirname = f"{stem}-{next(_catalog_numbers):03d}"
        base_url = f"{self.range_server.url}/{dirname}"
        catalog = build_catalog(
            list(specs), self.range_server.root / dirname, base_url, tiles_dir=self.tiles_dir, crop_px=self.crop_px
        )
        server = RustacServer(catalog.collection_path, catalog.items_path).start()
        self._servers.append(server)
        return LoopbackCatalog(
            stac_url=server.url,
            cog_base_url=base_url,
            path_prefix=f"/{dirname}",
            catalog=catalog,
            rustac=server,
            range_server=self.range_server,
        )

    def close(self) -> None:
        """Stop every rustac server this factory started (the COG files stay until the session temp dir goes)."""
        while self._servers:
            self._servers.pop().stop()


@pytest.fixture(scope="session")
def stac_tiles_dir(data_dir: Path) -> Path:
    """``tests/data/s2_stac_tiles``: ``index.csv`` and the top-left 252 px of 4 real patches (see its README)."""
    return data_dir / "s2_stac_tiles"


@pytest.fixture(scope="session")
def range_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RangeHTTPServer]:
    """Byte-range HTTP server over a session temp dir (``.url``, ``.root``, counters, ``fail_next``)."""
    server = RangeHTTPServer(tmp_path_factory.mktemp("range-root")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def default_stac_catalog(range_server: RangeHTTPServer, stac_tiles_dir: Path) -> Iterator[LoopbackCatalog]:
    """``DEFAULT_SPECS`` served once per session (read-only; do not measure GDAL bytes on it)."""
    factory = StacCatalogFactory(range_server, stac_tiles_dir, label="default")
    try:
        yield factory(DEFAULT_SPECS)
    finally:
        factory.close()


@pytest.fixture
def stac_catalog_factory(
    range_server: RangeHTTPServer, stac_tiles_dir: Path, request: pytest.FixtureRequest
) -> Iterator[StacCatalogFactory]:
    """``factory(specs, name=None) -> LoopbackCatalog`` with fresh URLs; its rustac servers stop after the test."""
    factory = StacCatalogFactory(range_server, stac_tiles_dir, label=request.node.name)
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture
def small_stac_catalog_factory(
    range_server: RangeHTTPServer, data_dir: Path, request: pytest.FixtureRequest
) -> Iterator[StacCatalogFactory]:
    """Like ``stac_catalog_factory``, cut from ``tests/data/s2_tiles`` (64 px patches) as 60 px (600 m) scenes."""
    factory = StacCatalogFactory(range_server, data_dir / "s2_tiles", label=request.node.name, crop_px=SMALL_CROP_PX)
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture
def gdal_loopback_env() -> Iterator[None]:
    """``rasterio.Env(GDAL_DISABLE_READDIR_ON_OPEN="EMPTY_DIR")`` around the test."""
    with rasterio.Env(**GDAL_LOOPBACK_ENV):
        yield
