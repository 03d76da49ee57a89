"""Training stages through the Runner: switching, the log line, exact resume mid-stage; and the
small adversarial config: 20 iterations with two optimizers, D and G losses logged, resume."""
import copy
import warnings

import pytest
import torch
from helpers import GAN_CONFIG, RecordLosses
from helpers import gan_tiny_options as tiny_options

from mmhaze.apis import build_runner, prepare_config

# Warm the generator up, then the discriminator alone, then both.
STAGES = [dict(name='warmup', iters=3, train=['network'],
               losses=['dehaze', 'intensity', 'gradient']),
          dict(name='critic', iters=3, train=['discriminators'], losses=['gan_disc']),
          dict(name='joint', iters=3, train=['network', 'discriminators'])]


def run(repo_root, work, iters, checkpoint_interval, stages=None, resume=None):
    options = tiny_options(iters, checkpoint_interval)
    cfg = prepare_config(str(repo_root / GAN_CONFIG), options, str(work))
    if stages is not None:
        cfg.model.stages = copy.deepcopy(stages)
    if resume:
        cfg.resume, cfg.load_from = True, str(resume)
    runner = build_runner(cfg)
    recorder = RecordLosses()
    runner.register_hook(recorder)
    runner.train()
    return recorder.rows, runner


def test_stages_switch_log_and_resume_mid_stage_exactly(tmp_path, repo_root):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        rows, runner = run(repo_root, tmp_path / 'full', 9, 4, STAGES)
    # The discriminator's scheduler steps from iteration 1, its optimizer from stage 2: by design.
    assert not [w for w in caught if 'before `optimizer.step()`' in str(w.message)]
    assert [rows[i]['stage'] for i in range(1, 10)] == ['warmup'] * 3 + ['critic'] * 3 + \
        ['joint'] * 3
    assert set(rows[1]) == {'loss', 'loss_dehaze', 'loss_intensity', 'loss_gradient', 'stage'}
    assert set(rows[4]) == {'loss_gan_disc', 'loss_disc', 'stage'}
    assert {'loss_gan', 'loss_gan_disc', 'loss_disc', 'loss'} <= set(rows[9])
    log = next((tmp_path / 'full').glob('*/*.log')).read_text()
    assert "stage 2/3 'critic' from iter 3: trains ['discriminators'], losses ['gan_disc']" \
        in log
    assert 'Iter(train) [5/9]  stage: critic  ' in log
    assert runner.model.stage is None  # everything trainable again after training

    # Resume from iter_4 (inside stage 2): the stage continues and every later loss is equal.
    resumed, runner = run(repo_root, tmp_path / 'resumed', 9, 4, STAGES,
                          resume=tmp_path / 'full' / 'iter_4.pth')
    assert sorted(resumed) == list(range(5, 10))
    assert resumed[5]['stage'] == 'critic'
    for i in range(5, 10):
        assert resumed[i] == rows[i], i


def test_stage_lengths_must_cover_the_loop(tmp_path, repo_root):
    with pytest.raises(ValueError, match=r'model.stages last 9 iters in all, but '
                                         r'train_cfg.max_iters is 8'):
        run(repo_root, tmp_path, 8, 4, STAGES)


def test_the_adversarial_config_trains_20_iterations_and_resumes(tmp_path, repo_root):
    rows, _ = run(repo_root, tmp_path / 'gan', 20, 10)
    assert len(rows) == 20
    for row in rows.values():  # both updates every iteration, logged apart
        assert {'loss_gan_disc', 'loss_disc', 'loss_gan', 'loss'} <= set(row)
    ckpt = torch.load(tmp_path / 'gan' / 'iter_20.pth', weights_only=True)
    assert set(ckpt['optimizer']) >= {'network', 'discriminators'}  # OptimWrapperDict state
    last = [line for line in next((tmp_path / 'gan').glob('*/*.log')).read_text().splitlines()
            if 'Iter(train) [20/20]' in line][0]
    for key in ('network.lr:', 'discriminators.lr:', 'loss_disc:', 'loss_gan:', 'loss:'):
        assert key in last
    resumed, _ = run(repo_root, tmp_path / 'gan2', 20, 10,
                     resume=tmp_path / 'gan' / 'iter_10.pth')
    assert sorted(resumed) == list(range(11, 21))
    for i in range(11, 21):
        assert resumed[i] == rows[i], i
