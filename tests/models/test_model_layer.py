"""The model layer: named losses, batched fields, pretrained and frozen parts, several optimizers,
adversarial updates and training stages — each asserted on numbers."""
import copy

import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.optim import OptimWrapper, OptimWrapperDict, build_optim_wrapper

from mmhaze.datasets import SyntheticFusionDataset
from mmhaze.models.base_models import LossTerm, parse_loss_entry
from mmhaze.models.losses import FeatureMatchingLoss, HingeGANLoss, LSGANLoss, VanillaGANLoss
from mmhaze.registry import MODELS
from mmhaze.utils.checkpoint import save_safe_checkpoint

# A small DehazeFormer dehazer in front of a small prompt-fusion U-Net: two real networks.
DEHAZER = dict(type='DehazeFormerUNet', arch='t', in_channels=3, out_channels=4,
               soft_reconstruction=True, embed_dims=(4, 8, 8, 8, 4), depths=(1, 1, 1, 1, 1),
               num_heads=(1, 1, 1, 1, 1), window_size=4)
FUSER = dict(type='PromptEmbeddingFusionUNet', in_channels=4, out_channels=3, base_channels=4,
             num_blocks=1, window_size=4, prompt_generator=None)
LOSSES = dict(
    dehaze=dict(type='L1Loss', pred='dehazed', target='gt_clear'),
    intensity=dict(type='MaxIntensityLoss', fused='fused', vis_ref='gt_clear', ir='ir'))
DISC = dict(type='PatchGANDiscriminator', in_channels=3, base_channels=4, num_layers=2,
            num_scales=2, fake='dehazed', real='unpaired_clear')
GAN_LOSSES = dict(gan=dict(type='HingeGANLoss', fake='d_fake', loss_weight=0.1),
                  gan_disc=dict(type='HingeGANLoss', fake='d_fake', real='d_real',
                                step='discriminator'))


def build(dehazer=DEHAZER, fuser=FUSER, losses=LOSSES, **kw):
    return MODELS.build(dict(type='DehazeFuseModel', dehazer=copy.deepcopy(dehazer),
                             fuser=copy.deepcopy(fuser), losses=copy.deepcopy(losses), **kw))


def batch(n=2, size=32, seed=0, unpaired=False, pipeline=None):
    ds = SyntheticFusionDataset(num_samples=n, img_size=size, seed=seed, unpaired_clear=unpaired,
                                pipeline=pipeline or [dict(type='PackFusionInputs')])
    return pseudo_collate([ds[i] for i in range(n)])


