"""Starting weights: local state-dict files (any known prefix); published MoCo weights (cache, download, offline)."""

from __future__ import annotations

import email.message
import io
import socket
import time
from pathlib import Path

import pytest
import torch

from satclip_cli.cli.options import flag_name
from satclip_cli.errors import CheckpointError, OfflineError
from satclip_cli.models.vision import pretrained
from satclip_cli.models.vision.builder import build_vision_encoder
from satclip_cli.models.vision.pretrained import load_vision_weights, torchgeo_cache_path, torchgeo_weights_url
from satclip_cli.models.vision.specs import vision_encoder_from_hparams
from tests.models.vision.helpers import TINY, visual_state


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


@pytest.mark.shared_data  # the full ViT vision tower (10 MB)
def test_fixture_checkpoint_as_vision_weights_path(shared_fixtures_dir: Path) -> None:
    """A whole SatCLIP checkpoint is valid ``vision_weights``: the ``model.visual.`` prefix is found."""
    path = shared_fixtures_dir / "satclip_vit4w128_l10_closed.ckpt"
    hparams, state = visual_state(path)
    name, kwargs = vision_encoder_from_hparams(hparams)
    visual = build_vision_encoder(name, weights=path, **kwargs)
    for key, value in visual.state_dict().items():
        assert torch.equal(value, state[key]), key


def test_path_weights_pth_and_safetensors(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    state = _timm_resnet18_state(num_classes=0)  # a backbone without head, like torchgeo's files
    torch.save(state, tmp_path / "r18.pth")
    save_file({k: v.contiguous() for k, v in state.items()}, tmp_path / "r18.safetensors")
    torch.save({"state_dict": {f"module.encoder_q.{k}": v for k, v in state.items()}}, tmp_path / "moco.pth.tar")
    for file in ("r18.pth", "r18.safetensors", "moco.pth.tar"):
        visual = build_vision_encoder("moco-resnet18", weights=tmp_path / file, embed_dim=8)
        assert torch.equal(visual.conv1.weight, state["conv1.weight"]), file
        assert torch.equal(visual.layer4[1].bn2.running_var, state["layer4.1.bn2.running_var"]), file
        assert visual.fc.weight.shape == (8, 512)


def test_path_weights_head_loaded_only_when_it_fits(tmp_path: Path) -> None:
    state = _timm_resnet18_state(num_classes=8)
    torch.save(state, tmp_path / "with_head.pt")
    visual = build_vision_encoder("moco-resnet18", weights="none", embed_dim=8)
    assert load_vision_weights(visual, "moco-resnet18", tmp_path / "with_head.pt") == []
    assert torch.equal(visual.fc.weight, state["fc.weight"])
    other = build_vision_encoder("moco-resnet18", weights="none", embed_dim=16)
    assert load_vision_weights(other, "moco-resnet18", tmp_path / "with_head.pt") == ["fc.weight", "fc.bias"]


def test_path_weights_report_mismatches(tmp_path: Path) -> None:
    state = _timm_resnet18_state()
    del state["layer2.0.conv1.weight"]
    state["extra.weight"] = torch.zeros(3)
    torch.save(state, tmp_path / "broken.pth")
    with pytest.raises(CheckpointError) as info:
        build_vision_encoder("moco-resnet18", weights=str(tmp_path / "broken.pth"))
    message = str(info.value)
    assert "missing 1: layer2.0.conv1.weight" in message and "unexpected 1: extra.weight" in message
    assert "\n" not in message

    torch.save(_timm_resnet18_state(), tmp_path / "r18.pth")
    with pytest.raises(CheckpointError, match="does not fit a moco-resnet50 encoder"):
        build_vision_encoder("moco-resnet50", weights=tmp_path / "r18.pth")
    with pytest.raises(CheckpointError, match="does not exist"):
        build_vision_encoder("clip-vit", weights=tmp_path / "nope.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a torch file")
    with pytest.raises(CheckpointError, match="cannot read vision weights"):
        build_vision_encoder("clip-vit", weights=tmp_path / "junk.pth")


def _resolves(host: str) -> bool:
    try:
        socket.getaddrinfo(host, 443)
    except OSError:
        return False
    return True


def test_default_weights_offline_raise_one_line_error(torch_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if _resolves("hf.co"):
        pytest.skip("network available: this test covers the offline failure only")
    monkeypatch.setattr(pretrained, "DOWNLOAD_TIMEOUT_S", 5.0)
    url = torchgeo_weights_url("moco-resnet18")
    start = time.perf_counter()
    with pytest.raises(OfflineError) as info:
        build_vision_encoder("moco-resnet18", weights="default")
    assert time.perf_counter() - start < 15
    message = str(info.value)
    assert "\n" not in message and url in message
    assert "vision_weights PATH" in message and "vision_weights none" in message
    shown = info.value.message_for(flag_name)  # what `satclip train` prints
    assert "--vision-weights PATH" in shown and "--vision-weights none" in shown
    assert str(torchgeo_cache_path("moco-resnet18")) in message
    assert socket.getdefaulttimeout() is None  # the temporary download timeout was restored
    assert list((torch_home / "hub" / "checkpoints").iterdir()) == []  # no partial file left behind


def test_hf_hub_offline_does_not_touch_the_network(torch_home: Path, no_network: None, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(OfflineError, match="HF_HUB_OFFLINE"):
        build_vision_encoder("moco-vit-s16", weights="default")


def test_default_weights_from_the_torch_hub_cache(torch_home: Path, no_network: None) -> None:
    cached = torchgeo_cache_path("moco-resnet18")
    assert cached == torch_home / "hub" / "checkpoints" / "resnet18_sentinel2_all_moco-59bfdff9.pth"
    state = _timm_resnet18_state(num_classes=0)
    cached.parent.mkdir(parents=True)
    torch.save(state, cached)
    visual = build_vision_encoder("moco-resnet18", weights="default", embed_dim=8)
    assert torch.equal(visual.conv1.weight, state["conv1.weight"])
    assert [n for n, p in visual.named_parameters() if p.requires_grad] == ["fc.weight", "fc.bias"]

    cached.write_bytes(b"truncated")
    with pytest.raises(CheckpointError, match="delete it to download again"):
        build_vision_encoder("moco-resnet18", weights="default")


def test_clip_default_weights_are_random_init(torch_home: Path, no_network: None) -> None:
    visual = build_vision_encoder("clip-vit", weights="default", embed_dim=8, **TINY["clip-vit"])
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
        build_vision_encoder("moco-resnet18", weights="default")
    assert not torchgeo_cache_path("moco-resnet18").exists()
    # Without the check the same (simulated) download is cached and loaded.
    monkeypatch.setattr(pretrained, "VERIFY_DOWNLOAD_HASH", False)
    visual = build_vision_encoder("moco-resnet18", weights="default", embed_dim=8)
    assert torchgeo_cache_path("moco-resnet18").is_file()
    assert torch.equal(visual.conv1.weight, _timm_resnet18_state()["conv1.weight"])
