"""``load_model``: names and files to ready encoders."""

import pytest

from satclip_cli.errors import CheckpointError, OfflineError
from satclip_cli.models import load_model


def test_local_checkpoint_and_sh_override(fixtures_dir, closed_form_checkpoint):
    encoder = load_model(str(fixtures_dir / "satclip_resnet18_l10.ckpt"))
    assert encoder.config.legendre_polys == 10 and not encoder.training
    with pytest.raises(CheckpointError, match="legacy"):
        load_model(str(closed_form_checkpoint), sh_method="legacy")


def test_unknown_names_and_uncached_models_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(CheckpointError, match="unknown model"):
        load_model("satclip-resnet99-l3", cache_dir=tmp_path)
    with pytest.raises(OfflineError, match="pass model /path/to/"):
        load_model("satclip-vit16-l40", cache_dir=tmp_path)


def test_the_old_import_path_still_gives_load_model():
    """``satclip_cli.model_loading.load_model`` stays importable for one release, as a re-export."""
    from satclip_cli import model_loading
    from satclip_cli.models import registry

    assert model_loading.load_model is registry.load_model
