"""Vision encoders of ``satclip train``: official key layouts, backbone/head split, frozen backbones, weights."""

from __future__ import annotations

import email.message
import io
import pickle
import socket
import time
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from satclip_cli.errors import CheckpointError, OfflineError, SatclipError
from satclip_cli.models.vision import encoders as ve

TINY = {
    "clip-vit": {"vision_layers": 2, "vision_width": 32, "vision_patch_size": 16, "image_resolution": 64},
    "clip-resnet": {"vision_layers": (1, 1, 1, 1), "vision_width": 16, "image_resolution": 64},
}


def _visual_state(ckpt_path: Path) -> tuple[dict, dict[str, torch.Tensor]]:
    ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True)
    prefix = "model.visual."
    state = {k[len(prefix) :]: v for k, v in ckpt["state_dict"].items() if k.startswith(prefix)}
    return ckpt["hyper_parameters"], state


_BUILT: dict[str, nn.Module] = {}


def _built(name: str) -> nn.Module:
    """One random-init encoder per kind for the whole module (the ViT-S/16 takes ~2 s to build)."""
    if name not in _BUILT:
        _BUILT[name] = ve.build_vision_encoder(name, weights="none", embed_dim=32, **TINY.get(name, {}))
    return _BUILT[name]


def _input(name: str, batch: int = 2) -> torch.Tensor:
    size = ve.VISION_ENCODERS[name].resolve_input_size(64)
    return torch.rand(batch, 13, size, size, generator=torch.Generator().manual_seed(0))


@pytest.fixture
def torch_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty torch hub cache (``$TORCH_HOME/hub/checkpoints``) and no HF offline flag."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    return tmp_path / "torch"


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if torch.hub tries to open a URL."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("torch.hub tried to download")

    monkeypatch.setattr(torch.hub, "urlopen", refuse)


def _timm_resnet18_state(num_classes: int = 0) -> dict[str, torch.Tensor]:
    import timm

    torch.manual_seed(1)
    return timm.create_model("resnet18", in_chans=13, num_classes=num_classes).state_dict()


# --------------------------------------------------------------------------------------------------
# registry and official hyper-parameters
# --------------------------------------------------------------------------------------------------


def test_registry_lists_the_five_encoders() -> None:
    specs = ve.VISION_ENCODERS
    assert list(specs) == ["moco-resnet18", "moco-resnet50", "moco-vit-s16", "clip-vit", "clip-resnet"]
    assert [specs[n].official_layers for n in specs] == ["moco_resnet18", "moco_resnet50", "moco_vit16", None, None]
    assert [specs[n].resolve_input_size(256) for n in specs] == [256, 256, 224, 256, 256]
    assert [specs[n].in_channels for n in specs] == [13, 13, 13, None, None]
    assert [specs[n].frozen_backbone for n in specs] == [True, True, True, False, False]
    assert ve.vision_encoder_spec("moco_vit16").name == "moco-vit-s16"
    with pytest.raises(SatclipError, match="unknown vision encoder"):
        ve.vision_encoder_spec("resnet18")
    with pytest.raises(SatclipError, match="13 bands"):
        ve.build_vision_encoder("moco-resnet18", in_channels=4, weights="none")


def test_vision_layers_from_cli_strings() -> None:
    small = {"vision_width": 16, "image_resolution": 64, "weights": "none"}
    resnet = ve.build_vision_encoder("clip-resnet", vision_layers="1,2,1,1", **small)
    assert [len(stage) for stage in (resnet.layer1, resnet.layer2, resnet.layer3, resnet.layer4)] == [1, 2, 1, 1]
    assert len(ve.build_vision_encoder("clip-vit", vision_layers="3", **small).transformer.resblocks) == 3
    with pytest.raises(SatclipError, match="4 ints"):
        ve.build_vision_encoder("clip-resnet", vision_layers=4, **small)
    with pytest.raises(SatclipError, match="one int"):
        ve.build_vision_encoder("clip-vit", vision_layers=(1, 1, 1, 1), **small)


