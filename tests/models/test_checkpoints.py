"""Official checkpoints load safely and reproduce the official embeddings; our format round-trips."""

import json
import pickle
import shutil

import numpy as np
import pytest
import torch

from satclip_cli.errors import CheckpointError, OutputExistsError
from satclip_cli.models.checkpoints import (
    config_from_official_hparams,
    default_sh_method,
    load_location_encoder,
    load_official_checkpoint,
    save_location_encoder,
)
from satclip_cli.models.location_encoder import build_location_encoder


@pytest.mark.parametrize(
    ("folder", "checkpoint", "reference", "convention"),
    [
        ("fixtures_dir", "satclip_resnet18_l10.ckpt", "emb_resnet18_l10.npy", "satclip"),
        pytest.param(
            "shared_fixtures_dir",
            "satclip_vit4w128_l10_closed.ckpt",
            "emb_vit4w128_l10_closed.npy",
            "closed-form",
            marks=pytest.mark.shared_data,  # the closed-form checkpoint is in ../shared only
        ),
    ],
)
def test_official_checkpoint_reproduces_official_embeddings(request, folder, checkpoint, reference, convention):
    fixtures = request.getfixturevalue(folder)
    encoder = load_official_checkpoint(fixtures / checkpoint)
    assert encoder.config.sh_convention == convention
    assert encoder.config.legendre_polys == 10 and encoder.config.sh_method == "exact"
    assert not encoder.training
    points = torch.from_numpy(np.load(fixtures / "points.npy"))
    with torch.no_grad():
        ours = encoder(points).numpy()
    official = np.load(fixtures / reference)
    np.testing.assert_allclose(ours, official, rtol=0, atol=1e-6)


def test_default_sh_method_is_legacy_only_for_analytic_above_l10():
    assert default_sh_method(10, "analytic") == "exact"
    assert default_sh_method(40, "analytic") == "legacy"
    assert default_sh_method(40, "closed-form") == "exact"
    hparams = {"embed_dim": 8, "legendre_polys": 40, "harmonics_calculation": "analytic", "capacity": 16}
    assert config_from_official_hparams(hparams).sh_method == "legacy"
    assert config_from_official_hparams(hparams, sh_method="exact").sh_method == "exact"


def test_official_l40_layout_loads_with_legacy_by_default(tmp_path, fixtures_dir):
    # An official-layout checkpoint with L = 40, built from the L = 10 one.
    checkpoint = torch.load(fixtures_dir / "satclip_resnet18_l10.ckpt", weights_only=True)
    checkpoint["hyper_parameters"]["legendre_polys"] = 40
    state = checkpoint["state_dict"]
    for prefix in ("model.location.nnet.", "model.nnet."):
        state[prefix + "layers.0.weight"] = torch.zeros(512, 1600, dtype=torch.float64)
    path = tmp_path / "l40.ckpt"
    torch.save(checkpoint, path)
    assert load_location_encoder(path).config.sh_method == "legacy"
    assert load_location_encoder(path, sh_method="exact").config.sh_method == "exact"


def test_safetensors_round_trip(tmp_path):
    torch.manual_seed(1)
    encoder = build_location_encoder(legendre_polys=4, embed_dim=8, capacity=16, sh_convention="orthonormal").eval()
    path = save_location_encoder(encoder, tmp_path / "model.safetensors")
    assert path.is_file() and (tmp_path / "model.json").is_file()
    assert json.loads((tmp_path / "model.json").read_text())["sh_convention"] == "orthonormal"
    loaded = load_location_encoder(path)
    points = torch.tensor([[10.0, 20.0], [-120.0, -45.0]])
    with torch.no_grad():
        assert torch.equal(encoder(points), loaded(points))
    # The config travels inside the safetensors metadata too: the .json is optional.
    (tmp_path / "model.json").unlink()
    assert load_location_encoder(path).config == encoder.config
    with pytest.raises(OutputExistsError):
        save_location_encoder(encoder, path)


def test_official_checkpoint_converts_to_safetensors(tmp_path, fixtures_dir):
    encoder = load_official_checkpoint(fixtures_dir / "satclip_resnet18_l10.ckpt")
    path = save_location_encoder(encoder, tmp_path / "resnet18.safetensors")
    assert path.stat().st_size < 4_000_000  # float64 location weights only, no vision encoder
    points = torch.from_numpy(np.load(fixtures_dir / "points.npy")[:50])
    with torch.no_grad():
        assert torch.equal(encoder(points), load_location_encoder(path)(points))


