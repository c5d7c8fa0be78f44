"""Real (tiny, CPU) Lightning runs on 23 real S2 patches (64 px crops): learning, checkpoint layout, resume, NaN."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from satclip_cli.models.checkpoints import config_from_official_hparams, load_official_checkpoint
from satclip_cli.models.location_encoder import build_location_encoder
from satclip_cli.models.vision.builder import build_vision_encoder
from satclip_cli.models.vision.specs import vision_encoder_from_hparams
from satclip_cli.training.config import TrainConfig
from satclip_cli.training.job import repack_advice, run
from satclip_cli.training.trainer import TrainingFailedError

OFFICIAL_EXTRAS = {"eval_downstream", "air_temp_data_path", "election_data_path"}


@pytest.fixture
def tiny_config(tiny_training):
    """``make(data, out, **changes) -> TrainConfig`` of a tiny CPU run."""

    def make(data, out, **changes) -> TrainConfig:
        settings = {**tiny_training, "accelerator": "cpu", "log_every_n_steps": 1, **changes}
        return TrainConfig().override(data=str(data), out=str(out), **settings)

    return make


def logged(out, column: str) -> np.ndarray:
    metrics = pd.read_csv(out / "csv" / "version_0" / "metrics.csv")
    return metrics[column].dropna().to_numpy()


def logged_epochs(out, version: int) -> set[int]:
    return set(pd.read_csv(out / "csv" / f"version_{version}" / "metrics.csv")["epoch"].dropna().astype(int))


def test_a_fixed_small_batch_is_overfitted(make_s2_dataset, tmp_path, tiny_config):
    data = make_s2_dataset(tmp_path / "ds", count=9)  # 8 training pairs = one fixed batch, 1 for validation
    config = tiny_config(data, tmp_path / "run", max_epochs=40, lr=3e-3, jitter_km=0.0, location_dropout=0.0)
    summary = run(config, progress=False)
    assert summary.steps == 40
    loss = logged(tmp_path / "run", "train_loss")
    assert loss[:5].mean() > np.log(8)  # at least chance level for 8 pairs at first
    assert loss[-5:].mean() < 0.35 * loss[:5].mean(), loss


def test_checkpoint_has_the_official_layout_and_embeds_like_the_model(dataset_dir, tmp_path, fixtures_dir, tiny_config):
    notes = []
    summary = run(tiny_config(dataset_dir, tmp_path / "run", max_epochs=1), progress=False, notify=notes.append)
    assert len(notes) == 1 and f"satclip repack {dataset_dir} -o" in notes[0]  # S2-100K's LZW files
    ours = torch.load(summary.last_checkpoint, weights_only=True)
    official = torch.load(fixtures_dir / "satclip_resnet18_l10.ckpt", weights_only=True)

    required = set(official) - {"datamodule_hparams_name", "datamodule_hyper_parameters"}
    assert required <= set(ours)
    assert set(ours["hyper_parameters"]) == set(official["hyper_parameters"]) - OFFICIAL_EXTRAS
    assert summary.best_checkpoint is not None and summary.best_checkpoint.is_file()

    state = ours["state_dict"]
    suffixes = {k.split("nnet.", 1)[1] for k in official["state_dict"] if k.startswith("model.location.nnet.")}
    for prefix in ("model.location.nnet.", "model.nnet."):
        assert {k[len(prefix) :] for k in state if k.startswith(prefix)} == suffixes
        assert all(state[prefix + s].dtype == torch.float64 for s in suffixes)
        torch.testing.assert_close(state[prefix + "last_layer.weight"], state["model.location.nnet.last_layer.weight"])
    assert state["model.logit_scale"].dtype == torch.float32 and state["model.logit_scale"].ndim == 0
    assert {k for k in state if k.startswith("model.visual.")} == {
        "model.visual." + k for k in build_vision_encoder("clip-vit", weights="none", **_vit_kwargs()).state_dict()
    }

    # What an official-style loader does: rebuild both encoders from hyper_parameters, load strictly.
    hparams = ours["hyper_parameters"]
    name, kwargs = vision_encoder_from_hparams(hparams)
    visual = build_vision_encoder(name, weights="none", **kwargs)
    visual.load_state_dict({k[len("model.visual.") :]: v for k, v in state.items() if k.startswith("model.visual.")})
    location = build_location_encoder(config_from_official_hparams(hparams)).double()
    location.load_state_dict(
        {k[len("model.location.") :]: v for k, v in state.items() if k.startswith("model.location.")}
    )

    # `satclip embed --model last.ckpt` (our loader) gives the trained model's embeddings
    points = torch.tensor(
        [[12.5, 41.9], [-73.9, 40.7], [151.2, -33.9], [0.0, 89.9], [-179.9, -60.0]], dtype=torch.float64
    )
    with torch.no_grad():
        expected = location.eval()(points)
        loaded = load_official_checkpoint(summary.last_checkpoint)
        torch.testing.assert_close(loaded(points.to(loaded_dtype(loaded))).double(), expected, rtol=1e-6, atol=1e-8)
    assert loaded.config.sh_method == "exact"


def _vit_kwargs() -> dict:
    return {
        "embed_dim": 16,
        "image_resolution": 64,
        "in_channels": 12,
        "vision_layers": 1,
        "vision_width": 32,
        "vision_patch_size": 16,
    }


def loaded_dtype(encoder) -> torch.dtype:
    return next(encoder.parameters()).dtype


def test_resume_continues_exactly_like_an_uninterrupted_run(make_s2_dataset, tmp_path, tiny_config):
    data = make_s2_dataset(tmp_path / "ds", count=18)
    run(tiny_config(data, tmp_path / "whole", max_epochs=3), progress=False)
    run(tiny_config(data, tmp_path / "parts", max_epochs=2), progress=False)
    summary = run(tiny_config(data, tmp_path / "parts", max_epochs=3, resume=True), progress=False)
    assert summary.epochs == 3
    assert [len(logged_epochs(tmp_path / "parts", v)) for v in (0, 1)] == [2, 1]  # the first launch's logs are kept
    whole = torch.load(tmp_path / "whole" / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    parts = torch.load(tmp_path / "parts" / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    assert set(whole) == set(parts)
    for key in whole:
        torch.testing.assert_close(parts[key], whole[key], rtol=0, atol=0, msg=key)
    first_two = torch.load(sorted((tmp_path / "parts" / "checkpoints").glob("epoch=*.ckpt"))[0], weights_only=True)
    assert first_two["epoch"] >= 1


def test_a_nan_loss_stops_with_a_clear_error_and_keeps_the_last_good_checkpoint(
    make_s2_dataset, tmp_path, monkeypatch, tiny_config
):
    from satclip_cli.training import loss as clip_loss

    data = make_s2_dataset(tmp_path / "ds", count=9)
    real = clip_loss.symmetric_cross_entropy
    calls = {"n": 0}

    def diverging(logits):
        calls["n"] += 1
        loss = real(logits)
        return loss * float("nan") if calls["n"] > 4 else loss  # train, val, train, val, then NaN

    monkeypatch.setattr(clip_loss, "symmetric_cross_entropy", diverging)
    with pytest.raises(TrainingFailedError, match=r"loss became nan at step 2.*last good checkpoint is"):
        run(tiny_config(data, tmp_path / "run", max_epochs=5), progress=False)
    last = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=True)
    assert last["global_step"] == 2
    assert all(torch.isfinite(v).all() for v in last["state_dict"].values() if v.is_floating_point())


def test_frozen_backbone_stays_in_eval_mode_and_only_the_head_learns(make_s2_dataset, tmp_path, tiny_config):
    data = make_s2_dataset(tmp_path / "ds", count=9)
    summary = run(
        tiny_config(data, tmp_path / "run", max_epochs=2, vision="moco-resnet18", vision_weights="none"),
        progress=False,
    )
    first = build_vision_encoder("moco-resnet18", embed_dim=16, image_resolution=64, weights="none")
    trained = torch.load(summary.last_checkpoint, weights_only=True)["state_dict"]
    torch.manual_seed(0)  # the run seeds 0 before building the model, so the backbone starts the same
    before = build_vision_encoder("moco-resnet18", embed_dim=16, image_resolution=64, weights="none").state_dict()
    del first
    for key, value in before.items():
        after = trained["model.visual." + key]
        if key.startswith("fc."):
            assert not torch.equal(after, value), key  # the head learned
        else:
            assert torch.equal(after, value), key  # weights AND BatchNorm running statistics unchanged


def test_compiled_vision_encoder_trains_and_keeps_the_checkpoint_keys(make_s2_dataset, tmp_path, tiny_config):
    data = make_s2_dataset(tmp_path / "ds", count=9)
    plain = run(tiny_config(data, tmp_path / "plain", max_epochs=1), progress=False)
    compiled = run(tiny_config(data, tmp_path / "compiled", max_epochs=1, compile=True), progress=False)
    plain_state = torch.load(plain.last_checkpoint, weights_only=True)["state_dict"]
    compiled_state = torch.load(compiled.last_checkpoint, weights_only=True)["state_dict"]
    assert set(compiled_state) == set(plain_state)  # no "_orig_mod" keys
    # Same start, same batches: the weights differ at most by what Adam's normalised step can flip
    # (about lr = 1e-4 per step) where compiled kernels round differently.
    for key, value in plain_state.items():
        torch.testing.assert_close(compiled_state[key], value, rtol=0, atol=2.5e-4 * plain.steps, msg=key)


def test_repack_is_advised_for_s2_100k_files_only(make_s2_dataset, tmp_path):
    from satclip_cli.dataset.repack import DatasetRepack
    from satclip_cli.dataset.torch_dataset import S2PatchDataset

    original = make_s2_dataset(tmp_path / "ds", count=2)
    advice = repack_advice(S2PatchDataset(original))
    assert advice is not None and "LZW compression, 512 x 512 px tiles on a 64 x 64 px patch" in advice
    job = DatasetRepack(original, tmp_path / "fast")
    job.prepare()
    job.run()
    assert repack_advice(S2PatchDataset(tmp_path / "fast")) is None