@pytest.mark.parametrize("name", list(ve.VISION_ENCODERS))
def test_official_hparams_round_trip(name: str) -> None:
    hparams = {"embed_dim": 64, **ve.official_vision_hparams(name, **TINY.get(name, {}))}
    keys = {"embed_dim", "vision_layers", "vision_width", "vision_patch_size", "image_resolution", "in_channels"}
    assert set(hparams) == keys
    rebuilt, kwargs = ve.vision_encoder_from_hparams(hparams)
    assert rebuilt == name
    embed_dim = kwargs.pop("embed_dim")
    assert {"embed_dim": embed_dim, **ve.official_vision_hparams(rebuilt, **kwargs)} == hparams
    if name != "moco-vit-s16":  # the rebuilt encoder has the right head (the ViT-S/16 is slow to build)
        visual = ve.build_vision_encoder(rebuilt, weights="none", embed_dim=embed_dim, **kwargs)
        assert ve.apply_head(visual, name, torch.zeros(1, ve.feature_dim(visual, name))).shape == (1, 64)


def test_official_hparams_values() -> None:
    assert ve.official_vision_hparams("moco-resnet18") == {
        "vision_layers": "moco_resnet18",
        "vision_width": 128,
        "vision_patch_size": 32,
        "image_resolution": 256,
        "in_channels": 13,
    }
    assert ve.official_vision_hparams("clip-resnet", vision_layers=(2, 2, 2, 2))["vision_layers"] == [2, 2, 2, 2]
    assert ve.official_vision_hparams("clip-vit")["vision_layers"] == 4  # the original default config


@pytest.mark.parametrize(
    "bad",
    [{"embed_dim": 8}, {"embed_dim": 8, "vision_layers": "moco_resnet101"}, {"embed_dim": 8, "vision_layers": [1, 2]}],
)
def test_from_hparams_rejects_unknown_settings(bad: dict) -> None:
    with pytest.raises(CheckpointError):
        ve.vision_encoder_from_hparams({"vision_width": 64, **bad})


# --------------------------------------------------------------------------------------------------
# official checkpoints load strictly
# --------------------------------------------------------------------------------------------------


def test_fixture_vit_loads_strictly_and_runs(fixtures_dir: Path) -> None:
    hparams, state = _visual_state(fixtures_dir / "satclip_vit4w128_l10_closed.ckpt")
    name, kwargs = ve.vision_encoder_from_hparams(hparams)
    assert name == "clip-vit"
    visual = ve.build_vision_encoder(name, weights="none", **kwargs)
    assert set(visual.state_dict()) == set(state)
    visual.load_state_dict(state, strict=True)
    visual.eval()
    images = torch.rand(2, 13, 256, 256, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        out = visual(images)
        single = visual(images[1:])
    assert out.shape == (2, 256) and out.dtype == torch.float32 and torch.isfinite(out).all()
    # Sequence-first attention must not mix samples: one image alone gives the same embedding.
    torch.testing.assert_close(single[0], out[1], atol=1e-5, rtol=1e-5)
    assert not torch.allclose(out[0], out[1])


def test_fixture_resnet18_loads_strictly(fixtures_dir: Path) -> None:
    hparams, state = _visual_state(fixtures_dir / "satclip_resnet18_l10.ckpt")
    name, kwargs = ve.vision_encoder_from_hparams(hparams)
    assert name == "moco-resnet18"
    visual = ve.build_vision_encoder(name, weights="none", **kwargs)
    visual.load_state_dict(state, strict=True)
    assert ve.head_parameter_names(visual, name) == ["fc.weight", "fc.bias"]
    visual.eval()
    with torch.no_grad():
        assert visual(_input(name, batch=1)).shape == (1, 256)


def test_fixture_checkpoint_as_vision_weights_path(fixtures_dir: Path) -> None:
    """A whole SatCLIP checkpoint is a valid ``--vision-weights PATH``: the ``model.visual.`` prefix is found."""
    path = fixtures_dir / "satclip_vit4w128_l10_closed.ckpt"
    hparams, state = _visual_state(path)
    name, kwargs = ve.vision_encoder_from_hparams(hparams)
    visual = ve.build_vision_encoder(name, weights=path, **kwargs)
    for key, value in visual.state_dict().items():
        assert torch.equal(value, state[key]), key


# --------------------------------------------------------------------------------------------------
# backbone / head split
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(ve.VISION_ENCODERS))
def test_head_of_backbone_features_is_forward(name: str) -> None:
    visual = _built(name).eval()
    images = _input(name, batch=1 if name == "moco-vit-s16" else 2)
    with torch.no_grad():
        features = ve.backbone_features(visual, name, images)
        embedded = visual(images)
        composed = ve.apply_head(visual, name, features)
    assert features.shape == (images.shape[0], ve.feature_dim(visual, name))
    assert embedded.shape == (images.shape[0], 32)
    torch.testing.assert_close(composed, embedded, atol=1e-6, rtol=1e-5)
    backbone, head = ve.split_backbone_head(visual, name)
    assert len(backbone) + len(head) == len(list(visual.parameters()))
    assert sum(p.numel() for p in head) == sum(
        p.numel() for n, p in visual.named_parameters() if n in ve.head_parameter_names(visual, name)
    )


