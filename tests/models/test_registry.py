"""Model names -> local files, against a loopback stand-in for the Hugging Face Hub.

The fake Hub answers like huggingface.co does for LFS files: ``HEAD/GET
/{repo}/resolve/{revision}/{file}`` gives a 302 to a "CDN" (a second server, so another origin)
with ``X-Repo-Commit``, ``X-Linked-Etag`` (the SHA-256) and ``X-Linked-Size``; the CDN serves the
bytes. Both listen on 127.0.0.1 only. ``huggingface_hub``'s import-time constants are pointed at
a closed loopback port and a temporary cache, so nothing can reach the internet by accident.
"""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import socket
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from huggingface_hub import constants

from satclip_cli.cli.options import flag_name
from satclip_cli.errors import CheckpointError, OfflineError
from satclip_cli.models import registry as model_registry
from satclip_cli.models.registry import (
    REGISTRY,
    ModelSpec,
    check_model_file,
    find_model,
    list_models,
    model_names,
    resolve_model,
)

FIXTURE_CKPT = Path(__file__).resolve().parents[1] / "data" / "fixtures" / "satclip_resnet18_l10.ckpt"
"""An official-layout checkpoint (location tower; see tests/data/fixtures/README.md)."""
COMMIT = "0123456789abcdef0123456789abcdef01234567"
RESOLVE_RE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<revision>[^/]+)/(?P<file>[^?]+)$")
BLOB_RE = re.compile(r"^/blobs/(?P<sha>[0-9a-f]{64})$")


@dataclass
class HostedFile:
    """A file the fake Hub serves: its content and the SHA-256 it announces (normally the true one)."""

    source: Path | bytes
    announced_sha256: str | None = None

    def __post_init__(self) -> None:
        """Compute size and digest once."""
        if isinstance(self.source, Path):
            with self.source.open("rb") as handle:
                self.sha256 = hashlib.file_digest(handle, "sha256").hexdigest()
            self.size = self.source.stat().st_size
        else:
            self.sha256 = hashlib.sha256(self.source).hexdigest()
            self.size = len(self.source)
        if self.announced_sha256 is None:
            self.announced_sha256 = self.sha256

    def open(self) -> io.BufferedIOBase:
        """The content as a binary stream."""
        return self.source.open("rb") if isinstance(self.source, Path) else io.BytesIO(self.source)


