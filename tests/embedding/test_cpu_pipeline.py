"""The CPU path of an embedding run: whole batches of points per thread, same embeddings as one big batch."""

import threading

import numpy as np
import pytest
import torch

from satclip_cli.embedding.config import EmbedConfig
from satclip_cli.embedding.cpu_pipeline import THREAD_BATCH, threaded_cpu_embed_fn
from satclip_cli.embedding.model import EmbeddingModel
from satclip_cli.models.inference import make_embed_fn
from satclip_cli.models.location_encoder import build_location_encoder


@pytest.fixture(scope="module")
def encoder():
    torch.manual_seed(0)
    return build_location_encoder(legendre_polys=12, sh_method="exact").eval()


def _points(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([rng.uniform(-180, 180, n), np.degrees(np.arcsin(rng.uniform(-1, 1, n)))], axis=1)


def _record_calls(encoder: torch.nn.Module) -> tuple[list[tuple[int, int, int]], torch.utils.hooks.RemovableHandle]:
    """Record (thread id, batch rows, torch threads) of every forward call of ``encoder``."""
    calls: list[tuple[int, int, int]] = []

    def hook(module: torch.nn.Module, args: tuple) -> None:
        calls.append((threading.get_ident(), args[0].shape[0], torch.get_num_threads()))

    return calls, encoder.register_forward_pre_hook(hook)


@pytest.mark.parametrize("n", [0, 1, 7, 3 * THREAD_BATCH + 5])
@pytest.mark.parametrize("threads", [1, 2])
def test_same_embeddings_as_one_big_batch(encoder, n, threads):
    points = _points(n)
    whole = make_embed_fn(encoder, "cpu", torch.float32, batch_size=1 << 20)(points)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        ours = threaded_cpu_embed_fn(encoder, torch.float32, 16384, encoder.embed_dim)(points)
        assert torch.get_num_threads() == threads  # restored after the worker threads
    finally:
        torch.set_num_threads(before)
    assert ours.shape == (n, encoder.embed_dim) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, whole, rtol=0, atol=1e-5)


def test_batches_run_in_worker_threads_with_single_threaded_kernels(encoder):
    calls, handle = _record_calls(encoder)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        threaded_cpu_embed_fn(encoder, torch.float32, 16384, encoder.embed_dim)(_points(2 * THREAD_BATCH + 10))
        threaded_cpu_embed_fn(encoder, torch.float32, 16384, encoder.embed_dim)(_points(100))  # split for 2 threads
        threaded_cpu_embed_fn(encoder, torch.float32, 1000, encoder.embed_dim)(_points(2500))  # batch_size caps
    finally:
        handle.remove()
        torch.set_num_threads(before)
    main = threading.get_ident()
    assert all(thread != main and torch_threads == 1 for thread, _, torch_threads in calls)
    assert sorted(rows for _, rows, _ in calls) == sorted([THREAD_BATCH, THREAD_BATCH, 10, 50, 50, 1000, 1000, 500])


def test_a_cpu_model_of_an_embedding_run_uses_thread_batches(fixtures_dir, tmp_path):
    checkpoint = fixtures_dir / "satclip_resnet18_l10.ckpt"
    config = EmbedConfig(model=str(checkpoint), device="cpu", output=tmp_path / "x.npy", batch_size=16384)
    model = EmbeddingModel.load(config)
    calls, handle = _record_calls(model.encoder)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        points = _points(3 * THREAD_BATCH)
        embedded = model.embed_fn(points)
    finally:
        handle.remove()
        torch.set_num_threads(before)
    assert [rows for _, rows, _ in calls] == [THREAD_BATCH] * 3 and all(t == 1 for _, _, t in calls)
    expected = make_embed_fn(model.encoder, "cpu", torch.float32, batch_size=1 << 20)(points)
    np.testing.assert_allclose(embedded, expected, rtol=0, atol=1e-5)
