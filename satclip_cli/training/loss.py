"""The symmetric CLIP loss over the global batch: features gathered from every rank, gradients kept.

Every rank gathers the (normalised) image and location features of all ranks with an
autograd-aware all-gather and computes the same loss over the whole global batch. The
all-gather's backward sums the gradient of each rank's copy of the loss into the features'
owner, and DDP then averages over ranks: each parameter receives exactly the gradient of the
single-process loss on the global batch, so the contrastive batch is global and nothing is
scaled by the number of GPUs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


def distributed_world_size() -> int:
    """Number of ranks of the default process group (1 when not distributed)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return 1


def gather_with_grad(features: torch.Tensor) -> torch.Tensor:
    """Concatenate ``features`` [B, D] of all ranks in rank order -> [world * B, D], differentiably."""
    if distributed_world_size() == 1:
        return features
    from torch.distributed.nn.functional import all_gather

    return torch.cat(all_gather(features.contiguous()), dim=0)


def clip_logits(
    image_features: torch.Tensor, location_features: torch.Tensor, logit_scale: torch.Tensor
) -> torch.Tensor:
    """Scaled cosine similarities [N, N] between images (rows) and locations (columns)."""
    images = F.normalize(image_features.float(), dim=1)
    locations = F.normalize(location_features.float(), dim=1)
    return logit_scale.exp() * images @ locations.t()


def symmetric_cross_entropy(logits: torch.Tensor) -> torch.Tensor:
    """Mean of image->location and location->image cross-entropy; matching pairs on the diagonal."""
    labels = torch.arange(logits.shape[0], device=logits.device)
    return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels)) / 2


class ClipLoss(nn.Module):
    """CLIP loss of a local batch of pairs against the global batch of all ranks.

    ``forward(image_features [B, D], location_features [B, D], logit_scale [])`` -> scalar:
    the same value on every rank (the loss of the global batch of ``world * B`` pairs).
    """

    def forward(
        self, image_features: torch.Tensor, location_features: torch.Tensor, logit_scale: torch.Tensor
    ) -> torch.Tensor:
        all_images = gather_with_grad(image_features)
        all_locations = gather_with_grad(location_features)
        return symmetric_cross_entropy(clip_logits(all_images, all_locations, logit_scale))


def backward_in_micro_batches(
    chunks: Sequence[Any],
    features: Callable[[Any], tuple[torch.Tensor, torch.Tensor]],
    logit_scale: torch.nn.Parameter,
    *,
    backward: Callable[[torch.Tensor], None] = torch.autograd.backward,
    check: Callable[[torch.Tensor], None] | None = None,
) -> torch.Tensor:
    """Gradients of the CLIP loss over ALL ``chunks`` (and all ranks) as one batch; returns the loss.

    ``features(chunk) -> (image [b, D], location [b, D])``. First every chunk's features are computed
    without gradients; the loss of the whole batch gives the gradient with respect to each feature;
    then each chunk is recomputed with gradients and back-propagated against its slice (``backward``,
    e.g. Lightning's ``manual_backward``), so only one chunk's activations are in memory at a time.
    Random-number states are replayed, so dropout masks match and the parameter gradients equal
    those of one big batch. ``check(loss)`` may raise before anything is back-propagated.
    """
    states, cached_images, cached_locations = [], [], []
    with torch.no_grad():
        for chunk in chunks:
            states.append(_rng_state(logit_scale.device))
            images, locations = features(chunk)
            cached_images.append(images)
            cached_locations.append(locations)
    images = torch.cat(cached_images).requires_grad_(True)
    locations = torch.cat(cached_locations).requires_grad_(True)
    scale = logit_scale.detach().requires_grad_(True)
    loss = symmetric_cross_entropy(clip_logits(gather_with_grad(images), gather_with_grad(locations), scale))
    if check is not None:
        check(loss)
    image_grads, location_grads, scale_grad = torch.autograd.grad(loss, [images, locations, scale])
    offset = 0
    for k, chunk in enumerate(chunks):
        _set_rng_state(logit_scale.device, states[k])
        chunk_images, chunk_locations = features(chunk)
        rows = slice(offset, offset + len(chunk_images))
        offset += len(chunk_images)
        surrogate = (chunk_images * image_grads[rows]).sum() + (chunk_locations * location_grads[rows]).sum()
        # The logit scale's gradient enters once; every backward uses every parameter (DDP needs that).
        surrogate = surrogate + logit_scale * (scale_grad if k == 0 else torch.zeros_like(scale_grad))
        backward(surrogate)
    return loss.detach()


def _rng_state(device: torch.device) -> tuple[torch.Tensor, torch.Tensor | None]:
    cuda_state = torch.cuda.get_rng_state(device) if device.type == "cuda" else None
    return torch.get_rng_state(), cuda_state


def _set_rng_state(device: torch.device, state: tuple[torch.Tensor, torch.Tensor | None]) -> None:
    torch.set_rng_state(state[0])
    if state[1] is not None:
        torch.cuda.set_rng_state(state[1], device)
