"""Each classical fuser's defining property."""
import pytest
import torch

from mmhaze.registry import MODELS


def _pair(seed=0, shape=(2, 3, 20, 24)):
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(shape, generator=gen), torch.rand(shape, generator=gen)


def test_average_is_the_weighted_mean_and_broadcasts_a_gray_ir():
    vis, ir = _pair()
    assert torch.allclose(MODELS.build(dict(type='AverageFusion'))(vis, ir), (vis + ir) / 2)
    fused = MODELS.build(dict(type='AverageFusion', vis_weight=0.75))(vis, ir[:, :1])
    assert torch.allclose(fused, 0.75 * vis + 0.25 * ir[:, :1].expand_as(vis))
    with pytest.raises(ValueError, match='vis_weight'):
        MODELS.build(dict(type='AverageFusion', vis_weight=1.5))


def test_max_abs_picks_the_larger_magnitude_per_pixel():
    fuser = MODELS.build(dict(type='MaxAbsFusion'))
    a = torch.tensor([[[[0.2, -0.9, 0.5, -0.3]]]])
    b = torch.tensor([[[[-0.4, 0.1, 0.5, 0.3]]]])
    assert torch.equal(fuser(a, b), torch.tensor([[[[-0.4, -0.9, 0.5, -0.3]]]]))
    vis, ir = _pair(1)
    assert torch.equal(fuser(vis, ir), torch.maximum(vis, ir))  # on [0, 1]: the maximum
    with pytest.raises(ValueError, match='cannot fuse'):
        fuser(vis, ir[:, :2])


def test_local_energy_weights_by_each_sources_windowed_energy():
    fuser = MODELS.build(dict(type='LocalEnergyFusion', window=3))
    # constant sources a, b: E = a², b², fused = (a³ + b³) / (a² + b²)
    a, b = torch.full((1, 1, 5, 5), 0.2), torch.full((1, 1, 5, 5), 0.6)
    assert torch.allclose(fuser(a, b), torch.full_like(a, (0.2 ** 3 + 0.6 ** 3) / 0.4),
                          atol=1e-6)
    # where one source is zero over the whole window, the other passes through unchanged
    vis, _ = _pair(2, (1, 1, 12, 12))
    ir = torch.zeros_like(vis)
    ir[..., :, 8:] = 0.5
    out = fuser(vis, ir)
    assert torch.allclose(out[..., :, :6], vis[..., :, :6])
    assert torch.allclose(fuser(vis, vis), vis)  # equal sources: themselves
    both_zero = fuser(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 4))
    assert torch.equal(both_zero, torch.zeros(1, 1, 4, 4))


def test_laplacian_pyramid_reconstructs_exactly_and_fuses_bands_by_max_abs():
    fuser = MODELS.build(dict(type='LaplacianPyramidFusion', levels=3))
    vis, ir = _pair(3, (2, 3, 37, 45))  # odd sizes
    assert torch.allclose(fuser(vis, vis), vis, atol=1e-6)  # decomposition is exact
    bands = fuser.decompose(vis, 3)
    assert [tuple(b.shape[-2:]) for b in bands] == [(37, 45), (18, 22), (9, 11), (4, 5)]
    assert torch.allclose(fuser.collapse(bands), vis, atol=1e-6)
    # fused pyramid: max-abs detail bands, averaged low-pass residual
    p_vis, p_ir = fuser.decompose(vis, 3), fuser.decompose(ir, 3)
    expected = [torch.where(a.abs() >= b.abs(), a, b) for a, b in zip(p_vis[:-1], p_ir[:-1])]
    expected = fuser.collapse(expected + [(p_vis[-1] + p_ir[-1]) / 2])
    assert torch.allclose(fuser(vis, ir), expected, atol=1e-6)
    # a flat source has no detail: it contributes only to the low-pass residual
    flat = torch.full_like(vis, 0.5)
    p_flat = fuser.decompose(flat, 3)
    assert all(torch.allclose(b, torch.zeros_like(b), atol=1e-6) for b in p_flat[:-1])
    expected = fuser.collapse(bands[:-1] + [(bands[-1] + p_flat[-1]) / 2])
    assert torch.allclose(fuser(vis, flat), expected, atol=1e-6)


def test_levels_shrink_for_small_images():
    fuser = MODELS.build(dict(type='LaplacianPyramidFusion', levels=6, min_size=4))
    assert fuser.num_levels(32, 40) == 3  # 32 → 16 → 8 → 4
    assert fuser.num_levels(3, 3) == 0
    x = torch.rand(1, 1, 3, 3)
    assert torch.allclose(fuser(x, x), x)


@pytest.mark.parametrize('name', ['AverageFusion', 'MaxAbsFusion', 'LocalEnergyFusion',
                                  'LaplacianPyramidFusion'])
def test_training_free_batched_and_device_agnostic(name):
    fuser = MODELS.build(dict(type=name))
    assert not list(fuser.parameters()) and fuser.value_range == (0.0, 1.0)
    vis, ir = _pair(4, (3, 3, 32, 32))
    together = fuser(vis, ir[:, :1])
    alone = torch.cat([fuser(vis[i:i + 1], ir[i:i + 1, :1]) for i in range(3)])
    assert torch.allclose(together, alone, atol=1e-6)
    assert fuser(vis.double(), ir.double()).dtype == torch.float64
