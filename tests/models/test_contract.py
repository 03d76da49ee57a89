"""The one contract of a whole model: every wiring mistake is one line, before training starts.

Each case below is a mistake a newcomer makes writing a small adversarial fusion model; each is
reported by ``check_config`` (before the Runner builds anything) as one line with its config key
and a "did you mean", and the model refuses it the same way when it is built.
"""
import pytest
from helpers import GAN_CONFIG

from mmhaze.apis import ConfigError, check_config, load_config
from mmhaze.models.base_models import (
    BaseAdversarialFusionModel,
    ContractError,
    ModelContract,
    declared_slots,
)
from mmhaze.models.task_models import DehazeFuseModel
from mmhaze.registry import MODELS


@pytest.fixture
def gan_cfg(repo_root):
    return load_config(str(repo_root / GAN_CONFIG))


def problems(cfg) -> list[str]:
    with pytest.raises(ConfigError) as err:
        check_config(cfg)
    return [line.strip() for line in str(err.value).splitlines()[1:]]


def test_the_shipped_gan_config_keeps_its_contract(gan_cfg):
    check_config(gan_cfg)
    contract = ModelContract.derive(DehazeFuseModel, gan_cfg.model, gan_cfg.optim_wrapper,
                                    gan_cfg.train_cfg)
    assert contract.problems == []
    assert contract.slots == ('discriminators', 'network', 'dehazer', 'fuser')
    assert contract.filled == ('discriminators', 'network')
    assert contract.outputs == {'dehazed', 'fused'}
    assert contract.extra_keys == {'d_fake', 'd_real', 'd_dehazed_fake', 'd_dehazed_real'}
    assert contract.discriminators == {'dehazed': ('dehazed', 'unpaired_clear')}
    assert [e.step for e in contract.losses.values()] == ['generator'] * 4 + ['discriminator']


def test_a_loss_key_typo_is_one_line_with_did_you_mean(gan_cfg):
    gan_cfg.model.losses.dehaze.target = 'gt_claer'
    assert problems(gan_cfg) == [
        "config key `model.losses.dehaze.target`: 'gt_claer' is not something this model "
        "provides (did you mean 'gt_clear'?); it provides outputs ['dehazed', 'fused'], sources "
        "['vis', 'ir'], fields ['gt_clear', 'gt_sem_seg', 'unpaired_clear'], computed "
        "['d_dehazed_fake', 'd_dehazed_real', 'd_fake', 'd_real']"]


def test_a_discriminator_binding_typo_is_one_line(gan_cfg):
    gan_cfg.model.discriminators.dehazed.fake = 'dehazd'
    (line,) = problems(gan_cfg)
    assert line.startswith("config key `model.discriminators.dehazed.fake`: 'dehazd' is not an "
                           "image this model provides (did you mean 'dehazed'?)")


def test_stage_names_of_losses_slots_and_optimizers_are_checked(gan_cfg):
    gan_cfg.model.stages = [dict(name='d', iters=2, train=['discriminator'],
                                 losses=['gan_dics'], optimizers=['discriminator'])]
    gan_cfg.train_cfg.max_iters = 2
    assert problems(gan_cfg) == [
        "config key `model.stages[0].train`: 'discriminator' is not a network slot this model "
        "fills (did you mean 'discriminators'?); known: ['discriminators', 'network']",
        "config key `model.stages[0].losses`: 'gan_dics' is not an entry of model.losses (did "
        "you mean 'gan_disc'?); known: ['dehaze', 'intensity', 'gradient', 'gan', 'gan_disc']",
        "config key `model.stages[0].optimizers`: 'discriminator' is not a key of optim_wrapper "
        "(did you mean 'discriminators'?); known: ['network', 'discriminators']"]


def test_an_optimizer_entry_naming_an_unknown_slot_is_one_line(gan_cfg):
    gan_cfg.optim_wrapper.network.modules = ['netwrok']
    assert problems(gan_cfg) == [
        "config key `optim_wrapper.network.modules`: 'netwrok' is not a network slot this "
        "model fills (did you mean 'network'?); it fills ['discriminators', 'network']"]


