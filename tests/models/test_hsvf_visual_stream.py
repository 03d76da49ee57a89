"""HSVF's visual stream: joint self/cross window attention and the fusion network."""
import pytest
import torch

from mmhaze.models.fusion import JointAttentionBlock, JointAttentionFusion, JointWindowAttention


def _attention(attention, joint_form='sum', seed=0):
    torch.manual_seed(seed)
    return JointWindowAttention(8, 2, 4, attention=attention, joint_form=joint_form)


def test_self_attention_ignores_the_other_modality_and_cross_attention_reads_it():
    x_vis = torch.randn(3, 16, 8)
    x_nir = torch.randn(3, 16, 8, requires_grad=True)
    self_attn, cross_attn = _attention('self'), _attention('cross')
    self_attn(x_vis, x_nir)[0].sum().backward()
    assert x_nir.grad is None or not x_nir.grad.abs().sum()
    cross_attn(x_vis, x_nir)[0].sum().backward()
    assert x_nir.grad.abs().sum() > 0


def test_joint_sum_is_the_self_term_plus_the_cross_term():
    attn = {a: _attention(a) for a in ('self', 'cross', 'joint')}  # same seed: same weights
    x_vis, x_nir = torch.randn(2, 16, 8), torch.randn(2, 16, 8)
    ys, yc, yj = (attn[a](x_vis, x_nir) for a in ('self', 'cross', 'joint'))
    for i, m in enumerate(('vis', 'nir')):
        bias = attn['joint'].proj[m].bias  # the projection is affine: proj(a+b) = pa + pb − bias
        assert torch.allclose(yj[i], ys[i] + yc[i] - bias, atol=1e-5)


def test_single_softmax_over_identical_modalities_equals_self_attention():
    single, self_attn = _attention('joint', 'single_softmax'), _attention('self')
    single.qkv['nir'].load_state_dict(single.qkv['vis'].state_dict())
    self_attn.load_state_dict(single.state_dict())
    x = torch.randn(2, 16, 8)
    # Duplicated keys halve every weight and duplicated values sum back: the same output.
    assert torch.allclose(single(x, x)[0], self_attn(x, x)[0], atol=1e-5)


def test_a_token_only_sees_its_window():
    torch.manual_seed(0)
    block = JointAttentionBlock(8, 2, window_size=4, shift=False)
    f_vis = torch.randn(1, 8, 8, 8, requires_grad=True)
    f_nir = torch.randn(1, 8, 8, 8, requires_grad=True)
    out_vis, _ = block(f_vis, f_nir)
    out_vis[0, :, 1, 1].sum().backward()  # a pixel of the top-left 4×4 window
    for grad in (f_vis.grad[0], f_nir.grad[0]):
        assert grad[:, :4, :4].abs().sum() > 0
        assert grad[:, 4:].abs().sum() == 0 and grad[:, :, 4:].abs().sum() == 0


@pytest.mark.parametrize('attention,joint_form,merge', [
    ('joint', 'sum', 'sum'), ('joint', 'single_softmax', 'concat'), ('self', 'sum', 'sum'),
    ('cross', 'sum', 'sum')])
def test_fusion_network_shapes_and_gradients(attention, joint_form, merge):
    torch.manual_seed(0)
    net = JointAttentionFusion(embed_dim=8, depth=2, num_heads=2, window_size=4,
                               attention=attention, joint_form=joint_form, merge=merge)
    vis = torch.rand(2, 3, 30, 42)
    out = net(vis, torch.rand(2, 1, 30, 42))
    assert out.shape == (2, 3, 30, 42)
    (out - vis).abs().mean().backward()
    missing = [n for n, p in net.named_parameters() if p.grad is None or not p.grad.abs().sum()]
    assert missing == []


def test_fusion_network_rejects_bad_options():
    with pytest.raises(ValueError, match="attention must be one of"):
        JointAttentionFusion(embed_dim=8, num_heads=2, attention='both')
    with pytest.raises(ValueError, match="joint_form must be one of"):
        JointAttentionFusion(embed_dim=8, num_heads=2, joint_form='mean')
