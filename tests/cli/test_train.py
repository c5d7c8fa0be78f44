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
    args = ["--vision", "moco-resnet18", "--vision-weights", "default", "--image-size", "64"]  # 64 px test patches
    result = runner.invoke(app, ["train", "--data", str(dataset_dir), "--out", str(tmp_path / "run"), "--gpus", "0",
                                 *args])  # fmt: skip
    assert result.exit_code == 2
    line = result.output.strip()
    assert line.startswith("Error: cannot download the moco-resnet18 weights") and "--vision-weights" in line
    assert len(line.splitlines()) == 1


# ------------------------------------------------------------------------------------------ one line, exit 2


def one_error_line(result) -> str:
    """The single ``Error:`` line a failed command printed (asserts there is nothing else)."""
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert "Traceback" not in lines[0] and "Caught" not in lines[0]
    return lines[0]


def test_a_run_folder_that_is_a_file_or_below_one_is_refused(dataset_dir, tiny_yaml, tmp_path):
    (tmp_path / "a-file").write_text("keep")
    for out, message in [("a-file", "is a file; give a folder"), ("a-file/run", "a part of the path is a file")]:
        result = runner.invoke(app, ["train", "--config", str(tiny_yaml), "--data", str(dataset_dir),
                                     "--out", str(tmp_path / out), "--gpus", "0", "--quiet"])  # fmt: skip
        assert message in one_error_line(result)
    assert (tmp_path / "a-file").read_text() == "keep"


def test_an_unwritable_run_folder_is_refused(make_s2_dataset, tiny_yaml):
    from tests.support.permissions import read_only_folder, unprivileged, world_readable_dir

    with world_readable_dir() as root:
        data = make_s2_dataset(root / "ds", count=4)
        config = root / "tiny.yaml"
        config.write_text(tiny_yaml.read_text())
        locked = read_only_folder(root)
        with unprivileged():
            result = runner.invoke(app, ["train", "--config", str(config), "--data", str(data),
                                         "--out", str(locked / "run"), "--gpus", "0", "--quiet"])  # fmt: skip
        assert "cannot create run folder" in one_error_line(result) and "permission denied" in result.output
        assert list(locked.iterdir()) == []


@pytest.mark.parametrize("kind", ["truncated", "unsafe", "not-a-training-checkpoint"])
def test_resume_from_a_bad_last_checkpoint_is_one_line(dataset_dir, tiny_yaml, fixtures_dir, tmp_path, kind):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    last = run / "checkpoints" / "last.ckpt"
    marker = tmp_path / "code-ran"
    if kind == "truncated":
        last.write_bytes((fixtures_dir / "satclip_resnet18_l10.ckpt").read_bytes()[:20_000])
    elif kind == "unsafe":
        torch.save({"state_dict": {}, "payload": _RunsCode(str(marker))}, last)
    else:
        torch.save({"state_dict": {"w": torch.zeros(2)}}, last)
    before = last.read_bytes()
    result = runner.invoke(app, ["train", "--config", str(tiny_yaml), "--data", str(dataset_dir), "--out", str(run),
                                 "--gpus", "0", "--quiet", "--resume"])  # fmt: skip
    line = one_error_line(result)
    expected = {"truncated": "truncated", "unsafe": "could run code", "not-a-training-checkpoint": "no optimizer"}
    assert "cannot resume from" in line and expected[kind] in line
    assert not marker.exists() and last.read_bytes() == before


class _RunsCode:
    """A pickle payload that would create a file when unpickled (never is: weights_only refuses it)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.mark.parametrize(
    ("args", "yaml_extra", "message"),
    [
        (["-L", "1000000"], {}, "--legendre-polys must be between 1 and 200, got 1000000"),
        (["-L", "0"], {}, "--legendre-polys must be between 1 and 200"),
        (["-L", "100"], {"capacity": 60_000, "num_hidden_layers": 5}, "would have about 1.5e+10 parameters"),
    ],
)
def test_absurd_model_sizes_are_refused_before_anything_is_built(dataset_dir, tmp_path, args, yaml_extra, message):
    config = tmp_path / "big.yaml"
    config.write_text(yaml.safe_dump(yaml_extra))
    result = runner.invoke(app, ["train", "--config", str(config), "--data", str(dataset_dir),
                                 "--out", str(tmp_path / "run"), "--gpus", "0", "--quiet", *args])  # fmt: skip
    assert message in one_error_line(result)
    assert not (tmp_path / "run").exists()


def test_a_bad_patch_in_a_loader_worker_is_named_in_one_line(make_s2_dataset, tiny_yaml, tmp_path):
    data = make_s2_dataset(tmp_path / "ds")
    bad = data / "images" / "patch_57755.tif"
    original = bad.read_bytes()
    bad.unlink()
    bad.write_bytes(original[:200] + bytes(200) + original[400:])  # a damaged header
    result = runner.invoke(app, ["train", "--config", str(tiny_yaml), "--data", str(data), "--out",
                                 str(tmp_path / "run"), "--gpus", "0", "--quiet", "--num-workers", "2"])  # fmt: skip
    line = one_error_line(result)
    assert line.startswith(f"Error: cannot read patch {bad}: ") and len(line) < 250, line
    assert line.count("patch_57755.tif") == 1  # the reason does not repeat the path


# ------------------------------------------------------------------------------------------ the card's lines


def test_the_cards_lines_run_as_written(make_s2_dataset, tiny_yaml, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    planned = runner.invoke(app, ["sample", "--source", "bluemarble", "--n", "2", "--dry-run"])
    assert planned.exit_code == 0 and planned.output.startswith("Dataset bluemarble: 2 patches"), planned.output
    assert "./s2-100k" in runner.invoke(app, ["sample", "--help"]).output  # the STAC default, shown in --help
    help_text = runner.invoke(app, ["train", "--help"]).output
    assert "./s2-100k" in help_text and "./satclip-run" in help_text

    missing = one_error_line(runner.invoke(app, ["train", "--gpus", "0"]))
    assert "no dataset folder s2-100k here (the default --data); make it with `satclip sample`" in missing

    make_s2_dataset(tmp_path / "s2-100k", count=12)  # as `satclip sample --n 100000` leaves it, in small
    result = runner.invoke(app, ["train", "--config", str(tiny_yaml), "--gpus", "0", "--quiet"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "satclip-run" / "checkpoints" / "last.ckpt").is_file()
    assert yaml.safe_load((tmp_path / "satclip-run" / "config.yaml").read_text())["data"] == "s2-100k"


def test_patches_smaller_than_the_crop_are_refused_before_the_run_folder_is_made(dataset_dir, tiny_yaml, tmp_path):
    run = tmp_path / "run"
    args = ["train", "--config", str(tiny_yaml), "--data", str(dataset_dir), "--out", str(run), "--image-size", "128"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1] == (
        "Error: patches of 64 x 64 px are smaller than the crop size 128 px; use a smaller --image-size"
    )
    assert not run.exists()  # no run folder, no logger folders
