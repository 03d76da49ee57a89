"""IASSF as a whole: parameter count, shapes at odd sizes, switches, and a loss that falls."""
import warnings

import pytest
import torch
from helpers import REPO_ROOT
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import OptimWrapper

from mmhaze.datasets import SyntheticFusionDataset
from mmhaze.registry import MODELS

OFFICIAL = REPO_ROOT / 'configs/iassf/iassf_official_msrs.py'
TINY = REPO_ROOT / 'configs/iassf/iassf_tiny_synthetic.py'


def _tiny(**overrides):
    """The tiny IASSF with overrides of its restoration network (``model.dehazer``)."""
    cfg = Config.fromfile(str(TINY))
    cfg.merge_from_dict({f'model.dehazer.{k}': v for k, v in overrides.items()})
    return MODELS.build(cfg.model)


def _run(model, vis, ir):
    inputs = dict(vis=vis, ir=ir)
    return model.forward_networks(inputs, model.batch_fields(inputs, None))


def _batch(n=2, size=32, seed=0):
    ds = SyntheticFusionDataset(num_samples=n, img_size=size, seed=seed,
                                pipeline=[dict(type='PackFusionInputs')])
    return pseudo_collate([ds[i] for i in range(n)])


def test_official_config_has_the_official_parameter_count():
    model = MODELS.build(Config.fromfile(str(OFFICIAL)).model)
    total = sum(p.numel() for p in model.parameters())
    assert total == 11_197_422  # official 11,198,576 minus the 1,154 unused parameters
    pools = model.dehazer.restoration_prompt.pool.prompts.numel() + \
        model.fuser.prompt_generator.pool.prompts.numel()
    assert pools == 9_830_400
    assert sum(p.numel() for p in model.dehazer.restoration_head.parameters()) == 1_290_091
    assert sum(p.numel() for p in model.fuser.parameters()) == 2_013_681


@pytest.mark.parametrize('size', [(250, 250), (222, 301)])
def test_odd_sizes_are_padded_and_cropped_back(size):
    model = _tiny().eval()
    vis, ir = torch.rand(1, 3, *size) * 2 - 1, torch.rand(1, 3, *size) * 2 - 1
    with torch.no_grad():
        out = model(dict(vis=vis, ir=ir), mode='tensor')
        density = _run(model, vis, ir)['haze_density']
    assert set(out) == {'dehazed', 'fused'}  # the export contract: no auxiliary outputs
    assert out['dehazed'].shape == out['fused'].shape == (1, 3, *size)
    assert density.shape == (1, 1, *size)
    assert torch.isfinite(out['fused']).all()


def test_predict_returns_unpadded_unit_range_images_and_warns_once_for_1_channel_ir():
    model = _tiny().eval()
    ds = SyntheticFusionDataset(num_samples=2, img_size=(37, 45),
                                pipeline=[dict(type='PackFusionInputs')])
    data = pseudo_collate([ds[0], ds[1]])
    assert data['inputs']['ir'][0].shape[0] == 1  # thermal is loaded with one channel
    model.data_preprocessor._warned.clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        out = model.test_step(data)
        model.test_step(data)
    replicate = [w for w in caught if 'replicating' in str(w.message)]
    assert len(replicate) == 1
    for sample in out:
        for field in ('pred_dehazed', 'pred_fused'):
            img = getattr(sample, field).data
            assert img.shape == (3, 37, 45) and 0 <= img.min() and img.max() <= 1


def test_feature_blend_switches():
    torch.manual_seed(0)
    vis, ir = torch.rand(1, 3, 32, 32) * 2 - 1, torch.rand(1, 3, 32, 32) * 2 - 1
    ir2 = torch.rand(1, 3, 32, 32) * 2 - 1
    vis_only = _tiny(feature_blend='vis_only', restoration_prompt=None,
                     restoration_embedding=None, haze_density=None).eval()
    density = _tiny().eval()
    with torch.no_grad():
        a, b = _run(vis_only, vis, ir), _run(vis_only, vis, ir2)
        c, d = _run(density, vis, ir), _run(density, vis, ir2)
    assert torch.equal(a['dehazed'], b['dehazed'])  # IR does not reach the restoration
    assert not torch.equal(a['fused'], b['fused'])  # but it reaches the fusion
    assert not torch.allclose(c['dehazed'], d['dehazed'])
    assert vis_only.dehazer.haze_density is None and 'haze_density' not in a
    with pytest.raises(ValueError, match='go together'):
        _tiny(restoration_prompt=None)
    with pytest.raises(ValueError, match='haze_density'):
        _tiny(haze_density=None)
    with pytest.raises(ValueError, match='feature_blend'):
        _tiny(feature_blend='concat')


def test_configured_but_unused_parts_are_refused_by_name():
    """A part the chosen options never use would get no gradient (and break DDP)."""
    with pytest.raises(ValueError, match=r"feature_blend='vis_only' does not use "
                                         r"\['restoration_prompt', 'restoration_embedding'\]"):
        _tiny(feature_blend='vis_only', haze_density=None)
    with pytest.raises(ValueError, match=r"feature_blend='add' does not use \['haze_density'\]: "
                                         r"set haze_density=None"):
        _tiny(feature_blend='add')


def test_double_vis_residual_changes_the_restoration_input():
    torch.manual_seed(1)
    model = _tiny().eval()
    f_vis, f_ir = torch.randn(1, 12, 16, 16), torch.randn(1, 12, 16, 16)
    with torch.no_grad():
        doubled = model.dehazer.restore_features(f_vis, f_ir)['features']
        model.dehazer.double_vis_residual = False
        single = model.dehazer.restore_features(f_vis, f_ir)['features']
    assert torch.allclose(doubled - single, f_vis, atol=1e-6)


def test_every_parameter_gets_a_gradient_in_the_paper_configuration():
    model = _tiny(haze_density=dict(preset='paper'), double_vis_residual=False,
                  restoration_prompt=dict(diff_conv=True, out_conv1x1=True))
    losses = model.loss(*_unpack(model, _batch()))
    sum(losses.values()).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing
    assert set(losses) == {'loss_dehaze', 'loss_intensity', 'loss_gradient'}


def _unpack(model, data):
    data = model.data_preprocessor(data, training=True)
    return data['inputs'], data['data_samples']


def test_loss_falls_over_50_iterations_on_synthetic_data():
    torch.manual_seed(0)
    model = _tiny()
    optim = OptimWrapper(torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.01))
    data = [_batch(4, 32, seed=s) for s in range(5)]
    history = []
    for it in range(50):
        losses = model.train_step(data[it % 5], optim)
        history.append(losses['loss'].detach().item())
    first, last = sum(history[:10]) / 10, sum(history[-10:]) / 10
    assert last < 0.75 * first, (first, last)
