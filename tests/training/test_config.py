import pytest

from satclip_cli.cli.options import flag_name
from satclip_cli.errors import InputError
from satclip_cli.training.config import TrainConfig


def test_defaults_reproduce_the_released_models():
    config = TrainConfig()
    assert (config.embed_dim, config.capacity, config.num_hidden_layers, config.legendre_polys) == (256, 512, 2, 10)
    assert (config.max_epochs, config.lr, config.weight_decay, config.vision) == (500, 1e-4, 0.01, "moco-resnet18")
    assert config.location_dropout == 0.5 and config.location_dtype == "float64"


def test_yaml_then_flags(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("max-epochs: 7\nlr: 0.001\nvision_layers: [1, 1, 1, 1]\n")
    config = TrainConfig.from_yaml(path).override(lr=None, batch_size=16)  # None: flag not given
    assert (config.max_epochs, config.lr, config.batch_size, config.vision_layers) == (7, 0.001, 16, [1, 1, 1, 1])


@pytest.mark.parametrize("text", ["learning_rat: 1\n", "- a list\n", "a: [unclosed\n"])
def test_bad_yaml_is_a_clear_error(tmp_path, text):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(InputError):
        TrainConfig.from_yaml(path)


@pytest.mark.parametrize(
    ("changes", "setting_name"),
    [
        ({"data": ""}, "data"),
        ({"max_epochs": 0}, "max_epochs"),
        ({"val_fraction": 1.0}, "val_fraction"),
        ({"lr": 0.0}, "lr"),
        ({"precision": "fp8"}, "precision"),
        ({"accelerator": "tpu"}, "accelerator"),
        ({"location_dropout": 1.0}, "location_dropout"),
        ({"location_dtype": "float16"}, "location_dtype"),
        ({"cache_features": True, "cache_views": 3}, "cache_views"),
    ],
)
def test_invalid_settings_are_one_line_errors(changes, setting_name):
    with pytest.raises(InputError, match=rf"\b{setting_name}\b") as caught:
        TrainConfig(data="ds").override(**changes).validate()
    assert flag_name(setting_name) in caught.value.message_for(flag_name)  # what `satclip train` prints
