"""Config errors are one message naming the dotted key, with did-you-mean suggestions."""
import pytest
from helpers import BASELINE_CONFIG as BASELINE
from helpers import DEHAZE_LOSS_KEY

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


# ------------------------------------------------------------------ issue 11, item 6
def test_cfg_options_keys_must_be_in_the_config(repo_root, tool, tmp_path, capsys):
    """`--cfg-options trian_cfg.max_iters=2` was ignored and trained 300 iterations."""
    with pytest.raises(ConfigError) as err:
        load_config(str(repo_root / BASELINE), {'trian_cfg.max_iters': 2,
                                                'train_cfg.max_iter': 2,
                                                'param_scheduler.3.T_max': 3})
    assert str(err.value) == (
        'invalid --cfg-options:\n'
        "  --cfg-options trian_cfg.max_iters: `trian_cfg` is not in the config (did you mean "
        "'train_cfg'?); to add it on purpose, write +trian_cfg.max_iters=...\n"
        "  --cfg-options train_cfg.max_iter: `train_cfg.max_iter` is not in the config (did "
        "you mean 'max_iters'?); to add it on purpose, write +train_cfg.max_iter=...\n"
        '  --cfg-options param_scheduler.3.T_max: `param_scheduler` has 1 items, no item 3')
    work = tmp_path / 'work'
    rc = tool('train').main([str(repo_root / BASELINE), '--work-dir', str(work),
                             '--cfg-options', 'trian_cfg.max_iters=2'])
    assert rc == 2 and not work.exists()  # refused before anything ran
    assert "`trian_cfg` is not in the config (did you mean 'train_cfg'?)" in \
        capsys.readouterr().err
    # `+key=value` marks a new key as intended.
    cfg = load_config(str(repo_root / BASELINE), {'+my_note': 'x', '+model.init_cfg.a': 1,
                                                  'param_scheduler.0.T_max': 3})
    assert cfg.my_note == 'x' and cfg.model.init_cfg.a == 1 and cfg.param_scheduler[0].T_max == 3


# ------------------------------------------------------------------ issue 11, item 8
@pytest.mark.parametrize('option, message', [
    ('+optim_wrapper.optimizer.lrr=0.1',
     "config key `optim_wrapper.optimizer.lrr`: AdamW has no argument 'lrr' (did you mean "
     "'lr'?)"),
    ('+train_dataloader.batchsize=2',
     "config key `train_dataloader.batchsize`: DataLoader has no argument 'batchsize' (did you "
     "mean 'batch_size'?)"),
    ('+randomness.sed=1',
     "config key `randomness.sed`: Runner.set_randomness has no argument 'sed' (did you mean "
     "'seed'?)"),
    ('train_cfg.max_iters=abc',
     "config key `train_cfg.max_iters`: IterBasedTrainLoop expects int, got 'abc' (str)"),
    # CheckpointHook takes **kwargs: this passed, trained, and crashed at the first save.
    ('+default_hooks.checkpoint.intervl=1',
     "config key `default_hooks.checkpoint.intervl`: FiniteCheckpointHook has no argument "
     "'intervl' (did you mean 'interval'?)"),
    ('{loss}.loss_weight=x',
     "config key `{loss}.loss_weight`: L1Loss expects float, got 'x' (str)"),
])
def test_config_errors_are_caught_before_the_runner(option, message, repo_root, tool,
                                                    tmp_path, capsys):
    loss = DEHAZE_LOSS_KEY
    option, message = option.format(loss=loss), message.format(loss=loss)
    work = tmp_path / 'work'
    rc = tool('train').main([str(repo_root / BASELINE), '--work-dir', str(work),
                             '--cfg-options', option])
    assert rc == 2 and not work.exists()
    assert capsys.readouterr().err == f'error: invalid config:\n  {message}\n'


def test_loops_evaluators_and_kwargs_hooks(demo_cfg):
    demo_cfg.train_cfg = dict(max_iters=3)  # no type and no by_epoch: mmengine's KeyError
    demo_cfg.val_cfg = dict(fp16='yes')
    demo_cfg.test_evaluator = dict(type='FusionMetric', metrics=['EN'])
    demo_cfg.custom_hooks = [dict(type='EMAHook', momentum=0.1, momentun=2)]
    with pytest.raises(ConfigError) as err:
        check_config(demo_cfg)
    assert str(err.value).splitlines()[1:] == [
        '  config key `train_cfg`: needs `by_epoch` (True: EpochBasedTrainLoop with max_epochs, '
        'False: IterBasedTrainLoop with max_iters) or a `type`',
        "  config key `val_cfg.fp16`: ValLoop expects bool, got 'yes' (str)",
        "  config key `test_evaluator`: a dict with a `metrics` key is built as an Evaluator, "
        "not as the metric 'FusionMetric'; write `test_evaluator = [dict(type='FusionMetric', "
        "metrics=...)]` (a list of metrics)",
        "  config key `custom_hooks[0].momentun`: EMAHook has no argument 'momentun' (did you "
        "mean 'momentum'?)"]


def test_arguments_of_classes_of_any_scope(demo_cfg, tmp_path, monkeypatch):
    # A user's module through custom_imports, nested inside an mmhaze model.
    (tmp_path / 'my_losses.py').write_text(
        'import torch\n'
        'from mmhaze.registry import MODELS\n\n\n'
        '@MODELS.register_module()\n'
        'class MyLoss(torch.nn.Module):\n'
        '    def __init__(self, loss_weight: float = 1.0):\n'
        '        super().__init__()\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    config = tmp_path / 'custom.py'
    loss = DEHAZE_LOSS_KEY
    config.write_text(f"_base_ = [{str(demo_cfg.filename)!r}]\n"
                      "custom_imports = dict(imports=['my_losses'])\n")
    cfg = load_config(str(config), {loss: dict(type='MyLoss', los_weight=2.0)})
    # mmseg parts nested in an mmseg model.
    cfg.model = dict(type='mmseg.EncoderDecoder', backbone=dict(type='mmseg.ResNetV1c', deph=50),
                     decode_head=dict(type='mmseg.FCNHead', in_channels=8, channels=8,
                                      num_classes=2, dropout_rato=0.1))
    with pytest.raises(ConfigError) as err:
        check_config(cfg)
    assert str(err.value).splitlines()[1:] == [
        "  config key `model.backbone.deph`: ResNetV1c has no argument 'deph' (did you mean "
        "'depth'?)",
        "  config key `model.decode_head.dropout_rato`: FCNHead has no argument 'dropout_rato' "
        "(did you mean 'dropout_ratio'?)"]
    with pytest.raises(ConfigError, match=rf"`{loss}.los_weight`: MyLoss has no argument "
                                          r"'los_weight' \(did you mean 'loss_weight'"):
        check_config(load_config(str(config), {loss: dict(type='MyLoss', los_weight=2.0)}))


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
    assert ("`optim_wrapper.discriminators.modules`: 'discrimintors' is not a network slot this "
            "model fills (did you mean 'discriminators'?)") in msg
    assert "`model.losses.gan.fake_key`: HingeGANLoss has no argument 'fake_key'" in msg
    assert "`model.losses.dehaze.type`: 'L1Los' is not registered" in msg
    assert ('`model.discriminators.dehazed.base_chanels`: PatchGANDiscriminator has no '
            'argument') in msg
    assert ("`model.stages[0].train`: 'netwrk' is not a network slot this model fills (did you "
            "mean 'network'?)") in msg