def test_feature_dims_of_moco_encoders() -> None:
    assert [ve.feature_dim(_built(n), n) for n in ("moco-resnet18", "moco-resnet50", "moco-vit-s16")] == [
        512,
        2048,
        384,
    ]
    assert ve.head_parameter_names(_built("moco-vit-s16"), "moco-vit-s16") == ["head.weight", "head.bias"]
    assert ve.head_parameter_names(_built("clip-vit"), "clip-vit") == ["proj"]
    assert ve.head_parameter_names(_built("clip-resnet"), "clip-resnet") == [
        "attnpool.c_proj.weight",
        "attnpool.c_proj.bias",
    ]


# --------------------------------------------------------------------------------------------------
# frozen backbone
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["moco-resnet18", "moco-vit-s16"])
def test_moco_encoders_train_only_the_head(name: str) -> None:
    visual = _built(name)
    trainable = [n for n, p in visual.named_parameters() if p.requires_grad]
    assert trainable == ve.head_parameter_names(visual, name)
    assert ve.is_backbone_frozen(visual, name)


def test_freeze_is_a_no_op_for_clip_encoders() -> None:
    for name in ("clip-vit", "clip-resnet"):
        visual = ve.build_vision_encoder(name, weights="none", embed_dim=8, **TINY[name])
        ve.freeze_backbone(visual, name)
        assert all(p.requires_grad for p in visual.parameters())
        assert not ve.is_backbone_frozen(visual, name)


def _bn_state(visual: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in visual.state_dict().items() if "running" in k or "num_batches" in k}


def test_frozen_batchnorm_statistics_do_not_drift_after_train() -> None:
    visual = ve.build_vision_encoder("moco-resnet18", weights="none", embed_dim=8)
    visual.train()  # what Lightning does at the start of every epoch
    before = _bn_state(visual)
    images = _input("moco-resnet18") * 5 + 3  # far from the initial running mean 0 / var 1
    out = visual(images)
    out.sum().backward()
    for key, value in visual.state_dict().items():
        if key in before:
            assert torch.equal(value, before[key]), key
    assert visual.training and visual.fc.training and not visual.bn1.training and not visual.layer1.training
    assert visual.fc.weight.grad is not None and visual.conv1.weight.grad is None
    # the feature-cache path too
    visual.train()
    ve.backbone_features(visual, "moco-resnet18", images)
    assert all(torch.equal(visual.state_dict()[k], v) for k, v in before.items())


def test_unfrozen_batchnorm_statistics_do_move() -> None:
    """Control for the test above: without freezing, the same forward pass changes the statistics."""
    visual = ve.build_vision_encoder("moco-resnet18", weights="none", embed_dim=8, freeze=False)
    visual.train()
    before = _bn_state(visual)
    visual(_input("moco-resnet18") * 5 + 3)
    assert not torch.equal(visual.state_dict()["bn1.running_mean"], before["bn1.running_mean"])
    assert not ve.is_backbone_frozen(visual, "moco-resnet18")


def test_set_frozen_backbone_eval_for_a_train_override() -> None:
    visual = ve.build_vision_encoder("moco-resnet18", weights="none", embed_dim=8)
    call = ve.frozen_backbone_eval_fn("moco-resnet18")
    pickle.dumps(call)  # picklable, so a model holding it can be pickled
    visual.train()
    assert visual.bn1.training
    call(visual)
    assert visual.training and visual.fc.training
    assert not any(m.training for n, m in visual.named_modules() if n and not n.startswith("fc"))
    visual.eval()
    ve.set_frozen_backbone_eval(visual, "moco-resnet18")
    assert not visual.fc.training


# --------------------------------------------------------------------------------------------------
# CLIP ModifiedResNet
# --------------------------------------------------------------------------------------------------