@dataclass
class FakeHub:
    """A Hub server and a CDN server on 127.0.0.1 serving :attr:`files` (``(repo_id, filename) -> HostedFile``)."""

    files: dict[tuple[str, str], HostedFile] = field(default_factory=dict)
    requests: list[tuple[str, str, str]] = field(default_factory=list)

    def start(self) -> None:
        """Start both servers on free loopback ports."""
        self.hub = ThreadingHTTPServer(("127.0.0.1", 0), self._handler("hub"))
        self.cdn = ThreadingHTTPServer(("127.0.0.1", 0), self._handler("cdn"))
        self.threads = [
            threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
            for s in (self.hub, self.cdn)
        ]
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        """Stop both servers and close their sockets (later connections are refused); idempotent."""
        for server in (self.hub, self.cdn):
            server.shutdown()
            server.server_close()
        for thread in self.threads:
            thread.join(timeout=5)

    @property
    def endpoint(self) -> str:
        """The Hub address to pass as ``endpoint=``."""
        return f"http://127.0.0.1:{self.hub.server_address[1]}"

    @property
    def cdn_url(self) -> str:
        """The CDN origin, named ``localhost``: a host other than the Hub's, as the real CDN is (huggingface-hub
        follows a redirect to the same host name, and would then miss the Hub's headers on the CDN's answer)."""
        return f"http://localhost:{self.cdn.server_address[1]}"

    def count(self, role: str, method: str) -> int:
        """How many requests of ``method`` the ``role`` server ("hub" / "cdn") received."""
        return sum(1 for r, m, _ in self.requests if (r, m) == (role, method))

    def _handler(self, role: str) -> type[BaseHTTPRequestHandler]:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - silence the access log
                pass

            def do_HEAD(self) -> None:  # noqa: N802 - http.server naming
                self._serve(body=False)

            def do_GET(self) -> None:  # noqa: N802 - http.server naming
                self._serve(body=True)

            def _serve(self, body: bool) -> None:
                hub.requests.append((role, self.command, self.path))
                if role == "hub":
                    self._resolve()
                else:
                    self._blob(body)

            def _resolve(self) -> None:
                match = RESOLVE_RE.match(self.path)
                if match is None or match["repo"] not in {repo for repo, _ in hub.files}:
                    self._error(404, "RepoNotFound", commit=False)
                    return
                hosted = hub.files.get((match["repo"], match["file"]))
                if hosted is None:
                    self._error(404, "EntryNotFound", commit=True)
                    return
                self.send_response(302)
                self.send_header("Location", f"{hub.cdn_url}/blobs/{hosted.announced_sha256}")
                self.send_header("X-Repo-Commit", COMMIT)
                self.send_header("ETag", '"4b825dc642cb6eb9a060e54bf8d69288fbee4904"')  # git oid of the LFS pointer
                self.send_header("X-Linked-Etag", f'"{hosted.announced_sha256}"')
                self.send_header("X-Linked-Size", str(hosted.size))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _blob(self, body: bool) -> None:
                match = BLOB_RE.match(self.path)
                hosted = next(
                    (f for f in hub.files.values() if match and f.announced_sha256 == match["sha"]),
                    None,
                )
                if hosted is None:
                    self._error(404, None, commit=False)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(hosted.size))
                self.send_header("ETag", f'"{hosted.sha256}"')
                self.end_headers()
                if body:
                    with hosted.open() as stream:
                        shutil.copyfileobj(stream, self.wfile, 1 << 20)

            def _error(self, status: int, code: str | None, commit: bool) -> None:
                self.send_response(status)
                if code is not None:
                    self.send_header("X-Error-Code", code)
                if commit:
                    self.send_header("X-Repo-Commit", COMMIT)
                self.send_header("Content-Length", "0")
                self.end_headers()

        return Handler