def snapshot(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def changed(before, module):
    return {k for k, v in module.state_dict().items() if not torch.equal(v, before[k])}


def params_of(module):
    return {id(p) for p in module.parameters()}


# ---------------------------------------------------------------------- losses keyed by name
def test_loss_terms_bind_namespace_keys_and_log_as_loss_name():
    model = build()
    data = model.data_preprocessor(batch(), True)
    losses = model(**data, mode='loss')
    assert list(losses) == ['loss_dehaze', 'loss_intensity']
    clear = model.data_preprocessor.stack_field(data['data_samples'], 'gt_clear',
                                                data['inputs']['vis'])
    out = model.forward_networks(data['inputs'], model.batch_fields(data['inputs'], None))
    assert losses['loss_dehaze'].item() == pytest.approx(
        (out['dehazed'] - clear).abs().mean().item(), abs=1e-6)


def test_detached_binding_stops_the_gradient_of_that_input_only():
    x = torch.rand(2, 3, requires_grad=True)
    y = torch.rand(2, 3, requires_grad=True)
    term = LossTerm(parse_loss_entry(
        't', dict(type='L1Loss', pred='x', target=dict(key='y', detach=True)), 'model.losses.t'))
    term(dict(x=x, y=y).__getitem__).backward()
    assert x.grad is not None and x.grad.abs().sum() > 0 and y.grad is None


def test_a_none_entry_drops_an_inherited_loss_and_bad_entries_name_their_key():
    model = build(losses=dict(LOSSES, intensity=None))
    assert list(model.losses) == ['dehaze']
    with pytest.raises(ValueError, match=r"model.losses.x.step must be one of"):
        build(losses=dict(x=dict(type='L1Loss', pred='dehazed', target='gt_clear', step='d')))
    with pytest.raises(ValueError, match=r"model.losses.x.pred: 'dehazd' is not something"):
        build(losses=dict(x=dict(type='L1Loss', pred='dehazd', target='gt_clear')))


def test_gan_losses_known_values():
    real, fake = torch.tensor([[2.0, 0.5]]), torch.tensor([[-2.0, 0.5]])
    hinge, ls, van = HingeGANLoss(), LSGANLoss(), VanillaGANLoss()
    assert hinge(fake, real).item() == pytest.approx(((0 + 0.5) / 2) + ((0 + 1.5) / 2))
    assert hinge(fake).item() == pytest.approx(0.75)  # −mean(fake)
    assert ls(fake, real).item() == pytest.approx(0.5 * (1 + 0.25) / 2 + 0.5 * (4 + 0.25) / 2)
    assert ls(fake).item() == pytest.approx(0.5 * (9 + 0.25) / 2)
    sp = torch.nn.functional.softplus
    assert van(fake).item() == pytest.approx(sp(-fake).mean().item(), abs=1e-6)
    # Multi-scale outputs average over scales; an absent discriminator (None) counts for nothing.
    scales = [[torch.zeros(1), torch.full((1, 1, 2, 2), -1.0)],
              [torch.zeros(1), torch.full((1, 1, 1, 1), -3.0)]]
    assert hinge([scales, None]).item() == pytest.approx(2.0)
    assert hinge([None, None]).item() == 0
    fm = FeatureMatchingLoss()([[torch.ones(1, 2), torch.zeros(1)]],
                               [[torch.zeros(1, 2), torch.ones(1)]])
    assert fm.item() == pytest.approx(1.0)  # features only, not the logits


# ---------------------------------------------------------------------- batched fields
class LabelEcho(torch.nn.Module):
    """A fuser that declares it consumes gt_sem_seg and returns it as an extra output."""

    input_fields = ('gt_sem_seg',)
    extra_outputs = ('seen_labels',)

    def __init__(self):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.ones(()))

    def forward(self, vis, ir, gt_sem_seg=None):
        return dict(fused=vis * self.scale, seen_labels=gt_sem_seg)


def test_networks_receive_the_batched_fields_they_declare():
    MODELS.register_module('LabelEcho', module=LabelEcho, force=True)
    model = build(fuser=dict(type='LabelEcho'),
                  data_preprocessor=dict(type='FusionDataPreprocessor', pad_size_divisor=16))
    data = model.data_preprocessor(batch(2, (30, 37)), True)
    fields = model.batch_fields(data['inputs'], data['data_samples'])
    labels = model.forward_networks(data['inputs'], fields)['seen_labels']
    assert labels.shape == (2, 1, 32, 48) and labels.dtype == torch.int64
    assert (labels[:, :, 30:] == 255).all() and (labels[:, :, :, 37:] == 255).all()
    assert torch.equal(labels[0, :, :30, :37], data['data_samples'][0].gt_sem_seg.data)
    assert model.forward_networks(data['inputs'], model.batch_fields(data['inputs'], None))[
        'seen_labels'] is None  # inference without labels


def test_unpaired_clear_is_cropped_packed_and_stacked_at_its_own_size():
    pipeline = [dict(type='RandomCropUnpaired', crop_size=24), dict(type='PackFusionInputs')]
    model = build(data_preprocessor=dict(type='FusionDataPreprocessor', input_range=(-1, 1),
                                         pad_size_divisor=16))
    data = model.data_preprocessor(batch(2, (30, 37), unpaired=True, pipeline=pipeline), True)
    assert data['inputs']['vis'].shape[-2:] == (32, 48)
    unpaired = model.batch_fields(data['inputs'], data['data_samples'])['unpaired_clear']
    assert unpaired.shape == (2, 3, 24, 24)
    assert unpaired.min() >= -1 and unpaired.max() <= 1 and unpaired.min() < 0  # model range
    raw = data['data_samples'][1].unpaired_clear.data
    assert torch.allclose(unpaired[1], raw * 2 - 1)


