"""docs/add_module.md, executed: its module, configs and metric are written out as the page shows
them; the tool trains the new fuser with the new loss in IASSF, then as a GAN fuser from config
alone, and a folder is evaluated with the new metric."""
import re
import sys

import pytest
from helpers import REPO_ROOT, load_tool


def code_blocks(path):
    """``{first-line file name: code}`` of the page's python blocks that name a file."""
    blocks = re.findall(r'```python\n(.*?)```', path.read_text(), flags=re.S)
    return {b.splitlines()[0].lstrip('# ').strip(): b for b in blocks if b.startswith('# ')}


def _forget_my_project():
    for mod in [m for m in sys.modules if m == 'my_project' or m.startswith('my_project.')]:
        del sys.modules[mod]


@pytest.fixture
def project(tmp_path, monkeypatch):
    _forget_my_project()  # another test's package of that name (tests/test_registry.py)
    files = code_blocks(REPO_ROOT / 'docs' / 'add_module.md')
    assert set(files) == {'my_project/modality_attention.py',
                          'my_project/iassf_tiny_modality_attention.py',
                          'my_project/adversarial_fusion.py', 'my_project/brightness_metric.py'}
    for name, code in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(code)
    (tmp_path / 'my_project' / '__init__.py').write_text('')
    (tmp_path / 'configs').symlink_to(REPO_ROOT / 'configs')
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    from mmhaze.registry import METRIC_FUNCTIONS, MODELS
    for name in ('ModalityAttentionFusion', 'TotalVariationLoss'):  # the next test re-imports
        MODELS._module_dict.pop(name, None)
    METRIC_FUNCTIONS._module_dict.pop('MB', None)
    _forget_my_project()


def test_the_guide_trains_five_iterations(project, tmp_path):
    from mmengine.runner import Runner
    seen = {}
    original = Runner.train

    def spy(self):
        model = original(self)
        seen['fuser'] = type(self.model.fuser).__name__
        seen['losses'] = list(self.model.losses)
        seen['iter'] = self.iter
        seen['smooth'] = self.message_hub.get_scalar('train/loss_smooth').current()
        return model

    Runner.train = spy
    try:
        rc = load_tool('train').main([
            str(project / 'my_project/iassf_tiny_modality_attention.py'),
            '--work-dir', str(tmp_path / 'work'), '--cfg-options',
            'train_dataloader.dataset.img_size=32', 'train_dataloader.batch_size=2',
            'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
            'val_dataloader.dataset.num_samples=2', 'val_dataloader.num_workers=0',
            'val_dataloader.persistent_workers=False', 'val_dataloader.dataset.img_size=32',
            'train_cfg.max_iters=5', 'train_cfg.val_interval=5',
            'default_hooks.checkpoint.interval=5', 'default_hooks.logger.interval=1',
            'param_scheduler.0.end=2', 'param_scheduler.1.begin=2', 'param_scheduler.1.end=5',
            'param_scheduler.1.T_max=3'])
    finally:
        Runner.train = original
    assert rc == 0
    assert seen['fuser'] == 'ModalityAttentionFusion' and seen['iter'] == 5
    assert seen['losses'] == ['dehaze', 'intensity', 'gradient', 'smooth']
    assert seen['smooth'] > 0


def test_a_typo_in_the_guide_config_is_one_line(project, tmp_path, capsys):
    # The typos are in a config file (an option on the command line would be refused earlier,
    # as a key the config does not have).
    typo = project / 'my_project' / 'typo.py'
    typo.write_text("_base_ = './iassf_tiny_modality_attention.py'\n"
                    "model = dict(fuser=dict(chanels=8), "
                    "losses=dict(smooth=dict(imag='dehazed')))\n")
    rc = load_tool('train').main([str(typo), '--work-dir', str(tmp_path / 'work')])
    assert rc == 2
    err = capsys.readouterr().err
    assert "`model.fuser.chanels`: ModalityAttentionFusion has no argument 'chanels' (did you " \
           "mean 'channels'?)" in err
    assert "`model.losses.smooth.imag`" in err