def test_tiny_clip_resnet_layout_init_and_attention_pool() -> None:
    visual = ve.build_vision_encoder("clip-resnet", weights="none", embed_dim=24, **TINY["clip-resnet"])
    keys = set(visual.state_dict())
    for key in (
        "conv1.weight",
        "bn3.running_var",
        "layer1.0.downsample.0.weight",
        "layer4.0.downsample.1.bias",
        "attnpool.positional_embedding",
        "attnpool.q_proj.bias",
        "attnpool.c_proj.weight",
    ):
        assert key in keys, key
    assert visual.conv1.weight.shape == (8, 13, 3, 3)
    assert visual.attnpool.positional_embedding.shape == (2 * 2 + 1, 512)
    assert visual.attnpool.num_heads == 8
    assert all(block.bn3.weight.abs().sum() == 0 for stage in (visual.layer1, visual.layer4) for block in stage)
    assert 0.03 < visual.attnpool.q_proj.weight.std().item() < 0.06  # N(0, 512^-1/2 = 0.044)

    visual.eval()
    images = _input("clip-resnet")
    with torch.no_grad():
        assert visual(images).shape == (2, 24)
        # Reference: torch's multi-head attention with the mean token as the only query.
        pool = visual.attnpool
        fmap = torch.randn(2, 512, 2, 2)
        x = fmap.flatten(2).permute(2, 0, 1)
        x = torch.cat([x.mean(dim=0, keepdim=True), x]) + pool.positional_embedding[:, None, :]
        expected, _ = F.multi_head_attention_forward(
            query=x[:1],
            key=x,
            value=x,
            embed_dim_to_check=512,
            num_heads=pool.num_heads,
            q_proj_weight=pool.q_proj.weight,
            k_proj_weight=pool.k_proj.weight,
            v_proj_weight=pool.v_proj.weight,
            in_proj_weight=None,
            in_proj_bias=torch.cat([pool.q_proj.bias, pool.k_proj.bias, pool.v_proj.bias]),
            bias_k=None,
            bias_v=None,
            add_zero_attn=False,
            dropout_p=0.0,
            out_proj_weight=pool.c_proj.weight,
            out_proj_bias=pool.c_proj.bias,
            use_separate_proj_weight=True,
            training=False,
            need_weights=False,
        )
        torch.testing.assert_close(pool(fmap), expected[0], atol=1e-5, rtol=1e-5)


# --------------------------------------------------------------------------------------------------
# --vision-weights PATH
# --------------------------------------------------------------------------------------------------


