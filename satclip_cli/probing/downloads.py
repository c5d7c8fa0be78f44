"""Public source files of the probe tasks: a pinned download registry and a local cache.

:data:`REGISTRY` maps a dataset folder (``air_temperature``, ``natural_earth``, ...) to its files, each
with the public source it comes from (a GitHub repository at a fixed commit), its size and SHA-256.
The folder and file names are those of a ``data_dir`` tree (one folder per dataset holding the
source's original file names), so a downloaded cache and a local copy look the same.

:func:`fetch` returns a local path for ``(dataset, filename)``:

* with ``data_dir``: ``data_dir/<dataset>/<filename>`` as it is (local copies are trusted and not
  hashed, so newer or patched copies can be used on purpose);
* otherwise the file is downloaded once (with :mod:`pooch`) into ``<cache>/data/<dataset>/<filename>``
  and its SHA-256 checked on every use. ``<cache>`` is ``$SATCLIP_CACHE`` or the user cache folder
  (``pooch.os_cache("satclip")``, e.g. ``~/.cache/satclip``), so ``<cache>/data`` is itself a valid
  ``data_dir``.

Two Natural Earth files are stored upstream only inside 7-Zip archives whose hashes are not pinned
here (:attr:`DataFile.url` is None): they are never downloaded, only read from ``data_dir``. No
built-in task needs them. ``county_median_income_with_centroids.csv`` is a derived file (a join
of two downloadable ones, which the ``median-income`` task performs itself); it too is local-only.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from satclip_cli.errors import InputError, OfflineError, SatclipError, setting

GITHUB_RAW = "https://raw.githubusercontent.com"
"""Default base URL: files are at ``<base>/<owner>/<repo>/<commit>/<path>``."""

CACHE_ENV = "SATCLIP_CACHE"
"""Environment variable naming the cache root (downloads go to ``$SATCLIP_CACHE/data``)."""

DOWNLOAD_TIMEOUT_S = 60.0
"""Seconds without data before a download is abandoned."""

_SHAPEFILE_SIDECARS = (".shx", ".dbf", ".prj", ".cpg")


class DataIntegrityError(SatclipError):
    """A downloaded (or cached) file does not have its pinned SHA-256."""


@dataclass(frozen=True)
class DataFile:
    """One file of a dataset folder and where it comes from.

    Attributes:
        repo: ``owner/name`` of the public GitHub repository.
        commit: the 40-hex commit the file is pinned to.
        path: its path in that repository (``None`` for a derived file).
        sha256: hex SHA-256 of the file as used (the download, or the extracted/derived file).
        size: its size in bytes.
        downloadable: whether ``<base>/<repo>/<commit>/<path>`` gives exactly these bytes.
        note: what differs from the upstream file, when anything does.
    """

    repo: str
    commit: str
    path: str | None
    sha256: str
    size: int
    downloadable: bool = True
    note: str = ""

    def source_url(self, base_url: str = GITHUB_RAW) -> str | None:
        """``<base>/<repo>/<commit>/<path>``: the download URL, or the archive's URL; None for a derived file."""
        if self.path is None:
            return None
        return f"{base_url.rstrip('/')}/{self.repo}/{self.commit}/{self.path}"

    def url(self, base_url: str = GITHUB_RAW) -> str | None:
        """The URL giving exactly this file's bytes, or None when it cannot be downloaded as it is."""
        return self.source_url(base_url) if self.downloadable else None


_SATCLIP = ("microsoft/satclip", "1ead1067e9a00d44b132403b6bb2ce061e48d48e")
_NE = ("martynafford/natural-earth-geojson", "0b9a6ceb0a7032713abd9460ac1e995a9c60cd1e")
_RESOLVE = ("marquetlab/GCM_compareR", "4ff6878c3065a7c3ddfeda9135e093cdd40700a5")
_HOUSING = ("ageron/data", "2ea73147454d2ff8c8a933913be4606f05b352ca")
_INCOME = ("000Justin000/gnn-residual-correlation", "03608b39b0da2c64293ba685213585de4ff8291f")
_GAZETTEER = ("FatemehAsgarinejad/Maps", "c0ef93ea9dae3bc55d64e88aa317946105f9942c")
_FERRET = ("NOAA-PMEL/FerretDatasets", "32a063b95c4d688f373449992e56d46e460ffdd3")

