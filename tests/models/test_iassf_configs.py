"""Every config under configs/iassf/ builds its model and runs a train step and a test step.

Only the model is built, so the tests do not need the datasets. Should a dataset ``_base_`` file
be missing (it belongs to another part of the project), the configs are read from a copy of
``configs/`` in which that file is an empty stub.
"""
import shutil
from pathlib import Path

import pytest
import torch
from helpers import REPO_ROOT
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import OptimWrapper

from mmhaze.datasets import SyntheticFusionDataset
from mmhaze.registry import MODELS

CONFIG_DIR = REPO_ROOT / 'configs' / 'iassf'
CONFIGS = sorted(p.name for p in CONFIG_DIR.glob('iassf_*.py'))
DATASET_BASES = ('msrs_hazy.py', 'm3fd.py', 'roadscene.py')


@pytest.fixture(scope='module')
def config_root(tmp_path_factory) -> Path:
    missing = [b for b in DATASET_BASES
               if not (REPO_ROOT / 'configs/_base_/datasets' / b).is_file()]
    if not missing:
        return REPO_ROOT / 'configs'
    root = tmp_path_factory.mktemp('configs') / 'configs'
    shutil.copytree(REPO_ROOT / 'configs', root)
    for name in missing:
        (root / '_base_/datasets' / name).write_text('# stub for the IASSF config tests\n')
    return root


def _shrunk_model_cfg(cfg: Config) -> dict:
    """The config's model with small prompt pools (the rest as configured)."""
    model = cfg.model
    for key in ('dehazer.restoration_prompt', 'fuser.prompt_generator'):
        node = model
        for part in key.split('.'):
            node = node.get(part) if node is not None else None
        if node:
            node['pool_size'] = 16
    return model


def _batch(size, n=2):
    ds = SyntheticFusionDataset(num_samples=n, img_size=size, seed=3,
                                pipeline=[dict(type='PackFusionInputs')])
    return pseudo_collate([ds[i] for i in range(n)])


def test_the_expected_configs_exist():
    expected = {'iassf_official_msrs.py', 'iassf_paper_msrs.py', 'iassf_tiny_synthetic.py',
                'iassf_official_m3fd-test.py', 'iassf_official_roadscene-test.py'} | {
        f'iassf_ablation-wo-{a}_msrs.py'
        for a in ('ir', 'hde', 'restoration-prompt', 'fr-peb', 'fusion-prompt', 'fb-peb')}
    assert expected <= set(CONFIGS)


@pytest.mark.parametrize('name', CONFIGS)
def test_config_builds_and_runs_a_train_and_a_test_step(name, config_root):
    cfg = Config.fromfile(str(config_root / 'iassf' / name))
    torch.manual_seed(0)
    model = MODELS.build(_shrunk_model_cfg(cfg))
    assert type(model).__name__ == 'IASSF'
    optim = OptimWrapper(torch.optim.AdamW(model.parameters(), lr=1e-4))
    model.train()
    losses = model.train_step(_batch(40), optim)
    assert set(losses) == {'loss', 'loss_dehaze', 'loss_intensity', 'loss_gradient'}
    assert all(torch.isfinite(v) for v in losses.values())
    model.eval()
    out = model.test_step(_batch((36, 44)))
    assert out[0].pred_dehazed.shape == out[0].pred_fused.shape == (36, 44)


def test_paper_config_switches(config_root):
    official = Config.fromfile(str(config_root / 'iassf/iassf_official_msrs.py')).model
    paper = Config.fromfile(str(config_root / 'iassf/iassf_paper_msrs.py')).model
    official, paper = official.dehazer, paper.dehazer
    assert official.haze_density.preset == 'official' and paper.haze_density.preset == 'paper'
    assert official.double_vis_residual and not paper.double_vis_residual
    assert not official.restoration_prompt.diff_conv and paper.restoration_prompt.diff_conv
    assert paper.restoration_prompt.out_conv1x1


def test_lambda_and_block_sweeps_are_cfg_options(config_root):
    cfg = Config.fromfile(str(config_root / 'iassf/iassf_official_msrs.py'))
    cfg.merge_from_dict({'model.losses.dehaze.loss_weight': 0.5, 'model.fuser.num_blocks': 7})
    model = MODELS.build(_shrunk_model_cfg(cfg))
    assert model.losses.dehaze.loss.loss_weight == 0.5
    assert len(model.fuser.blocks) == 7
