"""The compact baseline: shapes, [0, 1] predictions, gradients, and losses that fall."""
import torch
from mmengine.dataset import pseudo_collate
from mmengine.optim import OptimWrapper

from mmhaze.datasets import SyntheticFusionDataset
from mmhaze.registry import MODELS


def _model(**kw):
    cfg = dict(type='ConvDehazeFuser', channels=16, dilations=(1, 2, 4),
               dehaze_loss=dict(type='L1Loss', loss_weight=2.0),
               intensity_loss=dict(type='MaxIntensityLoss'),
               gradient_loss=dict(type='MaxGradientLoss'))
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


def test_fusion_reference_choices():
    model = _model(fusion_reference='vis')
    data = model.data_preprocessor(_data(1), True)
    for s in data['data_samples']:
        del s.gt_clear  # the fusion losses no longer need the clear image
    model.dehaze_loss = None
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_intensity', 'loss_gradient'}
