"""HSVF's four stages through the Runner (the tiny config, shortened): the stage of every
iteration, the losses each stage logs, and a tools/train.py killed (kill -9) in the middle of
stage 2 whose resume into stages 3 and 4 is bit-identical (issue 19, item 8)."""
import json
import signal

import pytest
import torch
from helpers import RecordLosses, run_tool_with_fault

from mmhaze.apis import build_runner, prepare_config

CONFIG = 'configs/hsvf/hsvf_tiny_synthetic.py'
# 2 + 3 + 1 + 1 iterations (stage 2: iterations 3-5), checkpoints after 3, 6 and 7, each
# followed by a validation (one image; the config's FADE is left out, with a warning, without
# the shared FADE files); raw (unsmoothed) logged losses.
OPTIONS = {
    'model.stages.0.iters': 2, 'model.stages.1.iters': 3, 'model.stages.2.iters': 1,
    'model.stages.3.iters': 1, 'train_cfg.max_iters': 7, 'train_cfg.val_interval': 3,
    'param_scheduler.0.begin': 6, 'param_scheduler.0.end': 7,
    'train_dataloader.dataset.img_size': 32, 'train_dataloader.dataset.num_samples': 8,
    'train_dataloader.batch_size': 2, 'train_dataloader.num_workers': 0,
    'train_dataloader.persistent_workers': False,
    'val_dataloader.dataset.num_samples': 1,
    'val_dataloader.num_workers': 0, 'val_dataloader.persistent_workers': False,
    'default_hooks.checkpoint.interval': 3, 'default_hooks.checkpoint.max_keep_ckpts': 3,
    'default_hooks.logger.interval': 1, 'log_processor.window_size': 1,
    'randomness.deterministic': True,
}


@pytest.fixture(scope='module')
def uninterrupted(tmp_path_factory, repo_root):
    """The whole run, in this process on one thread (as tools run in run_tool_with_fault):
    (its work dir, iteration → its raw losses and stage)."""
    work = tmp_path_factory.mktemp('hsvf') / 'full'
    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(1)
    try:
        runner = build_runner(prepare_config(str(repo_root / CONFIG), dict(OPTIONS), str(work)))
        recorder = RecordLosses()
        runner.register_hook(recorder)
        runner.train()
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic)
    return work, recorder.rows


@pytest.mark.filterwarnings('ignore::UserWarning')
def test_four_stages_log_their_losses(uninterrupted):
    work, rows = uninterrupted
    assert [rows[i]['stage'] for i in range(1, 8)] == \
        ['semantic'] * 2 + ['reconstruction'] * 3 + ['visual', 'joint']
    assert set(rows[1]) == {'stage', 'loss', 'loss_align', 'loss_seg_vis', 'loss_seg_nir',
                            'loss_recon_vis', 'loss_recon_nir'}
    assert set(rows[3]) == {'stage', 'loss', 'loss_sr_adv', 'loss_sr_content',
                            'loss_sr_adv_disc', 'loss_disc'}
    assert set(rows[6]) == {'stage', 'loss', 'loss_vf_intensity', 'loss_vf_gradient'}
    assert {'loss_semantic_reconstruction', 'loss_visual_fusion', 'loss_align',
            'loss_sr_adv_disc'} <= set(rows[7])
    log = next(work.glob('*/*.log')).read_text()
    assert "stage 2/4 'reconstruction' from iter 2: trains ['generator', 'discriminators']" in log


def _logged_losses(work) -> dict:
    """Iteration → every loss term logged (the log window is 1: raw values), over every run
    of the work dir."""
    rows = {}
    for path in sorted(work.glob('*/vis_data/scalars.json')):
        for line in path.read_text().splitlines():
            row = json.loads(line)
            if 'loss' in row:
                rows[row['iter']] = {k: v for k, v in row.items() if k.startswith('loss')}
    return rows


@pytest.mark.filterwarnings('ignore::UserWarning')
def test_a_run_killed_in_stage_2_resumes_bit_identically_into_stages_3_and_4(uninterrupted,
                                                                             repo_root,
                                                                             tmp_path):
    """In the issue (6 iterations, killed at 4, resumed from iter_3.pth) the joint stage logged
    `loss: 3.4497` instead of the uninterrupted runs' 3.4613: a checkpoint did not hold the
    random generators' state, from which the segmentation head's dropout draws as soon as the
    semantic network trains again (the resumed run drew from the seed's state), and a
    validation after the checkpoint drew from it too (its DataLoader iterator takes a seed)."""
    full, full_rows = uninterrupted
    killed = tmp_path / 'killed'
    args = [str(repo_root / CONFIG), '--work-dir', str(killed), '--cfg-options',
            *(f'{k}={v}' for k, v in OPTIONS.items())]
    # kill -9 as iteration 5 starts: the middle of stage 2 (iterations 3-5), two iterations
    # after the last checkpoint.
    status, err = run_tool_with_fault('train', args, kill_at_iter=5)
    assert status == -signal.SIGKILL, err
    assert (killed / 'last_checkpoint').read_text() == str(killed / 'iter_3.pth')
    status, err = run_tool_with_fault('train', args + ['--resume'])
    assert status == 0, err
    assert 'random generators: continue from their state after iteration 3' in \
        '\n'.join(p.read_text() for p in killed.glob('*/*.log'))

    expected, resumed = _logged_losses(full), _logged_losses(killed)
    assert sorted(resumed) == sorted(expected) == list(range(1, 8))
    assert {k: v for k, v in full_rows[7].items() if k != 'stage'} == expected[7]
    for i in range(1, 8):  # iterations 4-7 by the resumed run: stages 2, 3 and 4
        assert resumed[i] == expected[i], i  # every term, exact floats
    weights = [torch.load(w / 'iter_7.pth', weights_only=True)['state_dict']
               for w in (full, killed)]
    assert weights[0].keys() == weights[1].keys()
    assert [k for k in weights[0] if not torch.equal(weights[0][k], weights[1][k])] == []