_SEVEN_ZIP_NOTE = (
    "upstream only inside the 7-Zip archive {archive}, whose hash is not pinned here; extract it with a 7-Zip tool "
    "(the content is unchanged and has this SHA-256)"
)

REGISTRY: dict[str, dict[str, DataFile]] = {
    "air_temperature": {
        "stationDataAll.csv": DataFile(
            *_SATCLIP,
            "figures/ssl4eo/stationDataAll.csv",
            "92d8456d82aafd3929ccba589e0ffe4ca15eeb321c07c430855d6756aaf07d33",
            383_938,
            note="the SatCLIP repository's copy of the Hooker et al. (2018) table (figshare file 12609182)",
        ),
    },
    "california_housing": {
        "housing.csv": DataFile(
            *_HOUSING,
            "housing/housing.csv",
            "2364609dc48bec7df3ba9dbb7041478e704ecddcee70ef1827ec3fc49d22c0cc",
            1_423_529,
        ),
        "README_source_ageron_data.md": DataFile(
            *_HOUSING,
            "housing/README.md",
            "6bbd4ce0fad7eada99621e0c1e24d6df9ada498a1bb5d3750c1075c894593875",
            3_680,
            note="renamed from housing/README.md",
        ),
    },
    "median_income": {
        "income.csv": DataFile(
            *_INCOME,
            "datasets/election/income.csv",
            "99d4c883e58b21a0cfcb03832796be6755962faab9b901b487e02df31a0f0e89",
            248_979,
        ),
        "2019_Gaz_counties_national.txt": DataFile(
            *_GAZETTEER,
            "2019_Gaz_counties_national.txt",
            "165c3a060124560b7e528e10b8d7f5c88b5afafb45a54a4e92d86bc32ab5929b",
            284_065,
        ),
        "county_median_income_with_centroids.csv": DataFile(
            *_INCOME,
            None,
            "747e0dbca82f87af0b668bb9c4bada73d45a8114c461bb4b91845fc2dbbaa43a",
            295_413,
            downloadable=False,
            note="DERIVED: income.csv joined with the 2019 Gazetteer on FIPS (the median-income task does this "
            "join itself); local copies only",
        ),
    },
    "natural_earth": {
        "ne_110m_admin_0_countries.geojson": DataFile(
            *_NE,
            "110m/cultural/ne_110m_admin_0_countries.json",
            "a2faba6d84aeb04246240ee301c5e94a1a32b0e294a2c97094262fd0a6ae3c16",
            725_717,
            note="renamed .json -> .geojson",
        ),
        "ne_110m_land.geojson": DataFile(
            *_NE,
            "110m/physical/ne_110m_land.json",
            "6c8b289fed7495ab9c9fdcf99baa24f58001807d0ad30d7726f76d6506f8204d",
            237_355,
            note="renamed .json -> .geojson",
        ),
        "ne_50m_land.geojson": DataFile(
            *_NE,
            "50m/physical/ne_50m_land.json",
            "943ca08a7f08a61fb6b583ae5ed44ae3072d9a3e242ed7fcc4b3b89bbdee2955",
            2_764_441,
            note="renamed .json -> .geojson",
        ),
        "ne_50m_populated_places_simple.geojson": DataFile(
            *_NE,
            "50m/cultural/ne_50m_populated_places_simple.json",
            "fdcae83611519d6b8137f8769a399d9ea97a9ce817642ae2689626ef7cc961ff",
            1_069_421,
            note="renamed .json -> .geojson",
        ),
        "ne_50m_admin_0_countries.geojson": DataFile(
            *_NE,
            "50m/cultural/ne_50m_admin_0_countries.7z",
            "27cd8c4db795ace2bac42ec606376f13c9b08e38aff1b8e7af3582ea98d23aa8",
            4_680_858,
            downloadable=False,
            note=_SEVEN_ZIP_NOTE.format(archive="ne_50m_admin_0_countries.7z (762,509 bytes)"),
        ),
        "ne_10m_populated_places_simple.geojson": DataFile(
            *_NE,
            "10m/cultural/ne_10m_populated_places_simple.7z",
            "7aa9f790f790c68cfaf2db25ffe1b0c51be484a5ce225453e7d777e0ff06e7cf",
            6_237_261,
            downloadable=False,
            note=_SEVEN_ZIP_NOTE.format(archive="ne_10m_populated_places_simple.7z"),
        ),
    },
    "ecoregions": {
        "Ecoregions2017.shp": DataFile(
            *_RESOLVE,
            "data/Ecoregions2017.shp",
            "151a832c404bc7368ddba4b285cfa7b4107af7ab3ea1fdd3bf349bcb60248cc6",
            2_891_568,
        ),
        "Ecoregions2017.shx": DataFile(
            *_RESOLVE,
            "data/Ecoregions2017.shx",
            "5ea82958f8a2ff47633c2106a569ac205b9644538ff79eff4dc8b76f0a01d444",
            6_876,
        ),
        "Ecoregions2017.dbf": DataFile(
            *_RESOLVE,
            "data/Ecoregions2017.dbf",
            "9b56bb920e08a106a34f6871accb84620468aaa017ff7f63e7ecee322639cf49",
            556_865,
        ),
        "Ecoregions2017.prj": DataFile(
            *_RESOLVE,
            "data/Ecoregions2017.prj",
            "98aaf3d1c0ecadf1a424a4536de261c3daf4e373697cb86c40c43b989daf52eb",
            143,
        ),
        "biomes.shp": DataFile(
            *_RESOLVE, "data/biomes.shp", "c826d44ad70e984a9e4099b26d8b8bf76008b268e6e12be88fe2c28fcb6bca38", 2_025_364
        ),
        "biomes.shx": DataFile(
            *_RESOLVE, "data/biomes.shx", "325344ebf7b93f94554cb5c8164b38ddda627a4609f4b984fb4c5af457ef4b1f", 220
        ),
        "biomes.dbf": DataFile(
            *_RESOLVE, "data/biomes.dbf", "14672bd4d8f220da5c7c181b9be52f7b92f7a5fa431f69063495299110428356", 1_281
        ),
        "biomes.prj": DataFile(
            *_RESOLVE, "data/biomes.prj", "98aaf3d1c0ecadf1a424a4536de261c3daf4e373697cb86c40c43b989daf52eb", 143
        ),
    },
    "elevation": {
        "etopo20.cdf": DataFile(
            *_FERRET, "data/etopo20.cdf", "ba27cb2fa5f2f2b2c76e5a576f0a291fd11ebb3da99ed9b466150c0a064a1db4", 2_348_512
        ),
        "etopo60.cdf": DataFile(
            *_FERRET, "data/etopo60.cdf", "36b4cb72a01cf4c6dc155e52dca6c4ff148aea5958d056d3136fe2789646c4ad", 264_088
        ),
    },
}
"""dataset folder -> file name -> :class:`DataFile` (the layout of a ``data_dir``)."""