# ---------------------------------------------------------------------- pretrained and frozen
def test_pretrained_prefix_loads_one_network_from_a_whole_model_checkpoint(tmp_path):
    torch.manual_seed(0)
    source = build()
    path = tmp_path / 'whole.pth'
    save_safe_checkpoint(dict(state_dict=source.state_dict(), meta={}), str(path))
    torch.manual_seed(1)
    model = build(dehazer=dict(DEHAZER, init_cfg=dict(type='Pretrained', checkpoint=str(path),
                                                      prefix='dehazer.')))
    model.init_weights()
    for k, v in model.dehazer.state_dict().items():
        assert torch.equal(v, source.dehazer.state_dict()[k]), k
    assert not torch.equal(model.fuser.head.weight, source.fuser.head.weight)
    missing = build(dehazer=dict(DEHAZER, init_cfg=dict(type='Pretrained',
                                                        checkpoint=str(tmp_path / 'no.pth'))))
    with pytest.raises(FileNotFoundError, match=r'model.dehazer.init_cfg.checkpoint: .*no.pth '
                                                r'not found'):
        missing.init_weights()
    wrong = build(dehazer=dict(DEHAZER, init_cfg=dict(type='Pretrained', checkpoint=str(path),
                                                      prefix='generator.')))
    with pytest.raises(KeyError, match=r"no key of .* starts with 'generator.'; its keys start "
                                       r"with dehazer., fuser."):
        wrong.init_weights()


def test_a_frozen_network_stays_in_eval_mode_out_of_the_optimizer_and_bit_identical():
    torch.manual_seed(0)
    model = build(dehazer=dict(DEHAZER, frozen=True))
    model.train()
    assert not model.dehazer.training and model.fuser.training
    assert not any(p.requires_grad for p in model.dehazer.parameters())
    optim = build_optim_wrapper(model, dict(constructor='MultiOptimWrapperConstructor',
                                            optimizer=dict(type='AdamW', lr=1e-2)))
    held = {id(p) for g in optim.optimizer.param_groups for p in g['params']}
    assert held == params_of(model.fuser)
    before_d, before_f = snapshot(model.dehazer), snapshot(model.fuser)
    for seed in range(3):
        log = model.train_step(batch(seed=seed), optim)
    assert set(log) == {'loss', 'loss_dehaze', 'loss_intensity'}
    assert not changed(before_d, model.dehazer)  # bit-identical, buffers included
    assert changed(before_f, model.fuser)


# ---------------------------------------------------------------------- several optimizers
def multi_optim(model, **entries):
    return build_optim_wrapper(model, dict(constructor='MultiOptimWrapperConstructor',
                                           **entries))


def adam(**kw):
    return dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-2), **kw)


def test_multi_optimizer_constructor_selects_sub_networks_by_name():
    model = build()
    optim = multi_optim(model, dehazer=adam(), fuser=dict(
        type='OptimWrapper', optimizer=dict(type='SGD', lr=0.5, momentum=0.9),
        paramwise_cfg=dict(custom_keys={'head': dict(lr_mult=0.1)})))
    assert isinstance(optim, OptimWrapperDict) and list(optim.keys()) == ['dehazer', 'fuser']
    held = {k: {id(p) for g in w.optimizer.param_groups for p in g['params']}
            for k, w in optim.items()}
    assert held['dehazer'] == params_of(model.dehazer)
    assert held['fuser'] == params_of(model.fuser)
    head = {id(model.fuser.head.weight), id(model.fuser.head.bias)}
    lrs = [g['lr'] for g in optim['fuser'].optimizer.param_groups
           if {id(p) for p in g['params']} & head]
    assert lrs == [pytest.approx(0.05)] * 2
    with pytest.raises(KeyError, match=r"no sub-network 'fusr' \(did you mean 'fuser'\?\)"):
        multi_optim(model, all=adam(modules=['dehazer', 'fusr']))
    with pytest.raises(ValueError, match=r'no entry optimises \[\'fuser\'\]'):
        multi_optim(model, dehazer=adam())
    with pytest.raises(ValueError, match='also optimised by optim_wrapper.a'):
        multi_optim(model, a=adam(modules='dehazer'), b=adam(modules=['dehazer', 'fuser']))


