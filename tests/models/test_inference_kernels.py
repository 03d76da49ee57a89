"""The blocks' fast inference form (mmhaze/models/backbones/inference_kernels.py): each kernel
and each block against the reference form, to float rounding; gradients keep the reference."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmhaze.models.backbones import (
    DehazeFormerStage,
    DehazeFormerUNet,
    RescaleNorm,
    SKFusion,
    WindowAttentionEncoderBlock,
)
from mmhaze.models.backbones.dehazeformer_blocks import window_merge, window_partition
from mmhaze.models.backbones.inference_kernels import (
    banded,
    conv1x1_rows,
    conv2d_fused,
    fold_input_affine,
    fold_output_affine,
    merge_window_rows,
    reflect_conv2d,
    window_rows,
)
from mmhaze.models.fusion import JointAttentionFusion
from mmhaze.models.generators import ResidualMergeGenerator, SPADEGenerator
from mmhaze.models.prompts import PromptEmbeddingBlock
from mmhaze.models.utils import set_fused_forms
from mmhaze.models.utils.padding import pad_amount, reflect_pad

CL = torch.channels_last


@pytest.fixture(autouse=True)
def fast_form_on_tiny_maps(monkeypatch):
    """The fast form on every map size (by default only on large maps, where it pays), so
    that these tiny maps exercise it."""
    from mmhaze.models.backbones import inference_kernels
    monkeypatch.setattr(inference_kernels, 'FAST_FORM_MIN_ELEMENTS', 0)


def _cl(*shape):
    return torch.randn(*shape).contiguous(memory_format=CL)


def _max_diff(a, b):
    return (a - b).abs().max().item()


@pytest.mark.parametrize('relu', [False, True])
@pytest.mark.parametrize('with_add', [False, True])
def test_conv2d_fused_matches_conv_add_relu(relu, with_add):
    torch.manual_seed(0)
    x, w, b = _cl(1, 6, 9, 11), torch.randn(5, 6, 1, 1), torch.randn(5)
    add = _cl(1, 5, 9, 11) if with_add else None
    ref = F.conv2d(x, w, b) + (add if with_add else 0)
    ref = ref.relu() if relu else ref
    out = conv2d_fused(x, w.contiguous(memory_format=CL), b, relu=relu, add=add)
    assert out.shape == ref.shape and _max_diff(out, ref) < 1e-5


@pytest.mark.parametrize('kernel, groups, size', [(5, 6, (13, 17)), (3, 1, (8, 9))])
def test_reflect_conv2d_matches_padded_conv(kernel, groups, size):
    torch.manual_seed(0)
    x = _cl(1, 6, *size)
    w, b = torch.randn(6, 6 // groups, kernel, kernel), torch.randn(6)
    add = _cl(1, 6, *size)
    p = kernel // 2
    ref = F.conv2d(F.pad(x, (p, p, p, p), mode='reflect'), w, b, groups=groups)
    assert _max_diff(reflect_conv2d(x, w, b, groups), ref) < 1e-5
    out = reflect_conv2d(x, w, b, groups, relu=True, add=add)
    assert _max_diff(out, (ref + add).relu()) < 1e-5


@pytest.mark.parametrize('size, shift', [((16, 24), 0), ((16, 24), 2), ((13, 10), 2),
                                         ((3, 5), 2)])  # 3×5 < window: periodic reflection
def test_window_rows_gather_and_merge_like_pad_and_partition(size, shift):
    torch.manual_seed(0)
    ws, (h, w) = 4, size
    x = _cl(1, 5, h, w)
    padded = reflect_pad(x, (shift, pad_amount(w, ws, shift), shift, pad_amount(h, ws, shift)))
    ref = window_partition(padded.permute(0, 2, 3, 1), ws)
    rows = window_rows(x, ws, shift)
    assert torch.equal(rows, ref)  # a copy: bit for bit
    merged = merge_window_rows(rows, h, w, ws, shift)
    hp, wp = padded.shape[-2:]
    expected = window_merge(ref, ws, hp, wp)[:, shift:shift + h, shift:shift + w]
    assert torch.equal(merged, expected.permute(0, 3, 1, 2)) and torch.equal(merged, x)
    assert merged.is_contiguous(memory_format=CL)


def test_conv1x1_rows_and_folds():
    torch.manual_seed(0)
    rows = torch.randn(7, 16, 6)
    conv = nn.Conv2d(6, 9, 1)
    ref = F.linear(rows, conv.weight.flatten(1), conv.bias)
    assert _max_diff(conv1x1_rows(rows, conv.weight, conv.bias), ref) < 1e-5
    x, scale, shift = _cl(1, 6, 5, 7), torch.rand(1, 6, 1, 1) + 0.5, torch.randn(1, 6, 1, 1)
    with torch.no_grad():
        w, b = fold_input_affine(conv, scale, shift)
        assert _max_diff(F.conv2d(x, w, b), conv(x * scale + shift)) < 1e-5
        out_scale, out_shift = torch.randn(1, 9, 1, 1), torch.randn(1, 9, 1, 1)
        w, b = fold_output_affine(conv.weight, conv.bias, out_scale, out_shift)
        assert _max_diff(F.conv2d(x, w, b), conv(x) * out_scale + out_shift) < 1e-5


def test_rescale_norm_affine_coefficients_reproduce_the_norm():
    torch.manual_seed(0)
    norm = RescaleNorm(6)
    nn.init.normal_(norm.weight, 1, 0.2), nn.init.normal_(norm.bias, 0, 0.2)
    x = _cl(1, 6, 9, 10) * 2 + 1
    with torch.no_grad():
        out, rescale, rebias = norm(x)
        scale, shift, fast_rescale, fast_rebias = norm.affine_coefficients(x)
    assert _max_diff(x * scale + shift, out) < 1e-5
    assert torch.equal(fast_rescale, rescale) and torch.equal(fast_rebias, rebias)


def _both_forms(module, *inputs, **kwargs):
    """(reference output, fast output) without gradients, and the fast form's switch count."""
    with torch.no_grad():
        set_fused_forms(module, False, switches=('fast_inference',))
        ref = module(*inputs, **kwargs)
        count = set_fused_forms(module, True, switches=('fast_inference',))
        fast = module(*inputs, **kwargs)
    return ref, fast, count


