"""Inference speed paths give the model's outputs: fast eager form, compiled networks, caches.

Speed itself is a benchmark figure (tools/analysis_tools/benchmark.py, docs/speed.md), never
a timed test.
"""
import pytest
import torch
import torch.nn as nn
from fixtures import model_fixtures as mf

from mmhaze.apis.speed import (
    channels_last_weights,
    compile_networks,
    networks,
    prepare_for_inference,
)
from mmhaze.models.backbones import (
    WindowAttentionEncoderBlock,
    WindowSelfAttention,
    set_fused_attention,
)


def _fixture_model(name):
    fixture, model = mf.load_fixture_model(name)
    return fixture, model.eval()


@pytest.mark.parametrize('name', ['iassf_official', 'iassf_tiny'])
def test_fast_inference_form_matches_the_fixture_within_1e_5(name):
    fixture, model = _fixture_model(name)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    prepare_for_inference(model)
    # Same weights and keys; convolution weights now channels-last; every attention fused.
    after = model.state_dict()
    assert sorted(after) == sorted(before)
    assert all(torch.equal(after[k], before[k]) for k in before)
    conv = model.dehazer.restoration_head.patch_embed.proj.weight
    assert conv.is_contiguous(memory_format=torch.channels_last)
    attention = [m for m in model.modules() if isinstance(m, WindowSelfAttention)]
    assert attention and all(m.fused for m in attention)
    data = mf.fixture_batch(*mf.CASES[name][1:])
    with torch.no_grad():
        batch = model.data_preprocessor(data, training=False)
        inputs = batch['inputs']
        outputs = model.forward_networks(inputs, model.batch_fields(inputs, None))
    for key, ref in fixture['outputs'].items():
        diff = (outputs[key] - ref).abs().max().item()
        assert diff <= 1e-5, (key, diff)
    # Not bit for bit: the fused kernel sums in another order (that is why it is opt-in).
    assert max((outputs[k] - fixture['outputs'][k]).abs().max().item()
               for k in ('dehazed', 'fused')) > 0


def test_fused_attention_matches_and_trains():
    torch.manual_seed(0)
    attn = WindowSelfAttention(dim=12, window_size=4, num_heads=3)
    qkv = torch.randn(5, 16, 36, requires_grad=True)
    ref = attn(qkv)
    assert set_fused_attention(attn) == 1 and attn.fused
    out = attn(qkv)
    assert (out - ref).abs().max().item() < 1e-6
    out.square().sum().backward()  # gradients reach the inputs and the bias MLP
    assert qkv.grad.abs().sum() > 0
    assert all(p.grad is not None for p in attn.position_bias_mlp.parameters())


def test_position_bias_is_cached_without_grad_and_follows_weight_changes():
    torch.manual_seed(0)
    attn = WindowSelfAttention(dim=8, window_size=4, num_heads=2)
    with torch.no_grad():
        first = attn.position_bias()
        assert attn.position_bias() is first  # reused
        attn.position_bias_mlp[2].bias.add_(1.0)  # an in-place update (optimiser, loading)
        changed = attn.position_bias()
    assert changed is not first
    assert torch.allclose(changed, first + 1.0, atol=1e-6)
    trained = attn.position_bias()  # with gradients: recomputed, part of the graph
    assert trained.requires_grad and trained is not changed
    assert torch.equal(trained.detach(), changed)


def test_channels_last_weights_and_networks():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Sequential(nn.Conv2d(4, 4, 1), nn.ReLU()))
    assert channels_last_weights(model) == 2
    assert model[0].weight.is_contiguous(memory_format=torch.channels_last)
    # Networks to compile: children with parameters and submodules (not a lone layer).
    assert [name for name, _ in networks(model)] == ['1']


class _TinyNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = WindowAttentionEncoderBlock(3, 8, num_heads=2, window_size=4)
        self.head = nn.Conv2d(8, 3, 1)

    def forward(self, x):
        return self.head(self.block(x))


def test_compiled_networks_match_eager():
    # One small graph: inductor needs tens of seconds per graph on 2 CPU cores.
    torch.manual_seed(0)
    model = prepare_for_inference(_TinyNet().eval())
    x = torch.randn(1, 3, 12, 16)
    keys = sorted(model.state_dict())
    with torch.no_grad():
        eager = model(x)
        assert compile_networks(model) == ['block']
        compiled = model(x)
        again = model(x)
    assert sorted(model.state_dict()) == keys  # compiled in place: same keys
    assert (compiled - eager).abs().max().item() < 1e-5
    assert torch.equal(compiled, again)
    if torch.backends.mkldnn.is_available():  # frozen weights: oneDNN pre-packed convolutions
        with torch.no_grad(), torch.profiler.profile() as prof:
            model(x)
        assert any(e.key.startswith('mkldnn::_convolution_pointwise')
                   for e in prof.key_averages())
