"""DehazeFormer as a dehazer: the published parameter counts, soft reconstruction, any size."""
import pytest
import torch
import torch.nn.functional as F

from mmhaze.models.backbones import DehazeFormerUNet
from mmhaze.models.dehazers import DehazeFormer
from mmhaze.registry import MODELS

# IDKiro/DehazeFormer, models/dehazeformer.py: dehazeformer_{t,s,b,m,l}(), counted parameters.
PUBLISHED_PARAMS = {'t': 687_404, 's': 1_284_884, 'b': 2_517_612, 'm': 4_635_952,
                    'l': 25_451_652}
TINY = dict(arch='t', embed_dims=(8, 16, 16, 16, 8), depths=(1, 1, 2, 1, 1),
            num_heads=(1, 2, 2, 1, 1), window_size=4)


@pytest.mark.parametrize('arch', sorted(PUBLISHED_PARAMS))
def test_parameter_counts_are_the_published_networks(arch):
    net = MODELS.build(dict(type='DehazeFormer', arch=arch))
    assert sum(p.numel() for p in net.parameters()) == PUBLISHED_PARAMS[arch]
    assert net.value_range == (-1.0, 1.0)
    assert net.patch_unembed.proj[0].out_channels == 4  # K (1) + B (3)


def test_it_is_the_shared_unet_not_a_second_implementation():
    assert issubclass(DehazeFormer, DehazeFormerUNet)
    net = DehazeFormer(**TINY)
    assert net.soft_reconstruction and net.skip0 is None and net.fusion3 is None


def test_soft_reconstruction_is_k_times_i_minus_b_plus_i():
    torch.manual_seed(0)
    net = DehazeFormer(**TINY).eval()
    x = torch.rand(1, 3, 16, 20) * 2 - 1
    with torch.no_grad():
        feat = net.forward_features(x)
        out = net(x)
    k, b = feat[:, :1], feat[:, 1:]
    assert torch.allclose(out, k * x - b + x, atol=1e-6)


@pytest.mark.parametrize('size', [(37, 29), (21, 30), (9, 9)])
def test_odd_sizes_are_reflect_padded_to_a_multiple_of_4_and_cropped_back(size):
    torch.manual_seed(1)
    net = DehazeFormer(**TINY).eval()
    h, w = size
    x = torch.rand(2, 3, h, w) * 2 - 1
    with torch.no_grad():
        out = net(x)
        ph, pw = (-h) % 4, (-w) % 4
        padded = F.pad(x, (0, pw, 0, ph), mode='reflect')
        feat = net.forward_features(padded)
        expected = (feat[:, :1] * padded - feat[:, 1:] + padded)[..., :h, :w]
    assert out.shape == x.shape
    assert torch.allclose(out, expected, atol=1e-6)


def test_gradients_reach_every_parameter():
    torch.manual_seed(2)
    net = DehazeFormer(**TINY)
    net(torch.rand(1, 3, 13, 11) * 2 - 1).abs().mean().backward()
    missing = [n for n, p in net.named_parameters() if p.grad is None]
    assert not missing


def test_bad_architecture_is_one_clear_error():
    with pytest.raises(ValueError, match='arch must be one of'):
        DehazeFormer(arch='x')
