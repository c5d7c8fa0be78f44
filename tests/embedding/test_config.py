"""``EmbedConfig``: one run's settings, checked before a model is loaded; messages name settings, not flags."""

from pathlib import Path

import pytest

from satclip_cli.embedding.config import EmbedConfig
from satclip_cli.errors import InputError


def _error(config: EmbedConfig) -> InputError:
    with pytest.raises(InputError) as caught:
        config.validate()
    return caught.value


def test_paths_become_paths(tmp_path):
    config = EmbedConfig(model="m", output=str(tmp_path / "o.tif"), like=str(tmp_path / "l.tif"))
    assert config.output == tmp_path / "o.tif" and isinstance(config.like, Path) and config.is_raster
    assert not EmbedConfig(model="m", output="o.npy", input="in.csv").is_raster


def test_vector_or_raster_not_both_nor_neither(tmp_path):
    both = _error(EmbedConfig(model="m", output="o.tif", input=tmp_path / "in.csv", bbox=(0, 0, 1, 1)))
    assert str(both) == "give either input (vector) or bbox/resolution/like (raster), not both"
    assert both.message_for(lambda name: "INPUT" if name == "input" else "--" + name) == (
        "give either INPUT (vector) or --bbox/--resolution/--like (raster), not both"
    )
    neither = _error(EmbedConfig(model="m", output="o.npy"))
    assert str(neither) == "give an input file, or bbox W S E N with resolution (or like) for a raster"


def test_missing_input_file(tmp_path):
    assert "not found" in str(_error(EmbedConfig(model="m", output="o.npy", input=tmp_path / "missing.gpkg")))


def test_raster_grid_settings(tmp_path):
    like = _error(EmbedConfig(model="m", output="o.tif", like=tmp_path / "x.tif", crs="EPSG:3035"))
    assert str(like) == "like copies the whole grid; do not combine it with bbox/resolution/crs"
    assert like.message_for(lambda name: "--" + name).startswith("--like copies the whole grid")
    half = _error(EmbedConfig(model="m", output="o.tif", resolution=0.5))
    assert str(half) == "a raster needs both bbox W S E N and resolution (or like FILE)"
    EmbedConfig(model="m", output="o.tif", bbox=(0, 0, 1, 1), resolution=0.5, crs="EPSG:4326").validate()
    EmbedConfig(model="m", output="o.tif", like=tmp_path / "x.tif").validate()  # its existence: when read
