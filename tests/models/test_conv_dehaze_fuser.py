"""The compact baseline: shapes, [0, 1] predictions, gradients, and losses that fall."""
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.optim import OptimWrapper

from mmhaze.datasets import SyntheticFusionDataset
from mmhaze.registry import MODELS

LOSSES = dict(
    dehaze=dict(type='L1Loss', pred='dehazed', target='gt_clear', loss_weight=2.0),
    intensity=dict(type='MaxIntensityLoss', fused='fused', vis_ref='gt_clear', ir='ir'),
    gradient=dict(type='MaxGradientLoss', fused='fused', vis_ref='gt_clear', ir='ir'))


def _model(losses=LOSSES, **kw):
    cfg = dict(type='ConvDehazeFuser',
               network=dict(type='ConvDehazeFuseNet', channels=16, dilations=(1, 2, 4)),
               losses=losses)
    cfg.update(kw)
    return MODELS.build(cfg)


def _data(n=4, size=32, seed=0):
    ds = SyntheticFusionDataset(num_samples=n, img_size=size, seed=seed,
                                pipeline=[dict(type='PackFusionInputs')])
    return pseudo_collate([ds[i] for i in range(n)])


def test_predict_shapes_and_range_with_odd_sizes():
    model = _model(data_preprocessor=dict(type='FusionDataPreprocessor', pad_size_divisor=8))
    model.eval()
    ds = SyntheticFusionDataset(num_samples=2, img_size=(30, 37),
                                pipeline=[dict(type='PackFusionInputs')])
    out = model.test_step(pseudo_collate([ds[0], ds[1]]))
    assert len(out) == 2
    for s in out:
        assert s.pred_dehazed.shape == (30, 37) and s.pred_fused.shape == (30, 37)
        assert 0 <= s.pred_fused.data.min() and s.pred_fused.data.max() <= 1
    # The heads start at zero: the untrained model returns the hazy input as "dehazed".
    assert torch.allclose(out[0].pred_dehazed.data, out[0].vis.data, atol=1e-6)


def test_tensor_mode_and_gradients_reach_every_parameter():
    model = _model()
    data = model.data_preprocessor(_data(2), True)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_dehaze', 'loss_intensity', 'loss_gradient'}
    sum(losses.values()).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, name
    raw = model(data['inputs'], mode='tensor')
    assert raw['fused'].shape == (2, 3, 32, 32)


def test_losses_fall_over_training_iterations():
    torch.manual_seed(0)
    model = _model()
    optim = OptimWrapper(torch.optim.Adam(model.parameters(), lr=2e-3))
    batch = _data(4, 32, seed=5)
    first = None
    for _ in range(40):
        log = model.train_step(batch, optim)
        first = first if first is not None else {k: v.item() for k, v in log.items()}
    last = {k: v.item() for k, v in log.items()}
    assert last['loss'] < 0.6 * first['loss']
    assert last['loss_dehaze'] < 0.5 * first['loss_dehaze']


def test_fusion_reference_is_a_binding_of_the_loss():
    """The fusion losses' visible reference is whatever the config binds: the hazy input, or the
    model's own dehazed output with the gradient stopped (the old `fusion_reference` option)."""
    hazy_ref = dict(intensity=dict(type='MaxIntensityLoss', fused='fused', vis_ref='vis',
                                   ir='ir'),
                    gradient=dict(type='MaxGradientLoss', fused='fused', vis_ref='vis', ir='ir'))
    model = _model(losses=hazy_ref)
    data = model.data_preprocessor(_data(1), True)
    for s in data['data_samples']:
        del s.gt_clear  # the fusion losses no longer need the clear image
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_intensity', 'loss_gradient'}
    # Untrained, fused == dehazed == hazy input: the reference is the input itself.
    own = _model(losses=dict(intensity=dict(type='MaxIntensityLoss', fused='fused', ir='ir',
                                            vis_ref=dict(key='dehazed', detach=True))))
    own.load_state_dict(model.state_dict())
    got = own(**data, mode='loss')['loss_intensity']
    assert got.item() == pytest.approx(losses['loss_intensity'].item(), abs=1e-7)


def test_loss_configs_are_checked_when_the_model_is_built():
    with pytest.raises(ValueError, match=r"model.losses.dehaze.*'dehazd' is not something"):
        _model(losses=dict(dehaze=dict(type='L1Loss', pred='dehazd', target='gt_clear')))
    with pytest.raises(ValueError, match=r"model.losses.dehaze: L1Loss needs its inputs "
                                         r"\['target'\]"):
        _model(losses=dict(dehaze=dict(type='L1Loss', pred='dehazed')))
    with pytest.raises(ValueError, match='must be a dict name'):
        _model(losses=[dict(type='L1Loss', pred='dehazed', target='gt_clear')])