def test_path_weights_pth_and_safetensors(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    state = _timm_resnet18_state(num_classes=0)  # a backbone without head, like torchgeo's files
    torch.save(state, tmp_path / "r18.pth")
    save_file({k: v.contiguous() for k, v in state.items()}, tmp_path / "r18.safetensors")
    torch.save({"state_dict": {f"module.encoder_q.{k}": v for k, v in state.items()}}, tmp_path / "moco.pth.tar")
    for file in ("r18.pth", "r18.safetensors", "moco.pth.tar"):
        visual = ve.build_vision_encoder("moco-resnet18", weights=tmp_path / file, embed_dim=8)
        assert torch.equal(visual.conv1.weight, state["conv1.weight"]), file
        assert torch.equal(visual.layer4[1].bn2.running_var, state["layer4.1.bn2.running_var"]), file
        assert visual.fc.weight.shape == (8, 512)


def test_path_weights_head_loaded_only_when_it_fits(tmp_path: Path) -> None:
    state = _timm_resnet18_state(num_classes=8)
    torch.save(state, tmp_path / "with_head.pt")
    visual = ve.build_vision_encoder("moco-resnet18", weights="none", embed_dim=8)
    assert ve.load_vision_weights(visual, "moco-resnet18", tmp_path / "with_head.pt") == []
    assert torch.equal(visual.fc.weight, state["fc.weight"])
    other = ve.build_vision_encoder("moco-resnet18", weights="none", embed_dim=16)
    assert ve.load_vision_weights(other, "moco-resnet18", tmp_path / "with_head.pt") == ["fc.weight", "fc.bias"]


def test_path_weights_report_mismatches(tmp_path: Path) -> None:
    state = _timm_resnet18_state()
    del state["layer2.0.conv1.weight"]
    state["extra.weight"] = torch.zeros(3)
    torch.save(state, tmp_path / "broken.pth")
    with pytest.raises(CheckpointError) as info:
        ve.build_vision_encoder("moco-resnet18", weights=str(tmp_path / "broken.pth"))
    message = str(info.value)
    assert "missing 1: layer2.0.conv1.weight" in message and "unexpected 1: extra.weight" in message
    assert "\n" not in message

    torch.save(_timm_resnet18_state(), tmp_path / "r18.pth")
    with pytest.raises(CheckpointError, match="does not fit a moco-resnet50 encoder"):
        ve.build_vision_encoder("moco-resnet50", weights=tmp_path / "r18.pth")
    with pytest.raises(CheckpointError, match="does not exist"):
        ve.build_vision_encoder("clip-vit", weights=tmp_path / "nope.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a torch file")
    with pytest.raises(CheckpointError, match="cannot read vision weights"):
        ve.build_vision_encoder("clip-vit", weights=tmp_path / "junk.pth")


# --------------------------------------------------------------------------------------------------
# --vision-weights default: torchgeo download, offline error, torch hub cache
# --------------------------------------------------------------------------------------------------


def _resolves(host: str) -> bool:
    try:
        socket.getaddrinfo(host, 443)
    except OSError:
        return False
    return True


def test_default_weights_offline_raise_one_line_error(torch_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if _resolves("hf.co"):
        pytest.skip("network available: this test covers the offline failure only")
    monkeypatch.setattr(ve, "DOWNLOAD_TIMEOUT_S", 5.0)
    url = ve.torchgeo_weights_url("moco-resnet18")
    start = time.perf_counter()
    with pytest.raises(OfflineError) as info:
        ve.build_vision_encoder("moco-resnet18", weights="default")
    assert time.perf_counter() - start < 15
    message = str(info.value)
    assert "\n" not in message and url in message
    assert "--vision-weights PATH" in message and "--vision-weights none" in message
    assert str(ve.torchgeo_cache_path("moco-resnet18")) in message
    assert socket.getdefaulttimeout() is None  # the temporary download timeout was restored
    assert list((torch_home / "hub" / "checkpoints").iterdir()) == []  # no partial file left behind


def test_hf_hub_offline_does_not_touch_the_network(torch_home: Path, no_network: None, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(OfflineError, match="HF_HUB_OFFLINE"):
        ve.build_vision_encoder("moco-vit-s16", weights="default")


def test_default_weights_from_the_torch_hub_cache(torch_home: Path, no_network: None) -> None:
    cached = ve.torchgeo_cache_path("moco-resnet18")
    assert cached == torch_home / "hub" / "checkpoints" / "resnet18_sentinel2_all_moco-59bfdff9.pth"
    state = _timm_resnet18_state(num_classes=0)
    cached.parent.mkdir(parents=True)
    torch.save(state, cached)
    visual = ve.build_vision_encoder("moco-resnet18", weights="default", embed_dim=8)
    assert torch.equal(visual.conv1.weight, state["conv1.weight"])
    assert [n for n, p in visual.named_parameters() if p.requires_grad] == ["fc.weight", "fc.bias"]

    cached.write_bytes(b"truncated")
    with pytest.raises(CheckpointError, match="delete it to download again"):
        ve.build_vision_encoder("moco-resnet18", weights="default")


def test_clip_default_weights_are_random_init(torch_home: Path, no_network: None) -> None:
    visual = ve.build_vision_encoder("clip-vit", weights="default", embed_dim=8, **TINY["clip-vit"])
    assert all(p.requires_grad for p in visual.parameters())


class _FakeResponse(io.BytesIO):
    def info(self) -> email.message.Message:
        headers = email.message.Message()
        headers["Content-Length"] = str(len(self.getvalue()))
        return headers


def test_download_is_hash_checked(torch_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A served file whose SHA-256 does not start with the prefix in its name is rejected and not cached."""
    buffer = io.BytesIO()
    torch.save(_timm_resnet18_state(), buffer)
    monkeypatch.setattr(torch.hub, "urlopen", lambda request: _FakeResponse(buffer.getvalue()))
    with pytest.raises(CheckpointError, match="SHA-256 check"):
        ve.build_vision_encoder("moco-resnet18", weights="default")
    assert not ve.torchgeo_cache_path("moco-resnet18").exists()
    # Without the check the same (simulated) download is cached and loaded.
    monkeypatch.setattr(ve, "VERIFY_DOWNLOAD_HASH", False)
    visual = ve.build_vision_encoder("moco-resnet18", weights="default", embed_dim=8)
    assert ve.torchgeo_cache_path("moco-resnet18").is_file()
    assert torch.equal(visual.conv1.weight, _timm_resnet18_state()["conv1.weight"])
