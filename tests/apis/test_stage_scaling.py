"""Shortening a staged schedule: ``tools/train.py --scale-stages`` and the one-line mismatch."""
import pytest
from helpers import load_tool

from mmhaze.apis import load_config
from mmhaze.apis.config_check import ConfigError
from mmhaze.apis.stage_scaling import proportional_lengths, scale_stages

HSVF_TINY = 'configs/hsvf/hsvf_tiny_synthetic.py'


def test_proportional_lengths_keep_each_stage_and_the_total():
    assert proportional_lengths([150, 150, 50, 50], 8) == [3, 3, 1, 1]
    assert proportional_lengths([150, 150, 50, 50], 40) == [15, 15, 5, 5]
    # Every stage keeps at least one iteration, even when its share rounds to nothing.
    assert proportional_lengths([1000, 1, 1], 5) == [3, 1, 1]
    assert proportional_lengths([3, 3], 2) == [1, 1]
    assert sum(proportional_lengths([7, 11, 13], 17)) == 17
    with pytest.raises(ValueError, match='3 cannot hold 4 stages'):
        proportional_lengths([1, 1, 1, 1], 3)


def test_scale_stages_moves_the_schedulers_and_intervals_with_the_stage_bounds(repo_root):
    cfg = load_config(str(repo_root / HSVF_TINY), {'train_cfg.max_iters': 8})
    assert [s.iters for s in cfg.model.stages] == [150, 150, 50, 50]
    change = scale_stages(cfg)
    assert [s.iters for s in cfg.model.stages] == [3, 3, 1, 1]
    # The LinearLR of the joint stage (iterations 350–400) still covers the joint stage (7–8).
    assert (cfg.param_scheduler[0].begin, cfg.param_scheduler[0].end) == (7, 8)
    assert cfg.train_cfg.val_interval == 8 and cfg.default_hooks.checkpoint.interval == 4
    assert change == ('--scale-stages: model.stages 150 + 150 + 50 + 50 → 3 + 3 + 1 + 1 iters '
                      '(train_cfg.max_iters=8); param_scheduler[0] 350–400 → 7–8; '
                      'train_cfg.val_interval 400 → 8; default_hooks.checkpoint.interval '
                      '200 → 4')
    assert scale_stages(cfg) is None


def test_a_config_without_stages_or_too_few_iterations_is_one_line(repo_root):
    cfg = load_config(str(repo_root / 'configs/demo/demo_synthetic.py'))
    with pytest.raises(ConfigError, match='the config has no model.stages to scale'):
        scale_stages(cfg)
    cfg = load_config(str(repo_root / HSVF_TINY), {'train_cfg.max_iters': 3})
    with pytest.raises(ConfigError, match=r'train_cfg.max_iters=3: 3 cannot hold 4 stages'):
        scale_stages(cfg)


def test_a_shortened_staged_run_without_the_option_is_one_line_naming_the_keys(
        repo_root, tmp_path, capsys):
    """It was a 28-line traceback from the stage hook at the start of training."""
    rc = load_tool('train').main([str(repo_root / HSVF_TINY), '--work-dir', str(tmp_path / 'w'),
                                  '--cfg-options', 'train_cfg.max_iters=40'])
    assert rc == 2
    err = capsys.readouterr().err
    assert err == ('error: invalid config:\n  config key `train_cfg.max_iters`: 40, but '
                   'model.stages last 150 + 150 + 50 + 50 = 400 iters; set model.stages.N.iters '
                   'so they sum to it (or --scale-stages to shrink every stage in proportion)\n')
    assert not (tmp_path / 'w').exists() or not any((tmp_path / 'w').iterdir())