TINY_GAN_RUN = ['train_dataloader.dataset.img_size=32', 'train_dataloader.batch_size=2',
                'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
                'val_dataloader.dataset.num_samples=2', 'val_dataloader.num_workers=0',
                'val_dataloader.persistent_workers=False', 'val_dataloader.dataset.img_size=32',
                'train_cfg.max_iters=3', 'train_cfg.val_interval=3',
                'default_hooks.checkpoint.interval=3', 'default_hooks.logger.interval=1']


def test_the_guide_gan_fuser_trains_both_optimizers(project, tmp_path):
    import torch
    from mmengine.runner import Runner
    seen = {}
    original_train = Runner.train

    def spy(self):
        disc = self.model.discriminators
        before = [p.detach().clone() for p in disc.parameters()]
        fuser_before = [p.detach().clone() for p in self.model.fuser.parameters()]
        model = original_train(self)
        seen['disc_moved'] = any(not torch.equal(a, b) for a, b in zip(before, disc.parameters()))
        seen['fuser_moved'] = any(not torch.equal(a, b)
                                  for a, b in zip(fuser_before, self.model.fuser.parameters()))
        seen['losses'] = list(self.model.losses)
        seen['disc'] = self.message_hub.get_scalar('train/loss_disc').current()
        seen['structure'] = self.message_hub.get_scalar('train/loss_structure').current()
        return model

    Runner.train = spy
    try:
        rc = load_tool('train').main([str(project / 'my_project/adversarial_fusion.py'),
                                      '--work-dir', str(tmp_path / 'gan'), '--cfg-options',
                                      *TINY_GAN_RUN])
    finally:
        Runner.train = original_train
    assert rc == 0
    assert seen['losses'] == ['structure', 'intensity', 'adversarial', 'discriminator']
    assert seen['disc_moved'] and seen['fuser_moved']
    assert 0 < seen['structure'] < 1 and seen['disc'] > 0


def test_the_guide_metric_is_one_file_seen_by_fusion_metric_and_eval_folder(project, tmp_path,
                                                                            capsys):
    import json

    import numpy as np
    import torch
    from PIL import Image

    from mmhaze.evaluation import FusionMetric
    from mmhaze.evaluation.functional import metric_keys
    folders = {}
    rng = np.random.default_rng(0)
    for name in ('ir', 'vis', 'fused'):
        folders[name] = tmp_path / name
        folders[name].mkdir()
        for stem in ('a', 'b'):
            Image.fromarray(rng.integers(0, 256, (24, 32), dtype=np.uint8)).save(
                folders[name] / f'{stem}.png')
    rc = load_tool('analysis_tools/eval_folder').main([
        '--ir', str(folders['ir']), '--vis', str(folders['vis']), '--fused',
        str(folders['fused']), '--metrics', 'EN', 'MB', '--custom-imports',
        'my_project.brightness_metric', '--work-dir', str(tmp_path / 'eval')])
    assert rc == 0
    assert 'MB' in metric_keys('fusion')
    (summary_path,) = (tmp_path / 'eval').glob('*/summary.json')
    summary = json.loads(summary_path.read_text())
    assert summary['meta']['directions']['MB'] == '↑'
    assert 'mean brightness' in summary['meta']['conventions']['MB']
    means = [np.asarray(Image.open(folders['fused'] / f'{s}.png'), float).mean() for s in 'ab']
    assert summary['results']['folder']['MB'] == pytest.approx(np.mean(means), abs=1e-9)
    metric = FusionMetric(metrics=['MB'])
    fused = torch.full((3, 8, 8), 0.5)
    assert metric.evaluate_sample(dict(pred_fused=fused))['model']['MB'] == pytest.approx(128.0)
    assert metric.directions == {'MB': '↑'}
