"""Contrastive pretraining as a LightningModule: global-batch CLIP loss, feature-cache accumulation.

One optimiser step sees ``accumulate`` micro-batches of ``batch_size`` pairs on each of the
world's ranks, all in ONE contrastive batch (``accumulate * batch_size * world`` pairs). With
``accumulate > 1`` the features of every micro-batch are first computed without gradients
(cheap in memory); the loss over all of them gives the gradient with respect to each feature;
each micro-batch is then recomputed with gradients and back-propagated against its slice (the
"gradient cache" of Gao et al. 2021, as open_clip's feature-cache accumulation). Random-number
states are replayed so the recomputation sees the same dropout masks: the gradient equals the
one of a single big batch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import lightning.pytorch as pl
import torch

from satclip_cli.models.checkpoints import CHECKPOINT_INFO_KEY
from satclip_cli.models.satclip import SatCLIPModel
from satclip_cli.training.loss import ClipLoss, backward_in_micro_batches


class NonFiniteLossError(RuntimeError):
    """The training loss became NaN or infinite; the step was not applied."""


def no_weight_decay(name: str, parameter: torch.nn.Parameter) -> bool:
    """Biases, gains of norm layers and the logit scale get no weight decay (as CLIP)."""
    return parameter.ndim < 2 or "bn" in name or "ln" in name or "bias" in name or "logit_scale" in name


class SatCLIPLightningModule(pl.LightningModule):
    """Trains a :class:`SatCLIPModel` on batches ``{"image": [B, 12, H, W] uint16-valued, "point": [B, 2]}``.

    ``augment(images, points, train) -> (images float32 [B, C, S, S], points float64 [B, 2])`` runs
    on the accelerator (random crop, flips, blur, coordinate jitter when ``train``). Batches with
    ``"features"`` instead of ``"image"`` (cached backbone features [B, F]) go through
    ``image_head`` only. ``official_hparams`` are stored as the checkpoint's ``hyper_parameters``
    (the original names, so the original loader reads our checkpoints); ``extra_checkpoint_info``
    is stored under the checkpoint key ``satclip_cli`` (:data:`~satclip_cli.models.checkpoints.CHECKPOINT_INFO_KEY`).
    """

    def __init__(
        self,
        model: SatCLIPModel,
        augment: torch.nn.Module,
        *,
        official_hparams: dict[str, Any],
        extra_checkpoint_info: dict[str, Any] | None = None,
        lr: float = 1e-4,
        weight_decay: float = 0.01,
        accumulate: int = 1,
        seed: int = 0,
        image_head: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        super().__init__()
        self.model = model
        self.augment = augment
        self.loss_fn = ClipLoss()
        self.lr = lr
        self.weight_decay = weight_decay
        self.accumulate = accumulate
        self.seed = seed
        self.image_head = image_head
        self.extra_checkpoint_info = dict(extra_checkpoint_info or {})
        self.automatic_optimization = False
        self.save_hyperparameters(official_hparams)

    # ------------------------------------------------------------------ features

    def _step_generator(self, batch_idx: int) -> torch.Generator:
        """Randomness of one training step from (seed, epoch, step, rank) alone, so resuming repeats it.

        Also reseeds torch's global generator (dropout) the same way.
        """
        step_seed = hash((self.seed, self.current_epoch, batch_idx, self.global_rank)) & 0x7FFF_FFFF_FFFF
        torch.manual_seed(step_seed)
        return torch.Generator().manual_seed(step_seed)

    def _inputs(
        self, batch: dict[str, torch.Tensor], train: bool, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        points = batch["point"]
        if "features" in batch:  # cached backbone features [B, V, F] of V views
            features = batch["features"]
            view = torch.zeros(len(features), dtype=torch.long)
            if train:
                view = torch.randint(features.shape[1], (len(features),), generator=generator)
                if self.augment.jitter_km > 0:
                    points = self._jitter(points.double(), generator)
            chosen = features[torch.arange(len(features)), view.to(features.device)]
            return chosen.float(), points.double()
        return self.augment(batch["image"], points, train=train, generator=generator)

    def _jitter(self, points: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """Points moved uniformly within a disc of ``augment.jitter_km`` (for cached-feature batches)."""
        from satclip_cli.training.augmentations import jitter_points

        draws = torch.rand(2, len(points), generator=generator, dtype=torch.float64).to(points.device)
        distance = self.augment.jitter_km * draws[0].sqrt()
        return jitter_points(points, distance, 2 * torch.pi * draws[1])

    def _encode_images(self, inputs: torch.Tensor) -> torch.Tensor:
        if self.image_head is not None and inputs.ndim == 2:
            return self.image_head(inputs)
        return self.model.encode_image(inputs)

    def _features(self, inputs: torch.Tensor, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self._encode_images(inputs), self.model.encode_location(points)

    # ------------------------------------------------------------------- training

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        optimizer = self.optimizers()
        inputs, points = self._inputs(batch, train=True, generator=self._step_generator(batch_idx))
        optimizer.zero_grad()
        if self.accumulate == 1:
            loss = self.loss_fn(*self._features(inputs, points), self.model.logit_scale)
            self._check_finite(loss)
            self.manual_backward(loss)
        else:
            loss = self._feature_cache_backward(inputs, points)
        optimizer.step()
        self.model.clamp_logit_scale()
        self.log("train_loss", loss.detach(), prog_bar=True, sync_dist=False)
        self.log("logit_scale", self.model.logit_scale.detach().exp(), sync_dist=False)
        return loss.detach()

    def _feature_cache_backward(self, inputs: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
        """Back-propagate the loss of all micro-batches as one contrastive batch; returns the loss."""
        chunks = list(zip(inputs.chunk(self.accumulate), points.chunk(self.accumulate), strict=True))
        return backward_in_micro_batches(
            chunks,
            lambda chunk: self._features(*chunk),
            self.model.logit_scale,
            backward=self.manual_backward,
            check=self._check_finite,
        )

    def _check_finite(self, loss: torch.Tensor) -> None:
        if not torch.isfinite(loss):
            raise NonFiniteLossError(f"the training loss became {loss.item()} at step {self.global_step}")

    # ----------------------------------------------------------------- validation

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        inputs, points = self._inputs(batch, train=False)
        loss = self.loss_fn(*self._features(inputs, points), self.model.logit_scale)
        self.log("val_loss", loss, prog_bar=True, sync_dist=True, batch_size=len(points))
        return loss

    # ------------------------------------------------------------------- optimiser

    def configure_optimizers(self) -> torch.optim.Optimizer:
        """AdamW; no weight decay on biases, norm gains and the logit scale; frozen weights left out."""
        decay, no_decay = [], []
        for name, parameter in self.model.named_parameters():
            if parameter.requires_grad:
                (no_decay if no_weight_decay(name, parameter) else decay).append(parameter)
        groups = [{"params": no_decay, "weight_decay": 0.0}, {"params": decay, "weight_decay": self.weight_decay}]
        return torch.optim.AdamW(groups, lr=self.lr)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint[CHECKPOINT_INFO_KEY] = self.extra_checkpoint_info
