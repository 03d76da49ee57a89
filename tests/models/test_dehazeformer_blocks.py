"""DehazeFormer blocks and U-Net, the window-attention encoder, and the padding helpers."""
import math

import pytest
import torch

from mmhaze.models.backbones import (
    DEHAZEFORMER_ARCHS,
    DehazeFormerMixer,
    DehazeFormerStage,
    DehazeFormerUNet,
    RescaleNorm,
    SKFusion,
    WindowAttentionEncoderBlock,
    WindowSelfAttention,
    log_relative_positions,
)
from mmhaze.registry import MODELS


def _params(module):
    return sum(p.numel() for p in module.parameters())


def test_rescale_norm_statistics():
    torch.manual_seed(0)
    x = torch.randn(2, 4, 6, 6) * 3 + 5
    norm = RescaleNorm(4)
    out, rescale, rebias = norm(x)
    assert torch.allclose(out.mean(dim=(1, 2, 3)), torch.zeros(2), atol=1e-5)
    assert torch.allclose(out.std(dim=(1, 2, 3), unbiased=False), torch.ones(2), atol=1e-4)
    std = x.std(dim=(1, 2, 3), unbiased=False)
    expected = norm.rescale_proj.weight.view(1, 4) * std.view(2, 1) + norm.rescale_proj.bias
    assert rescale.shape == (2, 4, 1, 1)
    assert torch.allclose(rescale.view(2, 4), expected, atol=1e-4)


def test_relative_positions_and_attention_shapes():
    rel = log_relative_positions(3)
    assert rel.shape == (9, 9, 2)
    # token 0 is (0, 0), token 8 is (2, 2): offset (−2, −2) → −log 3.
    assert torch.allclose(rel[0, 8], torch.full((2,), -math.log(3.0)))
    assert torch.equal(rel[4, 4], torch.zeros(2))
    attn = WindowSelfAttention(dim=8, window_size=3, num_heads=2)
    out = attn(torch.randn(5, 9, 24))
    assert out.shape == (5, 9, 8)
    with pytest.raises(ValueError, match='divisible'):
        WindowSelfAttention(dim=6, window_size=3, num_heads=4)


@pytest.mark.parametrize('use_attn,conv_type,shift', [
    (True, 'DWConv', 0), (True, 'DWConv', 4), (True, None, 0), (True, 'Conv', 4),
    (False, 'DWConv', 0), (False, 'Conv', 0)])
def test_mixer_shapes_and_gradients_at_sizes_that_are_not_window_multiples(use_attn, conv_type,
                                                                            shift):
    mixer = DehazeFormerMixer(8, 2, window_size=8, shift_size=shift, use_attn=use_attn,
                              conv_type=conv_type)
    x = torch.randn(2, 8, 13, 19, requires_grad=True)
    out = mixer(x)
    assert out.shape == x.shape
    out.square().mean().backward()
    assert x.grad.abs().sum() > 0
    assert all(p.grad is not None for p in mixer.parameters())


def test_mixer_rejects_an_empty_configuration():
    with pytest.raises(ValueError, match='needs attention'):
        DehazeFormerMixer(8, 1, use_attn=False, conv_type=None)
    with pytest.raises(ValueError, match='conv_type'):
        DehazeFormerMixer(8, 1, conv_type='dw')


def test_stage_places_attention_last_and_shifts_odd_blocks():
    stage = DehazeFormerStage(8, depth=8, num_heads=2, attn_ratio=1 / 4, conv_type='DWConv')
    flags = [b.mixer.use_attn for b in stage.blocks]
    assert flags == [False] * 6 + [True] * 2
    assert [b.mixer.shift_size for b in stage.blocks] == [0, 4] * 4
    assert stage(torch.randn(1, 8, 16, 16)).shape == (1, 8, 16, 16)


def test_sk_fusion_is_a_convex_combination():
    sk = SKFusion(8)
    a, b = torch.randn(2, 8, 5, 5), torch.randn(2, 8, 5, 5)
    out = sk([a, b])
    assert out.shape == a.shape
    same = sk([a, a])  # weights sum to 1 per channel
    assert torch.allclose(same, a, atol=1e-6)