@pytest.mark.parametrize('conv_type, attn_ratio', [('DWConv', 0.5), ('Conv', 0.5), (None, 1.0),
                                                   ('Conv', 0.0)])
def test_stage_fast_form_matches_reference(conv_type, attn_ratio):
    torch.manual_seed(0)
    stage = DehazeFormerStage(8, 4, 2, 2.0, 4, attn_ratio, 'last', conv_type).eval()
    set_fused_forms(stage)
    x = torch.randn(2, 8, 11, 14)  # a batch of 2, NCHW, not a multiple of the window
    ref, fast, count = _both_forms(stage, x)
    assert count == 4 and fast.shape == ref.shape
    assert _max_diff(fast, ref) < 1e-5 and fast.is_contiguous(memory_format=CL)
    # With gradients the block keeps the reference form (and is differentiable).
    x.requires_grad_(True)
    stage(x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


@pytest.mark.parametrize('arch, stem_skip', [('t', False), ('s', True)])
def test_unet_fast_form_matches_reference(arch, stem_skip):
    torch.manual_seed(0)
    net = DehazeFormerUNet(arch, in_channels=8, out_channels=3, stem_skip=stem_skip).eval()
    ref, fast, count = _both_forms(net, torch.randn(1, 8, 37, 45))
    assert count == 1 + sum(net.depths)  # the U-Net and its blocks
    assert fast.shape == (1, 3, 37, 45) and _max_diff(fast, ref) < 1e-5


def test_skfusion_fast_residual_matches_reference():
    torch.manual_seed(0)
    fusion, skip_conv = SKFusion(8).eval(), nn.Conv2d(8, 8, 1)
    x, skip = _cl(1, 8, 6, 7), _cl(1, 8, 6, 7)
    with torch.no_grad():
        ref = fusion([x, skip_conv(skip)]) + x
        fast = fusion.fuse_residual_fast(x, skip, skip_conv)
    assert _max_diff(fast, ref) < 1e-5


def test_encoder_and_prompt_embedding_fast_forms_match_reference():
    torch.manual_seed(0)
    encoder = WindowAttentionEncoderBlock(3, 8, num_heads=2, window_size=4).eval()
    ref, fast, count = _both_forms(encoder, torch.randn(2, 3, 10, 13))
    assert count == 1 and _max_diff(fast, ref) < 1e-5
    peb = PromptEmbeddingBlock(8, 8, num_heads=2, window_size=4).eval()
    feature, prompt, residual = (torch.randn(1, 8, 10, 13) for _ in range(3))
    ref, fast, count = _both_forms(peb, feature, prompt, residual=residual)
    assert count == 1 and _max_diff(fast, ref) < 1e-5
    with torch.no_grad():  # the residual is the caller's addition
        assert _max_diff(peb(feature, prompt, residual=residual) - residual,
                         peb(feature, prompt)) < 1e-5


def test_small_maps_keep_the_reference_form(monkeypatch):
    from mmhaze.models.backbones import inference_kernels
    monkeypatch.setattr(inference_kernels, 'FAST_FORM_MIN_ELEMENTS', 8 * 12 * 12)
    torch.manual_seed(0)
    stage = DehazeFormerStage(8, 2, 2, 2.0, 4, 0.5, 'last', 'DWConv').eval()
    small, large = torch.randn(1, 8, 11, 12), torch.randn(1, 8, 12, 12)
    ref_small, fast_small, _ = _both_forms(stage, small)
    ref_large, fast_large, _ = _both_forms(stage, large)
    assert torch.equal(fast_small, ref_small)  # below the threshold: the reference form
    assert not torch.equal(fast_large, ref_large) and _max_diff(fast_large, ref_large) < 1e-5


@pytest.fixture
def small_bands(monkeypatch):
    """Bands of a few rows (by default 32 MB of the widest map), so tiny maps are banded."""
    from mmhaze.models.backbones import inference_kernels
    monkeypatch.setattr(inference_kernels, 'BAND_BYTES', 2048)


def _counting(fn):
    calls = []

    def run(*inputs):
        calls.append([x.shape[-2] for x in inputs])
        return fn(*inputs)
    return run, calls


def test_banded_stacks_equal_the_whole_map(small_bands):
    torch.manual_seed(0)
    stack = nn.Sequential(nn.Conv2d(5, 6, 3, padding=1, padding_mode='reflect'), nn.GELU(),
                          nn.Conv2d(6, 4, 3, padding=1)).double()  # reflect, then zeros
    x = torch.randn(1, 5, 29, 16, dtype=torch.float64)
    with torch.no_grad():
        fn, calls = _counting(stack)
        out = banded(fn, [x], 2, 6)
        # 2048 B of a 16 px wide 6-channel map: 5 rows, at least 8·halo = 16 rows a band.
        assert calls == [[18], [15]] and torch.allclose(out, stack(x), rtol=0, atol=1e-12)
        # Too shallow a halo leaves the inner edges' padding in the output.
        assert (banded(stack, [x], 1, 6) - stack(x)).abs().max() > 1e-3

        # A half-resolution input (divisor 2) upsampled inside, and two outputs.
        def upsample_and_join(low, skip):
            up = F.interpolate(low, size=skip.shape[-2:], mode='bilinear', align_corners=False)
            joined = stack(torch.cat([up[:, :3], skip], 1))
            return joined, nn.PixelShuffle(2)(low)[:, :, :, :skip.shape[-1]]
        low, skip = (torch.randn(1, 4, 20, 8, dtype=torch.float64),
                     torch.randn(1, 2, 40, 16, dtype=torch.float64))
        fn, calls = _counting(upsample_and_join)
        joined, shuffled = banded(fn, [low, skip], 3, 6, divisors=[2, 1])
        ref_joined, ref_shuffled = upsample_and_join(low, skip)
        assert len(calls) == 2 and all(c[1] == 2 * c[0] for c in calls)
        assert torch.allclose(joined, ref_joined, rtol=0, atol=1e-12)
        assert torch.equal(shuffled, ref_shuffled)
        with pytest.raises(ValueError, match='one output height'):
            banded(upsample_and_join, [low, skip[..., :38, :]], 3, 6, divisors=[2, 1])


def test_hsvf_streams_fast_forms_match_reference(small_bands, monkeypatch):
    """HSVF's visual stream, G_Final and SPADE generator in bands of rows (float64, so that
    only the banding can differ); gradients keep the reference form."""
    import mmhaze.models.fusion.joint_attention_fusion as visual_module
    import mmhaze.models.generators.merge_generator as final_module
    import mmhaze.models.generators.spade_generator as spade_module
    bands = []

    def spy(fn, inputs, *args, **kwargs):
        bands.append(inputs[0].shape[-2])
        return banded(fn, inputs, *args, **kwargs)
    for module in (visual_module, final_module, spade_module):
        monkeypatch.setattr(module, 'banded', spy)
    torch.manual_seed(0)
    visual = JointAttentionFusion(embed_dim=8, depth=2, num_heads=2, window_size=4).double()
    final = ResidualMergeGenerator(7, base_channels=4, num_levels=3).double()
    generator = SPADEGenerator(label_channels=3, in_channels=6, base_channels=4,
                               hidden_channels=8).double()
    vis, nir = torch.rand(1, 3, 28, 20).double(), torch.rand(1, 1, 28, 20).double()
    label = torch.rand(1, 3, 7, 5).double().softmax(1)
    code = torch.randn(1, 6, 7, 5).double()
    cases = [(visual.eval(), (vis, nir), {}, 3),  # the stream and its 2 attention blocks
             (final.eval(), (vis, vis, nir), {}, 1),
             (generator.eval(), (label, code), dict(size=(28, 20)), 1 + 4)]  # and its blocks
    for net, inputs, kwargs, switched in cases:
        bands.clear()
        ref, fast, count = _both_forms(net, *inputs, **kwargs)
        assert count == switched and fast.shape == ref.shape == (1, 3, 28, 20)
        assert torch.allclose(fast, ref, rtol=0, atol=1e-12), type(net).__name__
        assert 28 in bands  # the full-resolution stacks were banded
    x = vis.clone().requires_grad_(True)
    visual(x, nir).sum().backward()
    assert x.grad.abs().sum() > 0
