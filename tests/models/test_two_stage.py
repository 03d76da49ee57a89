"""TwoStageDehazeFuse: colour handling, value ranges, the release protocol on predictions,
frozen and staged training (dehazer only, fuser only on dehazed images, end to end)."""
import copy

import kornia
import pytest
import torch
from helpers import write_random_vgg
from mmengine.dataset import pseudo_collate
from mmengine.optim import OptimWrapper

from mmhaze.datasets import SyntheticFusionDataset
from mmhaze.models.protocols import ReleaseProtocol
from mmhaze.registry import MODELS

TINY_DEHAZEFORMER = dict(type='DehazeFormer', arch='t', embed_dims=(8, 16, 16, 16, 8),
                         depths=(1, 1, 2, 1, 1), num_heads=(1, 2, 2, 1, 1), window_size=4)
TINY_U2FUSION = dict(type='U2FusionNet', growth=4, decoder_channels=(8, 4))


def _batch(n=2, size=32, seed=3, sizes=None):
    """``n`` synthetic pairs of ``size``², or one pair per (h, w) of ``sizes``."""
    sizes = sizes or [(size, size)] * n
    items = [SyntheticFusionDataset(num_samples=i + 1, img_size=hw, seed=seed,
                                    pipeline=[dict(type='PackFusionInputs')])[i]
             for i, hw in enumerate(sizes)]
    return pseudo_collate(items)


def _build(**kwargs):
    cfg = dict(type='TwoStageDehazeFuse',
               data_preprocessor=dict(type='FusionDataPreprocessor', ir_channels=1))
    cfg.update(kwargs)
    return MODELS.build(cfg)


