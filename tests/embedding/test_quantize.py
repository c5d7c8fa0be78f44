"""int8 / float16 output encodings: levels, round trip, the global model range, the cosine bound."""

import json

import numpy as np
import pytest

from satclip_cli.embedding.config import EmbedConfig
from satclip_cli.embedding.job import EmbeddingModel
from satclip_cli.embedding.quantize import (
    INT8_NODATA,
    OutputEncoding,
    Quantization,
    check_output_encoding,
    fibonacci_lonlat,
    mean_cosine,
    model_range,
)
from satclip_cli.errors import InputError


def test_levels_span_the_range_and_clip_outside_it():
    q = Quantization.from_range(np.array([-1.0, 0.0]), np.array([1.0, 10.0]))
    values = np.array([[-1.0, 0.0], [1.0, 10.0], [5.0, -3.0], [np.nan, 5.0]])
    levels = q.encode(values)
    assert levels.dtype == np.int8
    assert levels[0].tolist() == [-127, -127] and levels[1].tolist() == [127, 127]
    assert levels[2].tolist() == [127, -127] and levels[3, 0] == INT8_NODATA
    decoded = q.decode(levels)
    assert np.isnan(decoded[3, 0])
    np.testing.assert_allclose(decoded[:2], values[:2], atol=1e-6)
    inside = np.array([[0.3, 4.321]])
    assert (np.abs(q.decode(q.encode(inside)) - inside) <= q.scale / 2 + 1e-6).all()


def test_band_axis_and_json_round_trip():
    q = Quantization.from_range(np.array([0.0, -2.0, 1.0]), np.array([1.0, 2.0, 3.0]))
    values = np.random.default_rng(0).uniform(0, 1, (3, 4, 5))
    np.testing.assert_array_equal(q.encode(values, band_axis=0), q.encode(values.transpose(1, 2, 0)).transpose(2, 0, 1))
    back = Quantization.from_json(q.to_json())
    np.testing.assert_array_equal(back.scale, q.scale) and np.testing.assert_array_equal(back.offset, q.offset)
    assert json.loads(q.to_json())["nodata"] == -128
    overall = q.overall()
    assert overall.scale.shape == (1,) and overall.encode(np.array([[-2.0, 3.0]])).tolist() == [[-127, 127]]


def test_fibonacci_lattice_covers_the_sphere_evenly():
    lonlat = fibonacci_lonlat(10000)
    assert lonlat[:, 0].min() >= -180 and lonlat[:, 0].max() < 180 and abs(lonlat[:, 1]).max() < 90
    north = (lonlat[:, 1] > 0).mean()
    assert abs(north - 0.5) < 0.01  # equal area: half the points in each hemisphere


def test_settings_exclude_each_other():
    assert check_output_encoding("float16", None) == "float16" and check_output_encoding("float32", "int8") == "int8"
    with pytest.raises(InputError, match="quantize"):
        check_output_encoding("float16", "int8")
    with pytest.raises(InputError, match="output_dtype"):
        check_output_encoding("float64", None)
    assert OutputEncoding("float16").encode(np.ones((2, 2), np.float32)).dtype == np.float16


def test_int8_round_trip_of_a_real_model_meets_the_cosine_bound(fixtures_dir, tmp_path):
    config = EmbedConfig(model=str(fixtures_dir / "satclip_resnet18_l10.ckpt"), device="cpu", output=tmp_path / "x")
    model = EmbeddingModel.load(config)
    q = Quantization.from_range(*model_range(model.embed_fn, points=8192))
    rng = np.random.default_rng(1)
    points = np.stack([rng.uniform(-180, 180, 5000), np.degrees(np.arcsin(rng.uniform(-1, 1, 5000)))], axis=1)
    values = model.embed_fn(points)
    assert mean_cosine(values, q.decode(q.encode(values))) >= 0.999
    overall = q.overall()  # the Zarr encoding: one scale for all bands
    assert mean_cosine(values, overall.decode(overall.encode(values))) >= 0.999
