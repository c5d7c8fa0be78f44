"""``satclip train`` and ``satclip export`` through the CLI, on the 23 real S2 tiles, CPU only."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from typer.testing import CliRunner

from satclip_cli.cli.app import app
from satclip_cli.models.checkpoints import load_official_checkpoint, load_safetensors_model

runner = CliRunner()


@pytest.fixture
def tiny_yaml(tmp_path, tiny_training):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump({**tiny_training, "batch_size": 4, "max_epochs": 1}))
    return path


def test_train_then_embed_and_export_give_the_models_embeddings(dataset_dir, tiny_yaml, tmp_path):
    run = tmp_path / "run"
    result = runner.invoke(app, ["train", "--config", str(tiny_yaml), "--data", str(dataset_dir), "--out", str(run),
                                 "--gpus", "0", "--quiet"])  # fmt: skip
    assert result.exit_code == 0, result.output
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["data"] == str(dataset_dir) and saved["vision"] == "clip-vit" and saved["accelerator"] == "cpu"
    ckpt = run / "checkpoints" / "last.ckpt"

    cities = pd.DataFrame({"lon": [12.49, -58.38, 139.69, 18.95], "lat": [41.90, -34.60, 35.69, 69.65]})
    cities.to_csv(tmp_path / "cities.csv", index=False)
    embedded = runner.invoke(app, ["embed", str(tmp_path / "cities.csv"), "--model", str(ckpt),
                                   "-o", str(tmp_path / "e.npy"), "--quiet"])  # fmt: skip
    assert embedded.exit_code == 0, embedded.output
    state = torch.load(ckpt, weights_only=True)["state_dict"]
    encoder = load_official_checkpoint(ckpt)
    assert all(torch.equal(encoder.state_dict()[k], state["model.location." + k]) for k in encoder.state_dict())
    with torch.no_grad():
        expected = encoder(torch.tensor(cities.to_numpy(), dtype=torch.float64)).numpy()
    np.testing.assert_allclose(np.load(tmp_path / "e.npy"), expected, rtol=1e-5, atol=1e-6)

    exported = runner.invoke(app, ["export", str(ckpt), "-o", str(tmp_path / "enc.safetensors")])
    assert exported.exit_code == 0, exported.output
    light = load_safetensors_model(tmp_path / "enc.safetensors")
    assert light.config == encoder.config
    with torch.no_grad():
        np.testing.assert_allclose(light(torch.tensor(cities.to_numpy())).numpy(), expected, rtol=1e-12)
    again = runner.invoke(app, ["export", str(ckpt), "-o", str(tmp_path / "enc.safetensors")])
    assert again.exit_code == 2 and "--overwrite" in again.output


def test_ddp_with_two_cpu_processes_trains_and_checkpoints(dataset_dir, tiny_yaml, tmp_path):
    run = tmp_path / "run"
    process = subprocess.run(
        [sys.executable, "-m", "satclip_cli", "train", "--config", str(tiny_yaml), "--data", str(dataset_dir),
         "--out", str(run), "--accelerator", "cpu", "--devices", "2", "--accumulate", "2", "--quiet"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert process.returncode == 0, process.stderr[-3000:]
    checkpoint = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    # 20 training patches over 2 ranks, 4 x 2 accumulated pairs per rank and step: 1 step of 16 pairs
    assert checkpoint["global_step"] == 1
    metrics = pd.read_csv(run / "csv" / "version_0" / "metrics.csv")
    assert np.isfinite(metrics["val_loss"].dropna()).all()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "--data"),
        (["--data", "no-such-folder"], "no-such-folder"),
        (["--data", "DATA", "--vision", "alexnet"], "alexnet"),
        (["--data", "DATA", "--precision", "8-bit"], "--precision"),
        (["--data", "DATA", "--resume"], "nothing to resume"),
        (["--data", "DATA", "--batch-size", "0"], "--batch-size"),
        (["--data", "DATA", "--config", "missing.yaml"], "missing.yaml"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(dataset_dir, tmp_path, args, message):
    args = [str(dataset_dir) if a == "DATA" else a for a in args]
    result = runner.invoke(app, ["train", "--out", str(tmp_path / "run"), "--gpus", "0", *args])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0]


def test_an_existing_run_is_not_overwritten(dataset_dir, tiny_yaml, tmp_path):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "last.ckpt").write_bytes(b"earlier run")
    result = runner.invoke(app, ["train", "--config", str(tiny_yaml), "--data", str(dataset_dir), "--out", str(run)])
    assert result.exit_code == 2 and "--resume" in result.output
    assert (run / "checkpoints" / "last.ckpt").read_bytes() == b"earlier run"


def test_published_weights_without_network_is_a_clear_offline_error(dataset_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))  # an empty cache
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    result = runner.invoke(app, ["train", "--data", str(dataset_dir), "--out", str(tmp_path / "run"), "--gpus", "0",
                                 "--vision", "moco-resnet18", "--vision-weights", "default"])  # fmt: skip
    assert result.exit_code == 2
    line = result.output.strip()
    assert line.startswith("Error: cannot download the moco-resnet18 weights") and "--vision-weights" in line
    assert len(line.splitlines()) == 1