def _params(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def test_ycbcr_mode_fuses_luma_and_restores_the_dehazed_chroma():
    model = _build(fuser=dict(type='AverageFusion'), color_mode='ycbcr').eval()
    vis, ir = torch.rand(2, 3, 16, 16), torch.rand(2, 1, 16, 16)
    with torch.no_grad():
        out = model.forward_networks(dict(vis=vis, ir=ir), model.batch_fields(
            dict(vis=vis, ir=ir), None))
    ycbcr = kornia.color.rgb_to_ycbcr(vis)
    assert torch.allclose(out['fuser_vis'], ycbcr[:, :1]) and torch.equal(out['fuser_ir'], ir)
    assert torch.allclose(out['fuser_out'], (ycbcr[:, :1] + ir) / 2)
    expected = kornia.color.ycbcr_to_rgb(torch.cat([(ycbcr[:, :1] + ir) / 2, ycbcr[:, 1:]], 1))
    assert torch.allclose(out['fused'], expected.clamp(0, 1), atol=1e-6)


def test_rgb_mode_fuses_every_channel_with_the_ir_broadcast():
    model = _build(fuser=dict(type='AverageFusion'), color_mode='rgb').eval()
    vis, ir = torch.rand(1, 3, 8, 8), torch.rand(1, 1, 8, 8)
    with torch.no_grad():
        fused = model(dict(vis=vis, ir=ir))['fused']
    assert torch.allclose(fused, (vis + ir) / 2)


def test_each_network_gets_its_own_value_range():
    torch.manual_seed(0)
    model = _build(dehazer=TINY_DEHAZEFORMER, fuser=dict(type='AverageFusion'),
                   data_preprocessor=dict(type='FusionDataPreprocessor', input_range=(-1, 1)),
                   color_mode='rgb').eval()
    vis, ir = torch.rand(1, 3, 12, 12) * 2 - 1, torch.rand(1, 1, 12, 12) * 2 - 1
    with torch.no_grad():
        out = model(dict(vis=vis, ir=ir))
        dehazed = model.dehazer(vis)  # DehazeFormer works in [-1, 1]: no conversion
    assert torch.allclose(out['dehazed'], dehazed, atol=1e-6)
    # AverageFusion works in [0, 1] on the dehazed image clipped to [0, 1]
    d01, ir01 = ((dehazed + 1) / 2).clamp(0, 1), (ir + 1) / 2
    assert torch.allclose(out['fused'], (d01 + ir01) - 1, atol=1e-6)


def test_release_protocol_applies_to_predictions_per_unpadded_image():
    torch.manual_seed(1)
    model = _build(fuser=TINY_U2FUSION, protocol='release',
                   data_preprocessor=dict(type='FusionDataPreprocessor', ir_channels=1,
                                          pad_size_divisor=8))
    model.eval()
    assert not model.tile_exact  # the stretch needs the whole image
    sizes = [(27, 30), (32, 21)]

    def gray_batch(sizes):  # gray visible images (TNO-like): the fused image is its Y
        data = _batch(2, 32, sizes=sizes)
        data['inputs']['vis'] = [(v.mean(0, keepdim=True) * 255).round().expand(3, -1, -1) / 255
                                 for v in data['inputs']['vis']]
        return data

    with torch.no_grad():
        released = model.test_step(gray_batch(sizes))
        model.protocol = ReleaseProtocol(stretch=None, rounding=None)  # the raw output
        raw = model.test_step(gray_batch(sizes))
    for i, (sample, plain) in enumerate(zip(released, raw)):
        fused = sample.pred_fused.data
        assert fused.shape[-2:] == sizes[i]
        # min–max stretched over the image itself (not its padded batch), rounded half up
        y = plain.pred_fused.data[0].double()
        expected = torch.floor((y - y.min()) * 255 / (y.max() - y.min()) + 0.5)
        levels = fused[0].double() * 255
        assert torch.allclose(levels, levels.round(), atol=1e-3)
        assert (levels.min().round(), levels.max().round()) == (0, 255)
        # up to float noise at exact half levels (the chroma round trip moves y by ~1e-8)
        diff = (levels - expected).abs()
        assert diff.max() < 1 + 1e-3 and (diff > 1e-3).float().mean() < 0.01
    # in training the plain network output is used: no stretch, no quantisation
    model.train()
    fields = model.batch_fields(*model.data_preprocessor(_batch(2, 16), True).values())
    inputs = model.data_preprocessor(_batch(2, 16), True)['inputs']
    with torch.no_grad():
        out = model.forward_networks(inputs, fields)
    assert not torch.allclose(out['fuser_out'] * 255, (out['fuser_out'] * 255).round())


def test_frozen_dehazer_is_bit_identical_after_training_steps(tmp_path):
    torch.manual_seed(2)
    vgg = tmp_path / 'vgg16.pth'
    write_random_vgg(vgg)
    model = _build(
        dehazer=dict(TINY_DEHAZEFORMER, frozen=True), fuser=TINY_U2FUSION,
        losses=dict(sim=dict(type='U2FusionLoss', vgg_weights=str(vgg), vgg_input_size=16,
                             fused='fuser_out', source1='fuser_ir', source2='fuser_vis')))
    model.train()
    assert not model.dehazer.training  # frozen: eval mode through train()
    before_d, before_f = _params(model.dehazer), _params(model.fuser)
    wrapper = OptimWrapper(torch.optim.Adam([p for p in model.parameters() if p.requires_grad],
                                            lr=1e-2))
    for seed in range(3):
        log = model.train_step(_batch(2, 16, seed=seed), wrapper)
        assert set(log) == {'loss', 'loss_sim'} and torch.isfinite(log['loss'])
    after_d, after_f = _params(model.dehazer), _params(model.fuser)
    assert all(torch.equal(before_d[k], after_d[k]) for k in before_d)
    assert any(not torch.equal(before_f[k], after_f[k]) for k in before_f)
    assert not any(k.startswith('losses.') for k in model.state_dict())  # VGG not saved


def test_stages_train_the_dehazer_alone_then_the_fuser_on_dehazed_images(tmp_path):
    torch.manual_seed(3)
    vgg = tmp_path / 'vgg16.pth'
    write_random_vgg(vgg)
    model = _build(
        dehazer=TINY_DEHAZEFORMER, fuser=TINY_U2FUSION,
        losses=dict(
            dehaze=dict(type='L1Loss', pred='dehazed', target='gt_clear'),
            sim=dict(type='U2FusionLoss', vgg_weights=str(vgg), vgg_input_size=16,
                     fused='fuser_out', source1='fuser_ir', source2='fuser_vis')),
        stages=[dict(name='dehazer', iters=1, train=['dehazer'], losses=['dehaze']),
                dict(name='fuser', iters=1, train=['fuser'], losses=['sim']),
                dict(name='joint', iters=1, train=['dehazer', 'fuser'])])
    calls = []
    model.fuser.register_forward_hook(lambda *a: calls.append('fuser'))
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    changed = {}
    for index, name in enumerate(('dehazer', 'fuser', 'joint')):
        model.set_stage(index)
        model.train()
        before_d, before_f = _params(model.dehazer), _params(model.fuser)
        calls.clear()
        log = model.train_step(_batch(2, 16, seed=index), wrapper)
        changed[name] = (any(not torch.equal(v, model.dehazer.state_dict()[k])
                             for k, v in before_d.items()),
                         any(not torch.equal(v, model.fuser.state_dict()[k])
                             for k, v in before_f.items()), bool(calls), sorted(log))
    assert changed['dehazer'] == (True, False, False, ['loss', 'loss_dehaze'])
    assert changed['fuser'] == (False, True, True, ['loss', 'loss_sim'])
    assert changed['joint'][:3] == (True, True, True)


def test_single_stage_models_and_clear_errors():
    dehaze_only = _build(dehazer=dict(type='DarkChannelPriorDehazer'))
    assert dehaze_only.output_names() == {'dehazed'}
    fuse_only = _build(fuser=dict(type='MaxAbsFusion'), color_mode='rgb').eval()
    assert fuse_only.tile_exact
    vis, ir = torch.rand(1, 3, 8, 8), torch.rand(1, 1, 8, 8)
    assert torch.equal(fuse_only(dict(vis=vis, ir=ir))['fused'], torch.maximum(vis, ir))
    with pytest.raises(ValueError, match='color_mode'):
        _build(fuser=dict(type='AverageFusion'), color_mode='lab')
    with pytest.raises(ValueError, match='joint'):
        _build(network=dict(type='AverageFusion'))
    with pytest.raises(ValueError, match='declares the protocols'):
        _build(fuser=dict(type='AverageFusion'), protocol='release')
    # a 3-channel IR is fused through its Y in 'ycbcr' mode
    y_mode = _build(fuser=dict(type='MaxAbsFusion'), protocol=dict(type='PlainProtocol'),
                    data_preprocessor=dict(type='FusionDataPreprocessor', ir_channels=3)).eval()
    ir3 = ir.expand(1, 3, 8, 8)
    inputs = dict(vis=vis, ir=ir3)
    out = y_mode.forward_networks(inputs, y_mode.batch_fields(inputs, None))
    assert out['fuser_ir'].shape == (1, 1, 8, 8) and torch.allclose(out['fuser_ir'], ir, atol=1e-6)
    copy.deepcopy(fuse_only)  # the protocol objects survive deep copies (EMA, DDP helpers)
