"""CLIP's ModifiedResNet: state-dict layout, CLIP initialisation, attention pooling against torch's."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from satclip_cli.models.vision.builder import build_vision_encoder
from tests.models.vision.helpers import TINY, tiny_input


def test_tiny_clip_resnet_layout_init_and_attention_pool() -> None:
    visual = build_vision_encoder("clip-resnet", weights="none", embed_dim=24, **TINY["clip-resnet"])
    keys = set(visual.state_dict())
    for key in (
        "conv1.weight",
        "bn3.running_var",
        "layer1.0.downsample.0.weight",
        "layer4.0.downsample.1.bias",
        "attnpool.positional_embedding",
        "attnpool.q_proj.bias",
        "attnpool.c_proj.weight",
    ):
        assert key in keys, key
    assert visual.conv1.weight.shape == (8, 13, 3, 3)
    assert visual.attnpool.positional_embedding.shape == (2 * 2 + 1, 512)
    assert visual.attnpool.num_heads == 8
    assert all(block.bn3.weight.abs().sum() == 0 for stage in (visual.layer1, visual.layer4) for block in stage)
    assert 0.03 < visual.attnpool.q_proj.weight.std().item() < 0.06  # N(0, 512^-1/2 = 0.044)

    visual.eval()
    images = tiny_input("clip-resnet")
    with torch.no_grad():
        assert visual(images).shape == (2, 24)
        # Reference: torch's multi-head attention with the mean token as the only query.
        pool = visual.attnpool
        fmap = torch.randn(2, 512, 2, 2)
        x = fmap.flatten(2).permute(2, 0, 1)
        x = torch.cat([x.mean(dim=0, keepdim=True), x]) + pool.positional_embedding[:, None, :]
        expected, _ = F.multi_head_attention_forward(
            query=x[:1],
            key=x,
            value=x,
            embed_dim_to_check=512,
            num_heads=pool.num_heads,
            q_proj_weight=pool.q_proj.weight,
            k_proj_weight=pool.k_proj.weight,
            v_proj_weight=pool.v_proj.weight,
            in_proj_weight=None,
            in_proj_bias=torch.cat([pool.q_proj.bias, pool.k_proj.bias, pool.v_proj.bias]),
            bias_k=None,
            bias_v=None,
            add_zero_attn=False,
            dropout_p=0.0,
            out_proj_weight=pool.c_proj.weight,
            out_proj_bias=pool.c_proj.bias,
            use_separate_proj_weight=True,
            training=False,
            need_weights=False,
        )
        torch.testing.assert_close(pool(fmap), expected[0], atol=1e-5, rtol=1e-5)
