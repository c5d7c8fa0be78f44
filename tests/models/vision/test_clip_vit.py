"""The CLIP-style ViT: an official checkpoint's weights load strictly and samples do not mix."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from satclip_cli.models.vision.builder import build_vision_encoder
from satclip_cli.models.vision.specs import vision_encoder_from_hparams
from tests.models.vision.helpers import visual_state


@pytest.mark.shared_data  # the full ViT vision tower (10 MB)
def test_fixture_vit_loads_strictly_and_runs(shared_fixtures_dir: Path) -> None:
    hparams, state = visual_state(shared_fixtures_dir / "satclip_vit4w128_l10_closed.ckpt")
    name, kwargs = vision_encoder_from_hparams(hparams)
    assert name == "clip-vit"
    visual = build_vision_encoder(name, weights="none", **kwargs)
    assert set(visual.state_dict()) == set(state)
    visual.load_state_dict(state, strict=True)
    visual.eval()
    images = torch.rand(2, 13, 256, 256, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        out = visual(images)
        single = visual(images[1:])
    assert out.shape == (2, 256) and out.dtype == torch.float32 and torch.isfinite(out).all()
    # Sequence-first attention must not mix samples: one image alone gives the same embedding.
    torch.testing.assert_close(single[0], out[1], atol=1e-5, rtol=1e-5)
    assert not torch.allclose(out[0], out[1])