def test_stages_must_last_as_long_as_the_train_loop(gan_cfg):
    gan_cfg.model.stages = [dict(iters=3, train=['network']),
                            dict(iters=4, train=['network', 'discriminators'])]
    (line,) = problems(gan_cfg)
    assert line.startswith(f'config key `train_cfg.max_iters`: {gan_cfg.train_cfg.max_iters}, '
                           'but model.stages last 3 + 4 = 7 iters')


class _AdversarialFuser(BaseAdversarialFusionModel):
    """A newcomer's subclass declaring only its own slot, as the docs of an older release said
    to repeat the parent's: the parent's ``discriminators`` slot must survive."""

    NETWORK_SLOTS = ('generator',)

    def __init__(self, generator=None, **kwargs):
        super().__init__(**kwargs)
        self.add_network('generator', generator)
        self.finish_setup()

    @classmethod
    def declared_outputs(cls, cfg):
        return {'fused'}

    def forward_networks(self, inputs, fields, wanted=None):
        return {'fused': self.call_network('generator', inputs['vis'], inputs['ir'])}


def test_a_subclass_cannot_drop_its_parents_slot(gan_cfg):
    assert declared_slots(_AdversarialFuser) == ('discriminators', 'generator')
    MODELS.register_module(name='_ContractTestFuser', module=_AdversarialFuser, force=True)
    cfg = gan_cfg
    cfg.model = dict(
        type='_ContractTestFuser', generator=dict(type='AverageFusion'),
        discriminators=dict(fused=dict(type='PatchGANDiscriminator', in_channels=3,
                                       fake='fused', real='unpaired_clear')),
        losses=dict(gan=dict(type='HingeGANLoss', fake='d_fake'),
                    gan_disc=dict(type='HingeGANLoss', fake='d_fake', real='d_real',
                                  step='discriminator')))
    cfg.optim_wrapper = dict(constructor='MultiOptimWrapperConstructor',
                             discriminators=cfg.optim_wrapper.discriminators)
    cfg.val_evaluator = cfg.test_evaluator = [dict(type='FusionMetric', metrics=['MI'])]
    check_config(cfg)  # the discriminators' slot and optimizer entry are the model's
    model = MODELS.build(cfg.model)
    assert model.network_names == ['discriminators', 'generator']
    # A wrong binding in the subclass is refused when built, with the config's message.
    cfg.model['discriminators']['fused']['fake'] = 'fusd'
    with pytest.raises(ContractError, match=r"model.discriminators.fused.fake: 'fusd' is not an "
                                            r"image this model provides \(did you mean 'fused'"):
        MODELS.build(cfg.model)


def test_an_unregistered_type_names_its_registry_and_the_missing_import(gan_cfg):
    gan_cfg.model.network.type = 'AdversarialFusionGenerator'
    (line,) = problems(gan_cfg)
    assert line == (
        "config key `model.network.type`: 'AdversarialFusionGenerator' is not registered in "
        "mmhaze::model; if it is a class of your own, the module that registers it is not "
        "imported: add custom_imports=dict(imports=['your_package.your_module']) to the config")
    gan_cfg.model.network.type = 'ConvDehazeFuseNett'
    (line,) = problems(gan_cfg)
    assert "(did you mean 'ConvDehazeFuseNet'?)" in line


def test_a_model_built_with_a_typo_refuses_with_the_same_line(gan_cfg):
    cfg = dict(gan_cfg.model)
    cfg['losses'] = dict(cfg['losses'])
    cfg['losses']['dehaze'] = dict(cfg['losses']['dehaze'], target='gt_claer')
    with pytest.raises(ContractError) as err:
        MODELS.build(cfg)
    assert str(err.value).startswith("ConvDehazeFuser: model.losses.dehaze.target: 'gt_claer' "
                                     "is not something this model provides (did you mean "
                                     "'gt_clear'?)")


def test_a_metric_scoring_an_output_the_model_lacks_is_one_line(repo_root):
    cfg = load_config(str(repo_root / 'configs/two_stage/dcp_average_synthetic.py'))
    check_config(cfg)
    cfg.model.dehazer = None  # a fuser alone: no dehazed output for the dehazer rows to score
    lines = problems(cfg)
    assert len(lines) == 4 and all('scores pred_dehazed, but the model (TwoStageDehazeFuse) '
                                   "outputs ['fused', 'fuser_ir', 'fuser_out', 'fuser_vis']"
                                   in line for line in lines)
    assert lines[0].startswith('config key `val_evaluator[2]`: FusionMetric')
