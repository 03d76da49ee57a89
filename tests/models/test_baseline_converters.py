"""The DehazeFormer and U2Fusion converters.

DehazeFormer: an official-format checkpoint is produced here from a random mmhaze network by an
inverse mapping written independently of the converter's (plus the DataParallel prefix and the
``relative_positions`` buffers the release stores); converting it back must give every tensor
exactly once. U2Fusion: a TF-layout ``.npz`` is written from a random U2FusionNet the same way;
the released one (shared data) converts to 659,217 parameters.
"""
import math
import re

import numpy as np
import pytest
import torch
from helpers import load_tool

from mmhaze.models.backbones import log_relative_positions
from mmhaze.models.dehazers import DehazeFormer
from mmhaze.models.fusion import U2FusionNet
from mmhaze.registry import MODELS

dehazeformer_converter = load_tool('model_converters/dehazeformer_official_to_mmhaze')
u2fusion_converter = load_tool('model_converters/u2fusion_tf_to_mmhaze')

# mmhaze → official DehazeFormer names (models/dehazeformer.py of IDKiro/DehazeFormer).
_TO_OFFICIAL = [
    (r'\.mixer\.attn\.position_bias_mlp\.', '.attn.attn.meta.'),
    (r'\.mixer\.qk\.', '.attn.QK.'), (r'\.mixer\.v\.', '.attn.V.'),
    (r'\.mixer\.proj\.', '.attn.proj.'), (r'\.mixer\.conv\.', '.attn.conv.'),
    (r'\.rescale_proj\.', '.meta1.'), (r'\.rebias_proj\.', '.meta2.'),
    (r'\.mlp\.fc1\.', '.mlp.mlp.0.'), (r'\.mlp\.fc2\.', '.mlp.mlp.2.'),
]


def _official_checkpoint(net: DehazeFormer) -> dict:
    state = {}
    for key, value in net.state_dict().items():
        for pattern, repl in _TO_OFFICIAL:
            key = re.sub(pattern, repl, key)
        state['module.' + key] = value.clone()
    for name, module in net.named_modules():
        if hasattr(module, 'relative_positions'):  # persistent in the release
            official = name.replace('mixer.attn', 'attn.attn')
            state[f'module.{official}.relative_positions'] = log_relative_positions(
                module.window_size)
    return {'state_dict': state}


@pytest.mark.parametrize('arch', ['t', 'm'])  # DWConv and Conv mixers
def test_dehazeformer_official_keys_map_onto_every_parameter(arch):
    torch.manual_seed(0)
    net = DehazeFormer(arch)
    official = dehazeformer_converter.official_state_dict(_official_checkpoint(net))
    assert all(k.startswith(('layer', 'patch', 'skip', 'fusion')) for k in official)
    state, notices = dehazeformer_converter.convert_state_dict(
        official, dehazeformer_converter.target_shapes(arch))
    assert set(state) == {'dehazer.' + k for k in net.state_dict()}
    for key, value in net.state_dict().items():
        assert torch.equal(state['dehazer.' + key], value)
    n_attn = sum(hasattr(m, 'relative_positions') for m in net.modules())
    assert notices == [f'dropped {n_attn} relative_positions buffers (recomputed from the '
                       'window size; checked)']


def test_dehazeformer_cli_writes_a_whole_model_checkpoint(tmp_path, capsys):
    torch.manual_seed(1)
    net = DehazeFormer('t')
    src, dst = tmp_path / 'dehazeformer-t.pth', tmp_path / 'converted.pth'
    torch.save(_official_checkpoint(net), src)
    assert dehazeformer_converter.main([str(src), str(dst), '--arch', 't']) == 0
    assert '687,404 parameters' in capsys.readouterr().out
    model = MODELS.build(dict(type='TwoStageDehazeFuse',
                              dehazer=dict(type='DehazeFormer', arch='t')))
    model.load_state_dict(torch.load(dst, weights_only=True)['state_dict'], strict=True)
    x = torch.rand(1, 3, 20, 24)
    model.eval()
    with torch.no_grad():
        expected = (net.eval()(x * 2 - 1) + 1) / 2
        assert torch.allclose(model(dict(vis=x, ir=x[:, :1]))['dehazed'], expected, atol=1e-6)
    assert dehazeformer_converter.main([str(src), str(dst), '--arch', 't']) == 2  # no overwrite