def data_file(dataset: str, filename: str) -> DataFile:
    """The registry entry of ``dataset/filename``.

    Raises:
        InputError: if the dataset or file is not in :data:`REGISTRY` (the message lists the known ones).
    """
    files = REGISTRY.get(dataset)
    if files is None:
        raise InputError(f"unknown dataset folder {dataset!r}; known: {', '.join(sorted(REGISTRY))}")
    entry = files.get(filename)
    if entry is None:
        raise InputError(f"unknown file {dataset}/{filename}; known in {dataset}: {', '.join(sorted(files))}")
    return entry


def cache_root() -> Path:
    """Where downloads go: ``$SATCLIP_CACHE/data``, else ``<user cache>/satclip/data``."""
    root = os.environ.get(CACHE_ENV, "").strip()
    if root:
        return Path(root).expanduser() / "data"
    import pooch

    return Path(pooch.os_cache("satclip")) / "data"


def fetch(
    dataset: str,
    filename: str,
    data_dir: str | os.PathLike[str] | None = None,
    *,
    base_url: str = GITHUB_RAW,
    cache_dir: str | os.PathLike[str] | None = None,
) -> Path:
    """A local copy of ``dataset/filename``: from ``data_dir``, the cache, or downloaded once.

    A shapefile (``.shp``) comes with its registered sidecars (``.shx``, ``.dbf``, ``.prj``) in the same
    folder, so it can be opened directly.

    Args:
        dataset: dataset folder, a key of :data:`REGISTRY` (e.g. ``"natural_earth"``).
        filename: file name inside it (e.g. ``"ne_110m_admin_0_countries.geojson"``).
        data_dir: a folder laid out like the shared data (``data_dir/<dataset>/<filename>``); when given,
            nothing is downloaded and the file is used as it is.
        base_url: replaces ``https://raw.githubusercontent.com`` (a mirror with the same layout, or tests).
        cache_dir: download folder instead of :func:`cache_root` (files go to ``cache_dir/<dataset>/``).

    Returns:
        The path of the file.

    Raises:
        InputError: unknown dataset/file, a file missing from ``data_dir``, or a file that cannot be
            downloaded as it is (see :attr:`DataFile.note`) and is not cached.
        OfflineError: the download failed (network down, URL unreachable, HTTP error); one line naming
            the URL and suggesting the ``data_dir`` setting.
        DataIntegrityError: the downloaded file does not have its pinned SHA-256 (it is not kept).
    """
    data_file(dataset, filename)  # validates the names
    names = [filename] + _sidecars(dataset, filename)
    if data_dir is not None:
        folder = Path(data_dir).expanduser() / dataset
        for name in names:
            if not (folder / name).is_file():
                raise InputError(
                    f"{folder / name} is missing: {setting('data_dir')} must hold one folder per dataset with the "
                    f"source's file names ({dataset}/{name})"
                )
        return folder / filename
    folder = (Path(cache_dir).expanduser() if cache_dir is not None else cache_root()) / dataset
    for name in names:
        _download(dataset, name, folder, base_url)
    return folder / filename