def small_checkpoint() -> bytes:
    """A tiny zip archive: passes the format check like a ``torch.save`` file does."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
        archive.writestr("archive/version", b"3\n")
    return buffer.getvalue()


def closed_port() -> int:
    """A loopback port nothing listens on (connections are refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(autouse=True)
def no_real_hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Point every huggingface_hub default at loopback / tmp so a forgotten argument cannot go online."""
    dead = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.setenv("HF_ENDPOINT", dead)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "default-cache"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_OIDC_RESOURCE"):
        monkeypatch.delenv(name, raising=False)
    # huggingface_hub reads these at import time: reset the cached values. hf_hub_url() builds
    # URLs from the template and swaps in ``endpoint=`` only if they start with ENDPOINT, so
    # both must change together.
    monkeypatch.setattr(constants, "ENDPOINT", dead)
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", dead + "/{repo_id}/resolve/{revision}/{filename}")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "default-cache"))
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "hf-home" / "token"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    """A running fake Hub hosting a small checkpoint as ``satclip-resnet18-l40``."""
    fake = FakeHub()
    fake.files[("microsoft/SatCLIP-ResNet18-L40", "satclip-resnet18-l40.ckpt")] = HostedFile(small_checkpoint())
    fake.start()
    yield fake
    fake.stop()


# --- the registry table -----------------------------------------------------------------------


def test_registry_lists_the_six_released_models() -> None:
    expected = {
        "satclip-resnet18-l10": ("microsoft/SatCLIP-ResNet18-L10", "moco_resnet18", 10),
        "satclip-resnet18-l40": ("microsoft/SatCLIP-ResNet18-L40", "moco_resnet18", 40),
        "satclip-resnet50-l10": ("microsoft/SatCLIP-ResNet50-L10", "moco_resnet50", 10),
        "satclip-resnet50-l40": ("microsoft/SatCLIP-ResNet50-L40", "moco_resnet50", 40),
        "satclip-vit16-l10": ("microsoft/SatCLIP-ViT16-L10", "moco_vit16", 10),
        "satclip-vit16-l40": ("microsoft/SatCLIP-ViT16-L40", "moco_vit16", 40),
    }
    assert model_names() == [*expected, "bluemarble-l10"]  # released models, then the bundled one
    bundled = find_model("bluemarble-l10")
    assert bundled.kind == "bundled" and bundled.repo_id is None and resolve_model("bluemarble-l10").is_file()
    for name, (repo, layers, L) in expected.items():
        spec = REGISTRY[name]
        assert (spec.kind, spec.repo_id, spec.filename) == ("huggingface", repo, f"{name}.ckpt")
        assert (spec.vision_layers, spec.legendre_polys) == (layers, L)
        assert spec.url == f"https://huggingface.co/{repo}/resolve/main/{name}.ckpt"
        assert "\n" not in spec.description and f"L={L}" in spec.description


def test_find_model_accepts_names_and_repo_ids_in_any_case() -> None:
    spec = REGISTRY["satclip-vit16-l40"]
    assert find_model("satclip-vit16-l40") is spec
    assert find_model("SatCLIP-ViT16-L40") is spec
    assert find_model("microsoft/SatCLIP-ViT16-L40") is spec
    assert find_model("satclip-vit16-l20") is None


def test_registry_entries_are_checked() -> None:
    with pytest.raises(ValueError, match="needs a repo_id"):
        ModelSpec("x", "huggingface", "ViT16", "moco_vit16", 10, "d", "x.ckpt")
    with pytest.raises(ValueError, match="has no repo_id"):
        ModelSpec("x", "bundled", "ViT16", "moco_vit16", 10, "d", "x.ckpt", repo_id="a/b")


def test_bundled_model_resolves_to_package_data(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    spec = ModelSpec("tiny-l10", "bundled", "none", "none", 10, "A tiny bundled encoder", "tiny-l10.safetensors")
    monkeypatch.setitem(REGISTRY, spec.name, spec)
    monkeypatch.setattr(model_registry, "BUNDLED_DATA_DIR", tmp_path)
    with pytest.raises(CheckpointError, match="bundled model tiny-l10 is missing"):
        resolve_model("tiny-l10", offline=True)
    assert not next(i for i in list_models() if i.name == "tiny-l10").cached

    (tmp_path / "tiny-l10.safetensors").write_bytes((2).to_bytes(8, "little") + b"{}")
    assert resolve_model("TINY-L10", offline=True) == tmp_path / "tiny-l10.safetensors"
    info = next(i for i in list_models() if i.name == "tiny-l10")
    assert (info.kind, info.repo, info.cached, info.size) == ("bundled", None, True, 10)


# --- local paths and bad names --------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".ckpt", ".safetensors", ".json"])
def test_existing_local_file_is_returned_as_is(tmp_path: Path, suffix: str) -> None:
    local = tmp_path / f"my model{suffix}"
    local.write_bytes(b"anything")  # not validated: the loader reports layout problems
    assert resolve_model(str(local), endpoint="http://127.0.0.1:1") == local
    assert resolve_model(local) == local


def test_local_file_named_like_a_model_wins_over_the_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("satclip-vit16-l40").write_bytes(small_checkpoint())
    assert resolve_model("satclip-vit16-l40", offline=True) == Path("satclip-vit16-l40")


@pytest.mark.parametrize("argument", ["missing/model.ckpt", "missing.ckpt", "./nothing", "~/no/such/file.safetensors"])
def test_missing_path_is_not_found(argument: str) -> None:
    with pytest.raises(CheckpointError, match="not found") as caught:
        resolve_model(argument, offline=True)
    assert "known models" not in str(caught.value)


def test_missing_file_named_after_a_model_hints_at_the_name() -> None:
    with pytest.raises(CheckpointError, match=r"not found.*pass its name: satclip-resnet50-l10"):
        resolve_model("satclip-resnet50-l10.ckpt", offline=True)


def test_directory_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="is a directory"):
        resolve_model(str(tmp_path))


def test_empty_argument_is_rejected() -> None:
    with pytest.raises(CheckpointError, match="no model given"):
        resolve_model(" ")


def test_unknown_name_lists_the_known_names() -> None:
    with pytest.raises(CheckpointError) as caught:
        resolve_model("satclip-vit16-l41", offline=True)
    message = str(caught.value)
    assert "unknown model 'satclip-vit16-l41'" in message
    assert "did you mean satclip-vit16-l40?" in message
    for name in model_names():
        assert name in message
    assert "\n" not in message


# --- download, cache, offline ---------------------------------------------------------------


def test_real_checkpoint_is_downloaded_once_then_served_from_cache(tmp_path: Path) -> None:
    fake = FakeHub()
    fake.files[("microsoft/SatCLIP-ResNet18-L10", "satclip-resnet18-l10.ckpt")] = HostedFile(FIXTURE_CKPT)
    fake.start()
    cache = tmp_path / "cache"
    try:
        path = resolve_model("satclip-resnet18-l10", cache_dir=cache, endpoint=fake.endpoint)
        assert path.is_relative_to(cache)
        assert path.name == "satclip-resnet18-l10.ckpt"
        assert path.parent.name == COMMIT  # huggingface_hub's snapshots/<commit>/<file> layout
        with path.open("rb") as handle:
            assert hashlib.file_digest(handle, "sha256").hexdigest() == fake.files[next(iter(fake.files))].sha256
        assert fake.count("cdn", "GET") == 1
        assert check_model_file(path) == "zip"

        # Second call: straight from the cache, no request at all.
        before = len(fake.requests)
        assert resolve_model("satclip-resnet18-l10", cache_dir=cache, endpoint=fake.endpoint) == path
        assert len(fake.requests) == before
    finally:
        fake.stop()

    # Server gone: the cache still answers, online or offline.
    assert resolve_model("satclip-resnet18-l10", cache_dir=cache, endpoint=fake.endpoint) == path
    assert resolve_model("satclip-resnet18-l10", cache_dir=cache, endpoint=fake.endpoint, offline=True) == path
    info = next(i for i in list_models(cache_dir=cache) if i.name == "satclip-resnet18-l10")
    assert (info.cached, info.path, info.size) == (True, path, FIXTURE_CKPT.stat().st_size)


def test_download_into_cache_and_offline_reuse(hub: FakeHub, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    path = resolve_model("satclip-resnet18-l40", cache_dir=cache, endpoint=hub.endpoint)
    assert path.read_bytes() == small_checkpoint()
    assert [m for r, m, _ in hub.requests if r == "cdn"] == ["GET"]
    hub.stop()
    assert resolve_model("satclip-resnet18-l40", cache_dir=cache, offline=True) == path
    # The repo id and another spelling find the same cached file.
    assert resolve_model("microsoft/SatCLIP-ResNet18-L40", cache_dir=cache, offline=True) == path
    assert resolve_model("SatCLIP-ResNet18-L40", cache_dir=cache, offline=True) == path


def test_list_models_marks_only_the_cached_model(hub: FakeHub, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    assert not any(info.cached for info in list_models(cache_dir=cache) if info.repo is not None)
    path = resolve_model("satclip-resnet18-l40", cache_dir=cache, endpoint=hub.endpoint)
    infos = {info.name: info for info in list_models(cache_dir=cache)}
    assert list(infos) == model_names()
    assert [name for name, info in infos.items() if info.cached] == ["satclip-resnet18-l40", "bluemarble-l10"]
    cached = infos["satclip-resnet18-l40"]
    assert (cached.path, cached.size, cached.repo, cached.file) == (
        path,
        len(small_checkpoint()),
        "microsoft/SatCLIP-ResNet18-L40",
        "satclip-resnet18-l40.ckpt",
    )
    assert infos["satclip-vit16-l10"].path is None and infos["satclip-vit16-l10"].size is None


def test_list_models_uses_huggingface_default_cache(hub: FakeHub, tmp_path: Path) -> None:
    path = resolve_model("satclip-resnet18-l40", endpoint=hub.endpoint)  # default cache = constants.HF_HUB_CACHE
    assert path.is_relative_to(tmp_path / "default-cache")
    assert [info.name for info in list_models() if info.cached and info.repo] == ["satclip-resnet18-l40"]


def test_offline_with_empty_cache_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(OfflineError) as caught:
        resolve_model("satclip-vit16-l40", cache_dir=tmp_path / "empty", offline=True)
    message = str(caught.value)
    assert "\n" not in message
    assert "satclip-vit16-l40 is not in the Hugging Face cache" in message
    assert "offline" in message
    assert "microsoft/SatCLIP-ViT16-L40/resolve/main/satclip-vit16-l40.ckpt" in message
    assert "model /path/to/satclip-vit16-l40.ckpt" in message
    assert "--model /path/to/satclip-vit16-l40.ckpt" in caught.value.message_for(flag_name)


def test_hf_hub_offline_environment_variable_is_honoured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(OfflineError, match="offline mode is on"):
        resolve_model("satclip-resnet50-l10", cache_dir=tmp_path, endpoint="http://127.0.0.1:1")


def test_unreachable_hub_fails_fast_with_one_line(tmp_path: Path) -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}"
    start = time.monotonic()
    with pytest.raises(OfflineError) as caught:
        resolve_model("satclip-resnet50-l40", cache_dir=tmp_path / "cache", endpoint=endpoint)
    assert time.monotonic() - start < 5  # no back-off retries before telling the user
    message = str(caught.value)
    assert "\n" not in message
    assert "is not in the Hugging Face cache" in message
    assert f"{endpoint} cannot be reached" in message
    assert "model /path/to/satclip-resnet50-l40.ckpt" in message
    assert "--model /path/to/satclip-resnet50-l40.ckpt" in caught.value.message_for(flag_name)
    assert not (tmp_path / "cache").exists() or not any(i.cached for i in list_models(cache_dir=tmp_path / "cache"))


def test_model_missing_on_the_hub_is_a_checkpoint_error(hub: FakeHub, tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match=r"has no microsoft/SatCLIP-ViT16-L10/satclip-vit16-l10\.ckpt"):
        resolve_model("satclip-vit16-l10", cache_dir=tmp_path, endpoint=hub.endpoint)


# --- integrity ------------------------------------------------------------------------------


def _truncated_zip() -> bytes:
    data = small_checkpoint()
    return data[: len(data) // 2]


@pytest.mark.parametrize(
    ("content", "announced", "reason"),
    [
        (small_checkpoint(), "f" * 64, "corrupt: SHA-256"),
        (b"", None, "is empty"),
        (b"<html>Access denied</html>", None, "not a torch checkpoint"),
        (_truncated_zip(), None, "truncated or damaged"),
    ],
)
def test_bad_download_is_rejected_and_removed(
    tmp_path: Path, content: bytes, announced: str | None, reason: str
) -> None:
    fake = FakeHub()
    fake.files[("microsoft/SatCLIP-ViT16-L10", "satclip-vit16-l10.ckpt")] = HostedFile(content, announced)
    fake.start()
    cache = tmp_path / "cache"
    try:
        with pytest.raises(CheckpointError, match=reason) as caught:
            resolve_model("satclip-vit16-l10", cache_dir=cache, endpoint=fake.endpoint)
    finally:
        fake.stop()
    assert "\n" not in str(caught.value)
    assert "removed it from the cache" in str(caught.value)
    assert not any(info.cached for info in list_models(cache_dir=cache) if info.repo is not None)
    assert not [p for p in (cache.rglob("*")) if p.is_file() and p.parent.name == "blobs"]


def test_corrupt_cached_file_is_rejected_then_downloaded_afresh(hub: FakeHub, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    path = resolve_model("satclip-resnet18-l40", cache_dir=cache, endpoint=hub.endpoint)
    path.resolve().write_bytes(b"garbage")  # damage the blob behind the snapshot link
    with pytest.raises(CheckpointError, match=r"not a torch checkpoint.*cached satclip-resnet18-l40.*removed"):
        resolve_model("satclip-resnet18-l40", cache_dir=cache, endpoint=hub.endpoint)
    assert resolve_model("satclip-resnet18-l40", cache_dir=cache, endpoint=hub.endpoint).read_bytes() == (
        small_checkpoint()
    )
    assert hub.count("cdn", "GET") == 2


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        (small_checkpoint(), "zip"),
        (b"\x80\x02\x8a\x0alegacy torch.save", "pickle"),
        ((13).to_bytes(8, "little") + b'{"a":"bcdef"}' + b"\0" * 16, "safetensors"),
        (b' {"kind": "bundled"}', "json"),
    ],
)
def test_check_model_file_recognises_formats(tmp_path: Path, content: bytes, kind: str) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(content)
    assert check_model_file(path) == kind