# Counted from the DehazeFormer reference definition (see shared/reference/baselines.md §1.2).
@pytest.mark.parametrize('arch,expected', [('t', 0.687), ('s', 1.285), ('b', 2.518),
                                           ('m', 4.636), ('l', 25.45)])
def test_dehazeformer_variant_parameter_counts(arch, expected):
    net = DehazeFormerUNet(arch, in_channels=3, out_channels=4, soft_reconstruction=True)
    assert abs(_params(net) / 1e6 - expected) / expected < 1e-3


def test_dehazeformer_s_exact_count_and_iassf_head():
    # IASSF's head: 24 channels in, 3 out, plus skip0 + fusion3 (its release: 1,290,091).
    assert _params(DehazeFormerUNet('s', 24, 3, stem_skip=True)) == 1_290_091
    # DehazeFormer-S: stem 3→24 (672, not 5,208), no skip0 (600) / fusion3 (288), head 24→4
    # (868, not 651): 1,290,091 − 4,536 − 600 − 288 + 217.
    assert _params(DehazeFormerUNet('s', 3, 4, soft_reconstruction=True)) == 1_284_884


def _tiny_unet(**kw):
    return DehazeFormerUNet('s', embed_dims=(8, 16, 16, 16, 8), depths=(2, 2, 2, 1, 1),
                            num_heads=(1, 2, 2, 1, 1), attn_ratios=(0.5, 0.5, 0.5, 0, 0),
                            window_size=4, **kw)


@pytest.mark.parametrize('size', [(32, 32), (50, 38), (31, 45)])
def test_unet_pads_and_crops_odd_sizes(size):
    net = _tiny_unet(in_channels=3, out_channels=3, stem_skip=True)
    x = torch.randn(1, 3, *size, requires_grad=True)
    out = net(x)
    assert out.shape == (1, 3, *size)
    out.mean().backward()
    assert all(p.grad is not None for p in net.parameters())


def test_soft_reconstruction_is_identity_for_a_zero_head():
    net = _tiny_unet(in_channels=3, out_channels=4, soft_reconstruction=True)
    torch.nn.init.zeros_(net.patch_unembed.proj[0].weight)
    torch.nn.init.zeros_(net.patch_unembed.proj[0].bias)
    x = torch.rand(1, 3, 20, 28)
    assert torch.allclose(net(x), x)  # K = B = 0 → J = I
    with pytest.raises(ValueError, match='soft_reconstruction'):
        _tiny_unet(in_channels=3, out_channels=3, soft_reconstruction=True)


def test_arch_settings_and_overrides():
    assert set(DEHAZEFORMER_ARCHS) == {'t', 's', 'b', 'm', 'l'}
    net = DehazeFormerUNet('m', depths=(2, 2, 2, 1, 1))
    assert net.depths == (2, 2, 2, 1, 1)
    assert net.layer1.blocks[0].mixer.conv_type == 'Conv'
    with pytest.raises(ValueError, match='arch'):
        DehazeFormerUNet('xl')
    with pytest.raises(ValueError, match='symmetric'):
        DehazeFormerUNet('s', embed_dims=(8, 16, 32, 8, 8))


def test_window_attention_encoder_block_and_restormer_alias():
    block = MODELS.build(dict(type='RestormerEncoder', in_channels=3, out_channels=12))
    assert isinstance(block, WindowAttentionEncoderBlock)
    assert block.ffn.fc1.out_channels == int(12 * 2.66)
    assert _params(WindowAttentionEncoderBlock(3, 24)) == 6920  # IASSF's encoder
    x = torch.randn(2, 3, 21, 30, requires_grad=True)
    out = block(x)
    assert out.shape == (2, 12, 21, 30)
    out.mean().backward()
    assert x.grad.abs().sum() > 0
    assert all(p.grad is not None for p in block.parameters())
