"""The global-batch CLIP loss: DDP over 2 CPU processes (gloo) equals one process on the global batch,
and feature-cache accumulation equals one big batch, in loss and in every parameter's gradient."""

from __future__ import annotations

import math
import os
import socket

import pytest
import torch
import torch.multiprocessing as mp
import torch.nn.functional as F
from torch import nn

from satclip_cli.training.loss import ClipLoss, backward_in_micro_batches

GLOBAL_BATCH = 8
DIM_IMAGE, DIM_POINT, EMBED = 12, 2, 6


class TinyPair(nn.Module):
    """An 'image' tower with dropout and a 'location' tower; enough to check gradients."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.image = nn.Sequential(nn.Linear(DIM_IMAGE, 16), nn.Dropout(0.5), nn.ReLU(), nn.Linear(16, EMBED))
        self.location = nn.Sequential(nn.Linear(DIM_POINT, 16), nn.Tanh(), nn.Linear(16, EMBED))
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def forward(self, images: torch.Tensor, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.image(images), self.location(points)


def global_batch() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    return torch.randn(GLOBAL_BATCH, DIM_IMAGE, generator=generator), torch.randn(
        GLOBAL_BATCH, DIM_POINT, generator=generator
    )


def reference_loss(image_features, location_features, logit_scale):
    """CLIP's loss written out directly."""
    images = image_features / image_features.norm(dim=1, keepdim=True)
    locations = location_features / location_features.norm(dim=1, keepdim=True)
    logits = logit_scale.exp() * images @ locations.t()
    labels = torch.arange(len(images))
    return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels)) / 2


def gradients(model: nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.grad.detach().clone() for name, p in model.named_parameters()}


def test_single_process_loss_is_clips():
    model = TinyPair().eval()
    images, points = global_batch()
    features = model(images, points)
    assert ClipLoss()(*features, model.logit_scale).item() == pytest.approx(
        reference_loss(*features, model.logit_scale).item(), rel=1e-6
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ddp_worker(rank: int, world: int, port: int, accumulate: int, results: dict) -> None:
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        model = TinyPair().eval()  # eval: dropout off, so both ranks' features are deterministic
        ddp = DistributedDataParallel(model)
        images, points = global_batch()
        local = slice(rank * GLOBAL_BATCH // world, (rank + 1) * GLOBAL_BATCH // world)
        if accumulate == 1:
            loss = ClipLoss()(*ddp(images[local], points[local]), model.logit_scale)
            loss.backward()
        else:
            chunks = list(zip(images[local].chunk(accumulate), points[local].chunk(accumulate), strict=True))
            loss = backward_in_micro_batches(chunks, lambda chunk: ddp(*chunk), model.logit_scale)
        results[rank] = (loss.item(), gradients(model))
    finally:
        dist.destroy_process_group()


@pytest.mark.parametrize("accumulate", [1, 2])
def test_ddp_over_two_processes_equals_one_process_on_the_global_batch(accumulate):
    model = TinyPair().eval()
    images, points = global_batch()
    expected_loss = reference_loss(*model(images, points), model.logit_scale)
    expected_loss.backward()
    expected = gradients(model)

    with mp.Manager() as manager:
        results = manager.dict()
        mp.spawn(_ddp_worker, args=(2, _free_port(), accumulate, results), nprocs=2, join=True)
        results = dict(results)
    for rank in (0, 1):
        loss, grads = results[rank]
        assert loss == pytest.approx(expected_loss.item(), rel=1e-6)
        for name, grad in expected.items():
            torch.testing.assert_close(grads[name], grad, rtol=1e-5, atol=1e-7, msg=f"rank {rank} {name}")


def test_feature_cache_accumulation_equals_one_big_batch_with_dropout():
    images, points = global_batch()
    model = TinyPair().train()  # dropout on: the replayed random state must give the same masks

    torch.manual_seed(5)
    big = TinyPair().train()
    big.load_state_dict(model.state_dict())
    # one big batch, drawing dropout masks chunk by chunk exactly as the accumulation does
    torch.manual_seed(5)
    parts = [big(i, p) for i, p in zip(images.chunk(4), points.chunk(4), strict=True)]
    expected_loss = reference_loss(torch.cat([a for a, _ in parts]), torch.cat([b for _, b in parts]), big.logit_scale)
    expected_loss.backward()

    torch.manual_seed(5)
    chunks = list(zip(images.chunk(4), points.chunk(4), strict=True))
    loss = backward_in_micro_batches(chunks, lambda chunk: model(*chunk), model.logit_scale)
    assert loss.item() == pytest.approx(expected_loss.item(), rel=1e-6)
    for name, grad in gradients(big).items():
        torch.testing.assert_close(gradients(model)[name], grad, rtol=1e-5, atol=1e-7, msg=name)


def test_plain_gradient_accumulation_would_not_be_the_same():
    """The point of the feature cache: summing per-chunk losses (what plain accumulation does) differs."""
    model = TinyPair().eval()
    images, points = global_batch()
    per_chunk = sum(
        reference_loss(*model(i, p), model.logit_scale) / 4
        for i, p in zip(images.chunk(4), points.chunk(4), strict=True)
    )
    whole = reference_loss(*model(images, points), model.logit_scale)
    assert abs(per_chunk.item() - whole.item()) > 0.1


def test_a_check_can_stop_before_anything_is_back_propagated():
    model = TinyPair().eval()
    images, points = global_batch()

    def refuse(loss: torch.Tensor) -> None:
        raise FloatingPointError("stop")

    with pytest.raises(FloatingPointError):
        backward_in_micro_batches([(images, points)], lambda chunk: model(*chunk), model.logit_scale, check=refuse)
    assert all(p.grad is None for p in model.parameters())