def test_both_optimizers_step_on_the_shared_loss_of_a_plain_model():
    model = build()
    optim = multi_optim(model, dehazer=adam(), fuser=adam())
    before_d, before_f = snapshot(model.dehazer), snapshot(model.fuser)
    model.train_step(batch(), optim)
    assert changed(before_d, model.dehazer) and changed(before_f, model.fuser)


# ---------------------------------------------------------------------- adversarial training
def gan_model(**kw):
    return build(discriminators=dict(clear=copy.deepcopy(DISC)),
                 losses=dict(LOSSES, **GAN_LOSSES), **kw)


def gan_batch(seed=0):
    pipeline = [dict(type='RandomCropUnpaired', crop_size=32), dict(type='PackFusionInputs')]
    return batch(2, 32, seed=seed, unpaired=True, pipeline=pipeline)


def test_adversarial_step_updates_d_then_g_each_only_on_its_own_loss():
    torch.manual_seed(0)
    model = gan_model()
    optim = multi_optim(model, generator=adam(modules=['dehazer', 'fuser']),
                        discriminators=adam())
    disc, gen = model.discriminators, torch.nn.ModuleList([model.dehazer, model.fuser])
    d0, g0 = snapshot(disc), snapshot(gen)
    mid = {}

    def before_generator_step(optimizer, args, kwargs):  # after the D update, before G's
        mid['d'], mid['g'] = snapshot(disc), snapshot(gen)

    handle = optim['generator'].optimizer.register_step_pre_hook(before_generator_step)
    log = model.train_step(gan_batch(), optim)
    handle.remove()
    # D update: D moved, G did not; G update: G moved, D did not.
    assert {k for k, v in mid['d'].items() if not torch.equal(v, d0[k])}
    assert not {k for k, v in mid['g'].items() if not torch.equal(v, g0[k])}
    assert not changed(mid['d'], disc)
    assert changed(mid['g'], gen)
    assert {'loss', 'loss_dehaze', 'loss_intensity', 'loss_gan', 'loss_gan_disc',
            'loss_disc'} == set(log)
    assert model.discriminators.clear.scales[0][0][0].weight_orig.requires_grad  # restored


def test_discriminator_steps_and_a_single_wrapper_is_refused():
    model = gan_model(disc_steps=2)
    optim = multi_optim(model, generator=adam(modules=['dehazer', 'fuser']),
                        discriminators=adam())
    model.train_step(gan_batch(), optim)
    assert optim['discriminators'].optimizer.state_dict()['state'][0]['step'] == 2
    assert optim['generator'].optimizer.state_dict()['state'][0]['step'] == 1
    one = OptimWrapper(torch.optim.Adam(model.parameters()))
    with pytest.raises(TypeError, match='needs one optimizer for its discriminators'):
        model.train_step(gan_batch(), one)


# ---------------------------------------------------------------------- stages
STAGES = [dict(name='dehaze', iters=2, train=['dehazer'], losses=['dehaze']),
          dict(name='fuse', iters=2, train=['fuser'], losses=['intensity']),
          dict(name='joint', iters=2, train=['dehazer', 'fuser'])]


def test_stages_switch_trainable_networks_active_losses_and_what_runs():
    model = build(stages=copy.deepcopy(STAGES))
    calls = []
    model.fuser.register_forward_hook(lambda *a: calls.append('fuser'))
    assert [model.stage_index_at(i) for i in range(7)] == [0, 0, 1, 1, 2, 2, 2]
    data = model.data_preprocessor(batch(), True)
    model.train()
    model.set_stage(0)
    assert all(p.requires_grad for p in model.dehazer.parameters())
    assert not any(p.requires_grad for p in model.fuser.parameters())
    assert not model.fuser.training and model.dehazer.training
    assert list(model(**data, mode='loss')) == ['loss_dehaze'] and calls == []  # fuser skipped
    model.set_stage(1)
    losses = model(**data, mode='loss')
    assert list(losses) == ['loss_intensity'] and calls == ['fuser']
    losses['loss_intensity'].backward()
    assert all(p.grad is None for p in model.dehazer.parameters())  # ran without a graph
    model.set_stage(2)
    assert list(model(**data, mode='loss')) == ['loss_dehaze', 'loss_intensity']
    model.set_stage(None)
    assert all(p.requires_grad for p in model.parameters())


