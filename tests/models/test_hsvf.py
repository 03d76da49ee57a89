"""The HSVF model: outputs and predictions, region discriminators' masks, what each adversarial
update changes, stage switching, and the gradients DDP needs. The model is the tiny config's."""
import copy
import dataclasses

import pytest
import torch
from hsvf_helpers import hsvf_batch, tiny_hsvf_cfg

from mmhaze.engine.optimizers import MultiOptimWrapperConstructor
from mmhaze.models.base_models import fixed_parameters
from mmhaze.models.task_models.hsvf import one_hot_masks
from mmhaze.registry import MODELS


@pytest.fixture(scope='module')
def cfg(repo_root):
    return tiny_hsvf_cfg(repo_root)


def build(cfg, **overrides):
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.update(overrides)
    torch.manual_seed(0)
    return MODELS.build(model_cfg)


def optimizers(cfg, model):
    options = copy.deepcopy(dict(cfg.optim_wrapper))
    options.pop('constructor')
    return MultiOptimWrapperConstructor(options)(model)


def snapshot(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def changed(before, module):
    return {k.split('.', 1)[0] for k, v in module.state_dict().items()
            if not torch.equal(v, before[k])}


def test_outputs_predictions_and_output_switch(cfg):
    model = build(cfg).eval()
    data = model.data_preprocessor(hsvf_batch(2, (30, 44)), False)
    assert data['inputs']['vis'].shape[-2:] == (32, 64)  # padded to 32 for HRNet
    with torch.no_grad():
        out = model(data['inputs'], mode='tensor')
        assert set(out) == {'dehazed', 'fused', 'seg_logits'}
        assert out['seg_logits'].shape == (2, 7, 32, 64)
        samples = model.test_step(hsvf_batch(2, (30, 44)))
    s = samples[0]
    assert s.pred_fused.shape == s.pred_dehazed.shape == (30, 44)
    assert s.pred_sem_seg.shape == (30, 44) and s.pred_sem_seg.data.max() < 7
    assert 0 <= s.pred_fused.data.min() and s.pred_fused.data.max() <= 1
    # output='semantic' / 'visual' pick O_SR / O_VF of the same trained model.
    fields = model.batch_fields(data['inputs'], None)
    with torch.no_grad():
        full = model.forward_networks(data['inputs'], fields,
                                      {'final_fused', 'dehazed', 'visual_fused'})
        model.output = 'semantic'
        assert torch.equal(model(data['inputs'], mode='tensor')['fused'], full['dehazed'])
        model.output = 'visual'
        assert torch.equal(model(data['inputs'], mode='tensor')['fused'], full['visual_fused'])
    assert not torch.equal(full['final_fused'], full['dehazed'])


def test_stage_switching_sets_trainable_networks_and_active_losses(cfg):
    model = build(cfg)
    expected = {
        'semantic': ({'semantic'}, {'align', 'seg_vis', 'seg_nir', 'recon_vis', 'recon_nir'}),
        'reconstruction': ({'generator', 'discriminators'}, {'sr_adv', 'sr_content'}),
        'visual': ({'visual'}, {'vf_intensity', 'vf_gradient'}),
        'joint': ({'semantic', 'generator', 'visual', 'final', 'discriminators'},
                  set(model.losses) - {'sr_adv_disc'}),
    }
    assert [s.name for s in model.stages] == list(expected)
    for i, (name, (nets, losses)) in enumerate(expected.items()):
        model.set_stage(i)
        trainable = {n for n in model.network_names
                     if any(p.requires_grad for p in model.get_network(n).parameters())}
        assert trainable == nets, name
        assert {t.name for t in model.active_losses('generator')} == losses, name
        disc = {t.name for t in model.active_losses('discriminator')}
        assert disc == ({'sr_adv_disc'} if 'discriminators' in nets else set()), name
    model.train()
    model.set_stage(2)  # networks that do not train keep eval mode
    assert model.visual.training and not model.semantic.training


def test_each_adversarial_update_changes_only_its_networks(cfg):
    model = build(cfg)
    model.train()
    optim = optimizers(cfg, model)
    data = hsvf_batch(2, 32, unpaired=True)
    model.set_stage(1)  # reconstruction: D update then G update
    before = snapshot(model)
    logs = model.train_step(data, optim)
    assert {'loss_sr_adv_disc', 'loss_disc', 'loss_sr_adv', 'loss_sr_content'} <= set(logs)
    # Semantic BN statistics too stay put: networks that do not train run in eval mode.
    assert changed(before, model) == {'generator', 'discriminators'}

    # The D update alone moves only the discriminators, the G update only the generator.
    model.stages = [dataclasses.replace(model.stages[1], train=('discriminators', ),
                                 losses=('sr_adv_disc', ), optimizers=('discriminators', )),
                    dataclasses.replace(model.stages[1], train=('generator', ),
                                 losses=('sr_adv', 'sr_content'), optimizers=('generator', ))]
    for index, net in ((0, 'discriminators'), (1, 'generator')):
        model.set_stage(index)
        before = snapshot(model)
        model.train_step(data, optim)
        assert changed(before, model) == {net}


def test_region_masks_follow_the_prediction_the_labels_and_the_clear_image(cfg):
    model = build(cfg).eval()
    data = model.data_preprocessor(hsvf_batch(2, 32, unpaired=True), True)
    inputs, samples = data['inputs'], data['data_samples']
    fields = model.batch_fields(inputs, samples)
    with torch.no_grad():
        outputs = model.forward_networks(inputs, fields, {'dehazed'})
        ns = model.namespace(outputs, inputs, fields, 'discriminator')
        fake, real = model.discriminator_inputs('building', ns)
        k = model.classes.index('building')
        assert torch.equal(fake[:, :3], outputs['dehazed'])
        assert torch.equal(fake[:, 3], (outputs['seg_logits'].argmax(1) == k).float())
        clear = fields['unpaired_clear']
        seg = model.get_network('semantic').segment(clear, 'vis')
        seg = torch.nn.functional.interpolate(seg, size=clear.shape[-2:], mode='bilinear')
        assert torch.equal(real[:, 3], (seg.argmax(1) == k).float())
    gt = build(cfg, region_masks=dict(fake='gt')).eval()
    with torch.no_grad():
        ns = gt.namespace(gt.forward_networks(inputs, fields, {'dehazed'}), inputs, fields)
        fake, _ = gt.discriminator_inputs('sky', ns)
    assert torch.equal(fake[:, 3:], (fields['gt_sem_seg'] == 0).float())


def test_one_hot_masks_ignore_label_255():
    masks = one_hot_masks(torch.tensor([[[0, 2], [255, 1]]]), 3)
    assert masks.shape == (1, 3, 2, 2)
    assert masks[0, :, 1, 0].sum() == 0 and masks[0, 2, 0, 1] == 1


def test_every_parameter_of_a_training_network_gets_a_gradient(cfg):
    """DDP (one per slot) needs it: here a class is absent from the batch."""
    model = build(cfg)
    model.train()
    model.set_stage(3)  # joint: everything trains
    data = model.data_preprocessor(hsvf_batch(2, 32, unpaired=True), True)
    absent = model.classes.index('building')

    def masks_without_building(ns):
        labels = ns('gt_sem_seg').clone()
        labels[labels == absent] = 255
        return one_hot_masks(labels, len(model.classes))

    model._fake_masks = model._real_masks = masks_without_building
    d_losses = model.step_losses(data['inputs'], data['data_samples'],
                                 model.active_losses('discriminator'), 'discriminator')
    sum(d_losses.values()).backward()
    building = model.discriminators['building']
    assert all(p.grad is not None for p in model.discriminators.parameters())
    assert all(p.grad.abs().sum() == 0 for p in building.parameters())  # no loss ...
    assert any(p.grad.abs().sum() > 0 for p in model.discriminators['sky'].parameters())
    model.zero_grad()
    with fixed_parameters(model.get_network('discriminators')):
        g_losses = model.loss(data['inputs'], data['data_samples'])
    sum(g_losses.values()).backward()
    for slot in ('semantic', 'generator', 'visual', 'final'):
        missing = [n for n, p in model.get_network(slot).named_parameters() if p.grad is None]
        assert missing == [], slot


def test_bad_configs_name_their_key(cfg):
    with pytest.raises(ValueError, match=r"model.discriminators.cloud: 'cloud' is not one of"):
        build(cfg, discriminators=dict(cloud=copy.deepcopy(cfg.model.discriminators.sky)))
    with pytest.raises(ValueError, match=r'model.data_preprocessor.input_range must be \(-1, 1\)'):
        build(cfg, data_preprocessor=dict(type='FusionDataPreprocessor', input_range=(0, 1)))
    with pytest.raises(ValueError, match=r"model.output='final': this model produces"):
        build(cfg, final=None, stages=None, output='final')
    with pytest.raises(ValueError, match=r'model.region_masks.real'):
        build(cfg, region_masks=dict(real='gt'))
