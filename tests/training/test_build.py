"""The model a run trains: the vision encoder fits the bands; checkpoints carry the official hyper-parameters."""

import pytest

from satclip_cli.cli.options import flag_name
from satclip_cli.errors import InputError
from satclip_cli.training.build import build_module, location_encoder_config
from satclip_cli.training.config import TrainConfig


def test_moco_encoders_need_the_12_sentinel_2_bands() -> None:
    config = TrainConfig(vision="moco-resnet18", vision_weights="none")
    with pytest.raises(InputError, match="use vision clip-vit or clip-resnet") as caught:
        build_module(config, bands=3, pixel_scale=255.0)
    assert "use --vision clip-vit or clip-resnet" in caught.value.message_for(flag_name)


def test_the_module_stores_the_official_hyper_parameters(tiny_training: dict) -> None:
    config = TrainConfig().override(**tiny_training)
    module = build_module(config, bands=3, pixel_scale=255.0)
    hparams = dict(module.hparams)
    assert (hparams["le_type"], hparams["pe_type"], hparams["legendre_polys"]) == ("sphericalharmonics", "siren", 4)
    assert (hparams["vision_layers"], hparams["vision_width"], hparams["in_channels"]) == (1, 32, 3)
    assert (hparams["embed_dim"], hparams["learning_rate"]) == (16, config.lr)
    assert module.extra_checkpoint_info["location_encoder"] == location_encoder_config(config).to_dict()
    assert location_encoder_config(config).sh_method == "exact"