def test_stage_configs_are_validated_by_name():
    with pytest.raises(ValueError, match=r"model.stages\[0\].train: 'fusr' is not a network"):
        build(stages=[dict(name='a', iters=1, train=['fusr'])])
    with pytest.raises(ValueError, match=r"model.stages\[1\].losses: 'gan' is not an entry of"):
        build(stages=[dict(iters=1, train=['fuser']),
                      dict(iters=1, train=['fuser'], losses=['gan'])])
    with pytest.raises(ValueError, match='mixes iters and epochs'):
        build(stages=[dict(iters=1, train=['fuser']), dict(epochs=1, train=['fuser'])])
    with pytest.raises(ValueError, match=r"'dehazer' is frozen"):
        build(dehazer=dict(DEHAZER, frozen=True), stages=[dict(iters=1, train=['dehazer'])])


def test_a_stage_that_trains_only_discriminators_changes_only_them():
    model = gan_model(stages=[dict(name='d', iters=1, train=['discriminators'],
                                   losses=['gan_disc'])])
    optim = multi_optim(model, generator=adam(modules=['dehazer', 'fuser']),
                        discriminators=adam())
    model.set_stage(0)
    model.train()
    gen = torch.nn.ModuleList([model.dehazer, model.fuser])
    g0, d0 = snapshot(gen), snapshot(model.discriminators)
    log = model.train_step(gan_batch(), optim)
    assert set(log) == {'loss_gan_disc', 'loss_disc'}
    assert not changed(g0, gen) and changed(d0, model.discriminators)


# ---------------------------------------------------------------------- the tools' contract
@pytest.mark.parametrize('config', ['configs/iassf/iassf_tiny_synthetic.py',
                                    'configs/conv_dehaze_fuser/conv_dehaze_fuser_synthetic-'
                                    'thermal.py'])
def test_min_input_size_and_tiling_attributes_tell_the_truth(config, repo_root):
    from mmengine.config import Config
    model = MODELS.build(Config.fromfile(str(repo_root / config)).model).eval()
    n = model.min_input_size
    ir = model.data_preprocessor.channels['ir'] or 1

    def tensor(h, w):
        with torch.no_grad():
            return model(dict(vis=torch.rand(1, 3, h, w), ir=torch.rand(1, ir, h, w)),
                         mode='tensor')

    assert tensor(n, n + 7)['fused'].shape[-2:] == (n, n + 7)
    if n > 1:
        with pytest.raises(RuntimeError, match='Padding size'):
            tensor(n - 1, 64)
    # Both models normalise per image (RescaleNorm, squeeze-excitation): tiles would differ.
    assert model.tile_exact is False
    assert [r.split(':')[0] for r in model.tile_inexact_reasons] == (
        ['IASSFRestorer', 'PromptEmbeddingFusionUNet'] if 'iassf' in config
        else ['ConvDehazeFuseNet'])
    # The preprocessor knows the minimum, so it refuses a smaller image before any network.
    assert model.data_preprocessor.min_input_size == n


def test_tiling_attributes_come_from_the_networks_that_run_at_inference():
    model = gan_model()  # a DehazeFormer dehazer, a prompt U-Net fuser, a PatchGAN
    # The DehazeFormer U-Net declares no tile_exact: taken as not exact, never silently tiled.
    assert model.tile_inexact_reasons == [
        'DehazeFormerUNet does not declare tile_exact',
        'PromptEmbeddingFusionUNet: RescaleNorm (feature mean and std over the whole input) and '
        'the fusion prompt (global average pooling, prompt pool resized to the input size) are '
        'per image']
    # The discriminators only train: their sizes and tiling do not count.
    assert [type(n).__name__ for n in model.inference_networks()] == [
        'DehazeFormerUNet', 'PromptEmbeddingFusionUNet']
    n = model.get_network('dehazer').min_input_size
    assert model.min_input_size == n
    model.get_network('discriminators').min_input_size = 1000
    model.get_network('discriminators').tile_overlap = 1000
    assert (model.min_input_size, model.tile_overlap) == (n, 0)
