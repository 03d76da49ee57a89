"""Config errors are one message naming the dotted key, with did-you-mean suggestions."""
import pytest
from helpers import BASELINE_CONFIG as BASELINE

from mmhaze.apis import ConfigError, check_config, load_config


@pytest.fixture
def demo_cfg(repo_root):
    return load_config(str(repo_root / BASELINE))


def test_demo_config_is_valid(demo_cfg):
    check_config(demo_cfg)


def test_inheritance_and_overrides(repo_root):
    cfg = load_config(str(repo_root / BASELINE),
                      {'model.network.channels': 16, 'train_cfg.max_iters': 7})
    assert cfg.model.type == 'ConvDehazeFuser'  # from _base_/models
    assert cfg.model.network.channels == 16 and cfg.train_cfg.max_iters == 7
    assert cfg.train_dataloader.dataset.img_size == 128  # from _base_/datasets
    assert cfg.param_scheduler[0].T_max == 2000  # the leaf overrides the schedule's base
    demo = load_config(str(repo_root / 'configs/demo/demo_synthetic.py'))
    assert demo.model.type == 'IASSF' and demo.train_dataloader.dataset.img_size == 64
    assert cfg.default_hooks.safe_checkpoint.type == 'SafeCheckpointHook'


def test_unknown_type_suggests_registered_name(demo_cfg):
    demo_cfg.model.losses.dehaze.type = 'L1Los'
    with pytest.raises(ConfigError) as err:
        check_config(demo_cfg)
    msg = str(err.value)
    assert '`model.losses.dehaze.type`' in msg and "did you mean 'L1Loss'" in msg


def test_unknown_argument_suggests_parameter(demo_cfg):
    demo_cfg.model.network.chanels = 8
    demo_cfg.train_dataloader.dataset.img_sise = 32
    with pytest.raises(ConfigError) as err:
        check_config(demo_cfg)
    msg = str(err.value)
    assert "`model.network.chanels`: ConvDehazeFuseNet has no argument 'chanels'" in msg
    assert "did you mean 'channels'" in msg
    assert '`train_dataloader.dataset.img_sise`' in msg and "did you mean 'img_size'" in msg


def test_errors_in_pipeline_hooks_and_metrics_are_found(demo_cfg):
    demo_cfg.train_dataloader.dataset.pipeline = [dict(type='PackFusionInput')]
    demo_cfg.custom_hooks = [dict(type='SafeCheckpointHok')]
    demo_cfg.val_evaluator = dict(type='ReferenceMetric', metric=['PSNR_ref'])
    with pytest.raises(ConfigError) as err:
        check_config(demo_cfg)
    msg = str(err.value)
    assert "`train_dataloader.dataset.pipeline[0].type`" in msg and "'PackFusionInputs'" in msg
    assert "`custom_hooks[0].type`" in msg and "'SafeCheckpointHook'" in msg
    assert "`val_evaluator.metric`" in msg and "did you mean 'metrics'" in msg


def test_missing_required_argument_and_forwarded_kwargs(demo_cfg):
    # EMAHook forwards **kwargs to its EMA model: `momentum` must not be flagged.
    demo_cfg.custom_hooks = [dict(type='EMAHook', momentum=0.1)]
    check_config(demo_cfg)
    demo_cfg.custom_hooks.append(dict(type='EarlyStoppingHook'))
    with pytest.raises(ConfigError, match="`custom_hooks\\[1\\]`: EarlyStoppingHook needs the "
                                          "argument 'monitor'"):
        check_config(demo_cfg)


def test_missing_and_broken_config_files(tmp_path):
    with pytest.raises(ConfigError, match='config file not found: .*nope.py'):
        load_config(str(tmp_path / 'nope.py'))
    bad = tmp_path / 'bad.py'
    bad.write_text("_base_ = ['missing_base.py']\n")
    with pytest.raises(ConfigError, match='cannot read config'):
        load_config(str(bad))


def test_fusion_model_slots_losses_stages_and_optimizers_are_checked(repo_root):
    from helpers import GAN_CONFIG
    cfg = load_config(str(repo_root / GAN_CONFIG))
    cfg.model.network.frozen = False  # slot options are not network arguments
    cfg.model.network.init_cfg = dict(type='Pretrained', checkpoint='x.pth')
    check_config(cfg)
    cfg.optim_wrapper.discriminators.modules = ['discrimintors']
    cfg.model.losses.gan.fake_key = 'd_fake'
    cfg.model.losses.dehaze.type = 'L1Los'
    cfg.model.discriminators.dehazed.base_chanels = 8
    cfg.model.stages = [dict(name='a', iters=1, train=['netwrk'])]
    with pytest.raises(ConfigError) as err:
        check_config(cfg)
    msg = str(err.value)
    assert ("`optim_wrapper.discriminators.modules`: the model has no sub-network "
            "'discrimintors' (did you mean 'discriminators'?)") in msg
    assert "`model.losses.gan.fake_key`: HingeGANLoss has no argument 'fake_key'" in msg
    assert "`model.losses.dehaze.type`: 'L1Los' is not registered" in msg
    assert ('`model.discriminators.dehazed.base_chanels`: PatchGANDiscriminator has no '
            'argument') in msg
    assert "`model.stages`: model.stages[0].train: 'netwrk' is not a network" in msg