def test_dehazeformer_unmapped_or_misfitting_keys_are_errors():
    torch.manual_seed(2)
    net = DehazeFormer('t')
    official = dehazeformer_converter.official_state_dict(_official_checkpoint(net))
    target = dehazeformer_converter.target_shapes('t')
    extra = dict(official, **{'head.weight': torch.zeros(1)})
    with pytest.raises(dehazeformer_converter.ConversionError, match="'head.weight'"):
        dehazeformer_converter.convert_state_dict(extra, target)
    with pytest.raises(dehazeformer_converter.ConversionError, match='another --arch'):
        dehazeformer_converter.convert_state_dict(
            official, dehazeformer_converter.target_shapes('s'))


def _tf_tensors(net: U2FusionNet) -> dict:
    """U2FusionNet → the release's TF names and [kh, kw, in, out] layout."""
    names = ['Generator/encoder/conv1_1'] + [
        f'Generator/encoder/dense_block_conv{i}' for i in range(1, 6)] + [
        f'Generator_1/decoder/conv2_{i}' for i in range(1, 5)]
    convs = [net.conv_in, *net.dense, *net.decoder]
    out = {}
    for name, conv in zip(names, convs):
        out[f'{name}/kernel'] = conv.weight.detach().permute(2, 3, 1, 0).numpy()
        out[f'{name}/bias'] = conv.bias.detach().numpy()
    return out


def test_u2fusion_npz_converts_and_round_trips(tmp_path, capsys):
    torch.manual_seed(3)
    net = U2FusionNet()
    assert sum(p.numel() for p in net.parameters()) == 659_217
    src, dst = tmp_path / 'u2fusion.npz', tmp_path / 'u2fusion_mmhaze.pth'
    np.savez(src, **_tf_tensors(net))
    assert u2fusion_converter.main([str(src), str(dst)]) == 0
    assert '20 tensors, 659,217 parameters' in capsys.readouterr().out
    state = torch.load(dst, weights_only=True)['state_dict']
    assert set(state) == {'fuser.' + k for k in net.state_dict()}
    for key, value in net.state_dict().items():
        assert torch.equal(state['fuser.' + key], value)


def test_u2fusion_unknown_tensors_and_missing_tensorflow_are_clear_errors(tmp_path):
    net = U2FusionNet()
    tensors = _tf_tensors(net)
    target = u2fusion_converter.target_shapes()
    with pytest.raises(u2fusion_converter.ConversionError, match='global_step'):
        u2fusion_converter.convert_tensors(dict(tensors, global_step=np.zeros(())), target)
    del tensors['Generator_1/decoder/conv2_4/bias']
    with pytest.raises(u2fusion_converter.ConversionError, match='decoder.3.bias'):
        u2fusion_converter.convert_tensors(tensors, target)
    prefix = tmp_path / 'model.ckpt'
    (tmp_path / 'model.ckpt.index').write_bytes(b'')
    try:
        import tensorflow  # noqa: F401
        pytest.skip('TensorFlow is installed: the .npz fallback message does not apply')
    except ImportError:
        pass
    with pytest.raises(u2fusion_converter.ConversionError, match='export the checkpoint'):
        u2fusion_converter.read_checkpoint(str(prefix))


@pytest.mark.shared_data('u2fusion/u2fusion_tf_weights.npz')
def test_u2fusion_release_converts(shared_data):
    state = u2fusion_converter.convert(str(shared_data / 'u2fusion/u2fusion_tf_weights.npz'))
    assert len(state) == 20
    assert sum(v.numel() for v in state.values()) == 659_217
    assert state['fuser.dense.4.weight'].shape == (44, 220, 3, 3)
    assert math.isfinite(float(state['fuser.decoder.3.weight'].abs().sum()))