class _Payload:
    def __reduce__(self):
        return (print, ("arbitrary code ran",))


def test_unsafe_pickle_is_refused(tmp_path, capsys):
    path = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "hyper_parameters": {}, "payload": _Payload()}, path)
    with pytest.raises(CheckpointError, match="cannot read checkpoint"):
        load_location_encoder(path)
    assert "arbitrary code ran" not in capsys.readouterr().out


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda p: p.write_bytes(b"not a checkpoint at all"),
        lambda p: p.write_bytes(p.read_bytes()[:10_000]),  # truncated download
        lambda p: p.write_bytes(pickle.dumps({"a": 1})),
    ],
)
def test_corrupt_checkpoints_give_checkpoint_errors(tmp_path, fixtures_dir, corrupt):
    path = tmp_path / "model.ckpt"
    shutil.copy(fixtures_dir / "satclip_resnet18_l10.ckpt", path)
    corrupt(path)
    with pytest.raises(CheckpointError):
        load_location_encoder(path)


def test_incompatible_checkpoints(tmp_path, fixtures_dir, closed_form_checkpoint):
    checkpoint = torch.load(fixtures_dir / "satclip_resnet18_l10.ckpt", weights_only=True)
    torch.save({"state_dict": checkpoint["state_dict"]}, tmp_path / "no_hparams.ckpt")
    with pytest.raises(CheckpointError, match="not a SatCLIP"):
        load_location_encoder(tmp_path / "no_hparams.ckpt")

    visual_only = dict(checkpoint, state_dict={k: v for k, v in checkpoint["state_dict"].items() if "visual" in k})
    assert visual_only["state_dict"]  # the test checkpoint keeps a little of the vision tower (model.visual.bn1.*)
    torch.save(visual_only, tmp_path / "visual_only.ckpt")
    with pytest.raises(CheckpointError, match="no location-encoder weights"):
        load_location_encoder(tmp_path / "visual_only.ckpt")

    wrong_l = dict(checkpoint, hyper_parameters=dict(checkpoint["hyper_parameters"], legendre_polys=12))
    torch.save(wrong_l, tmp_path / "wrong_l.ckpt")
    with pytest.raises(CheckpointError, match="shape"):
        load_location_encoder(tmp_path / "wrong_l.ckpt")

    discretized = dict(checkpoint, hyper_parameters=dict(checkpoint["hyper_parameters"], harmonics_calculation="x"))
    torch.save(discretized, tmp_path / "discretized.ckpt")
    with pytest.raises(CheckpointError, match="harmonics_calculation"):
        load_location_encoder(tmp_path / "discretized.ckpt")

    with pytest.raises(CheckpointError, match="legacy"):
        load_location_encoder(closed_form_checkpoint, sh_method="legacy")
    with pytest.raises(CheckpointError, match="not found"):
        load_location_encoder(tmp_path / "missing.ckpt")


def test_absurd_sizes_in_a_model_config_or_checkpoint_are_checkpoint_errors(tmp_path, fixtures_dir):
    import json

    from safetensors.torch import save_file

    from satclip_cli.errors import CheckpointError
    from satclip_cli.models.checkpoints import load_location_encoder, save_location_encoder
    from satclip_cli.models.location_encoder import build_location_encoder

    encoder = build_location_encoder(legendre_polys=2, capacity=8, embed_dim=4)
    path = save_location_encoder(encoder, tmp_path / "m.safetensors")
    config = json.loads(path.with_suffix(".json").read_text())
    (tmp_path / "absurd.json").write_text(json.dumps({**config, "legendre_polys": 1_000_000}))
    save_file(encoder.state_dict(), str(tmp_path / "absurd.safetensors"))  # no embedded config: the .json counts
    with pytest.raises(CheckpointError, match=r"legendre_polys must be an integer in \[1, 200\]"):
        load_location_encoder(tmp_path / "absurd.json")
    checkpoint = torch.load(fixtures_dir / "satclip_resnet18_l10.ckpt", weights_only=True)
    checkpoint["hyper_parameters"]["legendre_polys"] = 1_000_000
    torch.save(checkpoint, tmp_path / "absurd.ckpt")
    with pytest.raises(CheckpointError, match=r"hyper_parameters are invalid: legendre_polys must be"):
        load_location_encoder(tmp_path / "absurd.ckpt")
