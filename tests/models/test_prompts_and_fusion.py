"""Prompt pool, prompt generation, prompt embedding, and the prompt-embedding fusion U-Net."""
import pytest
import torch

from mmhaze.models.fusion import PromptEmbeddingFusionUNet, channel_plan
from mmhaze.models.prompts import PromptEmbeddingBlock, PromptGenerationModule, PromptPool


def test_pool_weighted_sum_and_resize():
    pool = PromptPool(length=3, channels=2, size=4)
    with torch.no_grad():
        pool.prompts.copy_(torch.arange(3.0).view(1, 3, 1, 1, 1).expand(1, 3, 2, 4, 4))
    w = torch.tensor([[1.0, 0.0, 0.0], [0.2, 0.3, 0.5]])
    out = pool(w, (4, 4))
    assert out.shape == (2, 2, 4, 4)
    assert torch.allclose(out[0], torch.zeros(2, 4, 4))
    assert torch.allclose(out[1], torch.full((2, 4, 4), 0.3 + 2 * 0.5))
    assert pool(w, (7, 9)).shape == (2, 2, 7, 9)  # bilinear of a constant stays constant
    assert torch.allclose(pool(w, (7, 9))[1], torch.full((2, 7, 9), 1.3))
    with pytest.raises(ValueError, match='pool weights'):
        pool(torch.ones(1, 4), (4, 4))


def test_prompt_generation_difference_sign_and_shapes():
    torch.manual_seed(0)
    pgm = PromptGenerationModule(source_channels=4, prompt_channels=6, pool_length=5,
                                 pool_size=8, difference='vis-ir')
    vis, ir = torch.randn(2, 4, 10, 12), torch.randn(2, 4, 10, 12)
    w = pgm.pool_weights(vis, ir)
    assert w.shape == (2, 5) and torch.allclose(w.sum(1), torch.ones(2))
    assert pgm(vis, ir).shape == (2, 6, 10, 12)
    assert pgm(vis, ir, out_size=(5, 7)).shape == (2, 6, 5, 7)
    flipped = PromptGenerationModule(4, 6, 5, 8, difference='ir-vis')
    flipped.load_state_dict(pgm.state_dict())
    assert torch.allclose(flipped.pool_weights(ir, vis), w)  # ir − vis with swapped inputs
    assert not torch.allclose(flipped.pool_weights(vis, ir), w)
    with pytest.raises(ValueError, match='difference'):
        PromptGenerationModule(4, 6, difference='vis+ir')


def test_prompt_generation_optional_convs():
    plain = PromptGenerationModule(3, 6, diff_conv=False)
    conv = PromptGenerationModule(3, 6, diff_conv=True, out_conv1x1=True)
    assert plain.diff_conv is None and plain.weight_predictor.in_features == 3
    assert conv.diff_conv.out_channels == 6 and conv.weight_predictor.in_features == 6
    assert conv.conv1x1 is not None and plain.conv1x1 is None


def test_prompt_generation_gradients_reach_the_pool():
    pgm = PromptGenerationModule(3, 4, pool_size=8, diff_conv=True)
    vis = torch.randn(2, 3, 16, 16, requires_grad=True)
    pgm(vis, torch.randn(2, 3, 16, 16)).square().mean().backward()
    assert pgm.pool.prompts.grad.abs().sum() > 0
    assert pgm.weight_predictor.weight.grad.abs().sum() > 0
    assert vis.grad.abs().sum() > 0


@pytest.mark.parametrize('prompt_channels,use_attention', [(8, True), (8, False), (0, True)])
def test_prompt_embedding_block(prompt_channels, use_attention):
    peb = PromptEmbeddingBlock(8, prompt_channels, num_heads=2, window_size=4,
                               use_attention=use_attention)
    feat = torch.randn(2, 8, 11, 13, requires_grad=True)
    prompt = torch.randn(2, prompt_channels, 11, 13) if prompt_channels else None
    out = peb(feat, prompt)
    assert out.shape == feat.shape
    out.mean().backward()
    assert feat.grad.abs().sum() > 0
    assert (peb.mixer is not None) == use_attention
    with pytest.raises(ValueError, match='prompt'):
        peb(feat, None if prompt_channels else torch.randn(2, 8, 11, 13))


def test_channel_plans_of_the_block_sweep():
    assert channel_plan(1, 6, 6) == [(6, 6, 0)]
    assert channel_plan(3, 6, 6) == [(6, 6, 0), (6, 12, 1), (12, 6, 0)]
    assert channel_plan(5, 6, 6) == [(6, 6, 0), (6, 12, 1), (12, 24, 2), (24, 12, 1),
                                     (12, 6, 0)]
    assert [c[:2] for c in channel_plan(7, 6, 6)] == [(6, 6), (6, 12), (12, 24), (24, 48),
                                                      (48, 24), (24, 12), (12, 6)]
    with pytest.raises(ValueError, match='odd'):
        channel_plan(4, 6, 6)


def _fusion(num_blocks=5, prompt=True, **kw):
    gen = dict(type='PromptGenerationModule', source_channels=3, prompt_channels=6,
               pool_size=16, difference='ir-vis', diff_conv=True, align_corners=True,
               out_conv1x1=True) if prompt else None
    return PromptEmbeddingFusionUNet(num_blocks=num_blocks, prompt_generator=gen,
                                     window_size=4, **kw)


@pytest.mark.parametrize('num_blocks', [1, 3, 5, 7])
def test_fusion_unet_block_sweep_shapes_and_gradients(num_blocks):
    net = _fusion(num_blocks)
    assert len(net.blocks) == num_blocks and len(net.skip_convs) == num_blocks // 2
    vis = torch.randn(1, 3, 30, 22, requires_grad=True)  # not a multiple of 8
    out = net(vis, torch.randn(1, 3, 30, 22))
    assert out.shape == (1, 3, 30, 22)
    out.mean().backward()
    assert vis.grad.abs().sum() > 0
    assert all(p.grad is not None for p in net.parameters())


def test_fusion_unet_parameters_grow_with_blocks_and_shrink_without_prompt():
    counts = [sum(p.numel() for p in _fusion(n).parameters()) for n in (1, 3, 5, 7)]
    assert counts == sorted(counts) and len(set(counts)) == 4
    bare = _fusion(prompt=False)
    assert bare.prompt_generator is None
    assert all(b.prompt_adapter is None for b in bare.blocks)
    assert bare(torch.randn(1, 3, 16, 16), torch.randn(1, 3, 16, 16)).shape == (1, 3, 16, 16)
    no_peb_attn = _fusion(embedding_attention=False)
    assert all(b.embedding.mixer is None for b in no_peb_attn.blocks)


def test_official_fusion_unet_parameter_count():
    net = PromptEmbeddingFusionUNet(prompt_generator=dict(
        type='PromptGenerationModule', source_channels=3, prompt_channels=6, pool_size=256,
        difference='ir-vis', diff_conv=True, align_corners=True, out_conv1x1=True))
    # RestormerUNet of the release: 1,966,080 pool + 47,601 others.
    assert sum(p.numel() for p in net.parameters()) == 2_013_681
