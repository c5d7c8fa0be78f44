"""Device/dtype selection and the batched embedding function."""

import numpy as np
import pytest
import torch

from satclip_cli.errors import InputError
from satclip_cli.models.inference import make_embed_fn, select_device, select_dtype
from satclip_cli.models.location_encoder import build_location_encoder


def test_auto_device_is_available():
    device = select_device("auto")
    assert device.type in ("cpu", "cuda", "mps")
    assert select_device("cpu").type == "cpu"


def test_unavailable_or_unknown_device_is_an_input_error():
    with pytest.raises(InputError):
        select_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="CUDA"):
            select_device("cuda")
    with pytest.raises(InputError):
        select_dtype("float16", torch.device("cpu"))


def test_embed_fn_batches_give_identical_results():
    torch.manual_seed(0)
    encoder = build_location_encoder(legendre_polys=6, embed_dim=12, capacity=32).eval()
    rng = np.random.default_rng(0)
    lonlat = np.stack([rng.uniform(-180, 180, 101), rng.uniform(-90, 90, 101)], 1)
    whole = make_embed_fn(encoder, "cpu", torch.float64, batch_size=1000)(lonlat)
    batched = make_embed_fn(encoder, "cpu", torch.float64, batch_size=7)(lonlat)
    assert whole.shape == (101, 12) and whole.dtype == np.float32
    np.testing.assert_array_equal(whole, batched)
    single = make_embed_fn(encoder, "cpu", torch.float32, batch_size=64)(lonlat)
    np.testing.assert_allclose(single, whole, atol=1e-4)
    with pytest.raises(InputError):
        make_embed_fn(encoder, batch_size=0)