def _sidecars(dataset: str, filename: str) -> list[str]:
    """The registered companion files a shapefile needs (same stem, another extension)."""
    stem, suffix = os.path.splitext(filename)
    if suffix.lower() != ".shp":
        return []
    return [f"{stem}{ext}" for ext in _SHAPEFILE_SIDECARS if f"{stem}{ext}" in REGISTRY[dataset]]


def _download(dataset: str, filename: str, folder: Path, base_url: str) -> Path:
    """Download ``dataset/filename`` into ``folder`` unless a copy with the right hash is there."""
    import pooch
    import requests

    entry = REGISTRY[dataset][filename]
    target = folder / filename
    url = entry.url(base_url)
    if url is None:
        if target.is_file():
            return target  # placed there by hand; local copies are trusted, as with data_dir
        raise InputError(
            f"{dataset}/{filename} cannot be downloaded as it is: {entry.note}; put a copy in DIR/{dataset}/ and "
            f"pass {setting('data_dir')} DIR"
        )
    downloader = pooch.HTTPDownloader(progressbar=False, timeout=DOWNLOAD_TIMEOUT_S)
    try:
        path = pooch.retrieve(
            url, known_hash=f"sha256:{entry.sha256}", fname=filename, path=folder, downloader=downloader
        )
    except requests.exceptions.RequestException as error:
        raise OfflineError(
            f"cannot download {url} ({_reason(error)}); pass {setting('data_dir')} DIR with local copies laid out as "
            f"DIR/{dataset}/{filename}"
        ) from None
    except ValueError as error:
        if "hash" not in str(error).lower():
            raise
        raise DataIntegrityError(
            f"{url} does not have the pinned SHA-256 {entry.sha256[:12]}... (the download was discarded); the source "
            f"may have changed: pass {setting('data_dir')} DIR with a copy laid out as DIR/{dataset}/{filename}"
        ) from None
    return Path(path)


def _reason(error: BaseException) -> str:
    """A short reason for a failed request: ``HTTP 404``, ``timed out``, ``[Errno 111] Connection refused``."""
    import requests

    response = getattr(error, "response", None)
    if response is not None:
        return f"HTTP {response.status_code}"
    if isinstance(error, requests.exceptions.Timeout):
        return f"timed out after {DOWNLOAD_TIMEOUT_S:g} s"
    text = " ".join(str(error).split())
    found = re.search(r"\[Errno -?\d+\] [^'\")(]+", text)
    if found:
        return found.group(0).strip()
    return f"{type(error).__name__}: {text[:120]}" if text else type(error).__name__
