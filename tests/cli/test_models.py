"""``satclip models``: the table of known models and which are cached, run through the real CLI app."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from huggingface_hub import constants, try_to_load_from_cache
from typer.testing import CliRunner

from satclip_cli.cli.app import app
from satclip_cli.models.registry import model_names

COMMIT = "fedcba9876543210fedcba9876543210fedcba98"
RELEASED = {
    "satclip-resnet18-l10": "microsoft/SatCLIP-ResNet18-L10",
    "satclip-resnet18-l40": "microsoft/SatCLIP-ResNet18-L40",
    "satclip-resnet50-l10": "microsoft/SatCLIP-ResNet50-L10",
    "satclip-resnet50-l40": "microsoft/SatCLIP-ResNet50-L40",
    "satclip-vit16-l10": "microsoft/SatCLIP-ViT16-L10",
    "satclip-vit16-l40": "microsoft/SatCLIP-ViT16-L40",
}


def put_in_cache(cache: Path, repo_id: str, filename: str, content: bytes) -> Path:
    """Lay a file out as huggingface_hub's cache does: blob by SHA-256, refs/main, snapshot symlink."""
    repo_dir = cache / f"models--{repo_id.replace('/', '--')}"
    blob = repo_dir / "blobs" / hashlib.sha256(content).hexdigest()
    blob.parent.mkdir(parents=True)
    blob.write_bytes(content)
    (repo_dir / "refs").mkdir()
    (repo_dir / "refs" / "main").write_text(COMMIT)
    snapshot = repo_dir / "snapshots" / COMMIT / filename
    snapshot.parent.mkdir(parents=True)
    snapshot.symlink_to(os.path.relpath(blob, snapshot.parent))
    assert try_to_load_from_cache(repo_id, filename, cache_dir=cache) == str(snapshot)  # the layout is right
    return snapshot


def run_models(*args: str) -> tuple[int, str]:
    """Invoke ``satclip models`` with a wide terminal so table rows stay on one line."""
    result = CliRunner().invoke(app, ["models", *args], env={"COLUMNS": "400"})
    return result.exit_code, result.output


def row(output: str, name: str) -> str:
    """The table line of model ``name``."""
    lines = [line for line in output.splitlines() if f" {name} " in line]
    assert len(lines) == 1, output
    return lines[0]


@pytest.fixture(autouse=True)
def isolated_hub_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """huggingface_hub's default cache (read at import time) -> a temporary folder."""
    default = tmp_path / "default-cache"
    monkeypatch.setenv("HF_HUB_CACHE", str(default))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(default))
    return default


def test_models_lists_all_names_and_marks_the_cached_one(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cached = put_in_cache(cache, "microsoft/SatCLIP-ViT16-L40", "satclip-vit16-l40.ckpt", b"PK\x03\x04" + b"\0" * 2996)

    code, output = run_models("--cache-dir", str(cache), "--verbose")

    assert code == 0, output
    assert model_names() == [*RELEASED, "bluemarble-l10"]
    lines = output.splitlines()
    for name, repo in RELEASED.items():
        line = row(output, name)
        assert line.split("│")[3].strip() == ("40" if name.endswith("l40") else "10")
        assert f"{name}: {repo}" in lines  # --verbose: the source on its own line
        if name == "satclip-vit16-l40":
            assert "yes (3.0 kB)" in line
            assert lines[lines.index(f"{name}: {repo}") + 1] == f"  {cached}"  # and the file below it
        else:
            assert " no " in line and "yes" not in line
    assert f"Hugging Face cache: {cache}" in output
    assert "--model /path/to/" in output


def test_the_table_fits_80_columns_and_paths_are_only_in_verbose(tmp_path: Path) -> None:
    cache = tmp_path / "a-rather-long-cache-folder-name" / "huggingface" / "hub"
    cached = put_in_cache(cache, "microsoft/SatCLIP-ResNet50-L40", "satclip-resnet50-l40.ckpt", b"PK" + b"\0" * 98)
    result = CliRunner().invoke(app, ["models", "--cache-dir", str(cache)], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80, result.output
    assert all(f" {name} " in result.output for name in RELEASED)  # no name cut or wrapped
    assert "microsoft/" not in result.output and cached.name not in result.output
    verbose = CliRunner().invoke(app, ["models", "--cache-dir", str(cache), "-v"], env={"COLUMNS": "80"})
    assert "satclip-resnet50-l40: microsoft/SatCLIP-ResNet50-L40" in verbose.output
    assert str(cached) in verbose.output.replace("\n", "")


def test_models_with_empty_cache_marks_nothing_cached(tmp_path: Path) -> None:
    code, output = run_models("--cache-dir", str(tmp_path / "does-not-exist"))
    assert code == 0, output
    for name in RELEASED:
        assert "yes" not in row(output, name)
    assert "yes" in row(output, "bluemarble-l10")  # bundled: always on this machine


def test_models_defaults_to_the_huggingface_cache(isolated_hub_cache: Path) -> None:
    cached = put_in_cache(isolated_hub_cache, "microsoft/SatCLIP-ResNet50-L10", "satclip-resnet50-l10.ckpt", b"{}")
    code, output = run_models()
    assert code == 0, output
    assert "yes (2 B)" in row(output, "satclip-resnet50-l10") and str(cached) not in output
    assert str(cached) in run_models("--verbose")[1]
    assert [name for name in RELEASED if "yes" in row(output, name)] == ["satclip-resnet50-l10"]
    assert f"Hugging Face cache: {isolated_hub_cache}" in output


def test_models_help_mentions_cache_dir() -> None:
    result = CliRunner().invoke(app, ["models", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "--cache-dir" in result.output
