"""Every config under configs/hsvf/ passes the config check, builds its model (full size) and
runs one training step and one test step on tiny synthetic VIS + NIR pairs. The training step runs
in the config's last stage, where every loss is active — except for configs that only change one
stream or the stage plan: they step in the stage that trains what they change (the full model's
joint step is already covered by hsvf_vnhd.py), which keeps the file near half a minute of CPU."""
import copy

import pytest
import torch
from helpers import REPO_ROOT
from hsvf_helpers import hsvf_batch
from mmengine.config import Config

from mmhaze.apis.config_check import check_config
from mmhaze.engine.optimizers import MultiOptimWrapperConstructor
from mmhaze.registry import MODELS

CONFIG_DIR = REPO_ROOT / 'configs' / 'hsvf'
CONFIGS = sorted(p.name for p in CONFIG_DIR.glob('hsvf_*.py'))
STEP_STAGE = {'hsvf_ablation-attention-self_vnhd.py': 'visual',
              'hsvf_ablation-attention-cross_vnhd.py': 'visual',
              'hsvf_ablation-attention-single-softmax_vnhd.py': 'visual',
              'hsvf_concurrent-stages_vnhd.py': 'pretrain'}


def test_the_expected_configs_exist():
    expected = {'hsvf_vnhd.py', 'hsvf_tiny_synthetic.py', 'hsvf_concurrent-stages_vnhd.py'} | {
        f'hsvf_ablation-{a}_vnhd.py' for a in (
            'seg-vis-only', 'seg-aligned', 'attention-self', 'attention-cross',
            'attention-single-softmax', 'semantic-only', 'visual-only')} | {
        f'hsvf_tiny_ablation-{a}_synthetic.py' for a in (
            'seg-aligned', 'seg-vis-only', 'attention-joint', 'attention-self', 'attention-cross',
            'attention-single-softmax')}
    assert expected <= set(CONFIGS)


@pytest.mark.parametrize('name', CONFIGS)
def test_config_builds_and_runs_a_train_and_a_test_step(name):
    cfg = Config.fromfile(str(CONFIG_DIR / name))
    check_config(cfg)
    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(cfg.model))
    assert type(model).__name__ == 'HSVF'
    options = copy.deepcopy(dict(cfg.optim_wrapper))
    options.pop('constructor')
    optim = MultiOptimWrapperConstructor(options)(model)
    model.train()
    if model.stages:
        names = [s.name for s in model.stages]
        model.set_stage(names.index(STEP_STAGE[name]) if name in STEP_STAGE else len(names) - 1)
    logs = model.train_step(hsvf_batch(2, 32, unpaired=True), optim)
    active = {f'loss_{t.name}' for step in ('generator', 'discriminator')
              for t in model.active_losses(step)}
    assert active <= set(logs) and all(torch.isfinite(v) for v in logs.values())
    model.set_stage(None)
    model.eval()
    sample = model.test_step(hsvf_batch(1, (30, 40), seed=1))[0]
    if model.output is not None:
        assert sample.pred_fused.shape == (30, 40)
    if model.semantic is not None:
        assert sample.pred_sem_seg.shape == (30, 40)


def test_loss_weight_sweep_keys():
    """The paper's α₁ sweep at β₁ = 0.1 is two --cfg-options keys."""
    cfg = Config.fromfile(str(CONFIG_DIR / 'hsvf_tiny_synthetic.py'))
    cfg.merge_from_dict({'model.losses.semantic_reconstruction.loss_weight': 0.01,
                         'model.losses.visual_fusion.loss_weight': 0.1})
    model = MODELS.build(cfg.model)
    assert model.losses.semantic_reconstruction.loss.loss_weight == 0.01
    assert model.losses.visual_fusion.loss.loss_weight == 0.1


def test_a_missing_pretrained_checkpoint_is_one_clear_error(tmp_path):
    cfg = Config.fromfile(str(CONFIG_DIR / 'hsvf_tiny_synthetic.py'))
    cfg.model.semantic.init_cfg = dict(type='Pretrained', checkpoint=str(tmp_path / 'hrnet.pth'))
    model = MODELS.build(cfg.model)
    with pytest.raises(FileNotFoundError, match=r'model.semantic.init_cfg.checkpoint: .*not found'):
        model.init_weights()
