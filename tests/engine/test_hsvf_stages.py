"""HSVF's four stages through the Runner (the tiny config, shortened): the stage of every
iteration, the losses each stage logs, and an exact resume from the middle of stage 2."""
import pytest
from helpers import RecordLosses

from mmhaze.apis import build_runner, prepare_config

CONFIG = 'configs/hsvf/hsvf_tiny_synthetic.py'
# 2 + 3 + 1 + 1 iterations; a checkpoint after iteration 3, inside stage 2 (iterations 3-5).
OPTIONS = {
    'model.stages.0.iters': 2, 'model.stages.1.iters': 3, 'model.stages.2.iters': 1,
    'model.stages.3.iters': 1, 'train_cfg.max_iters': 7,
    'param_scheduler.0.begin': 6, 'param_scheduler.0.end': 7,
    'train_dataloader.dataset.img_size': 32, 'train_dataloader.dataset.num_samples': 8,
    'train_dataloader.batch_size': 2, 'train_dataloader.num_workers': 0,
    'train_dataloader.persistent_workers': False,
    'val_dataloader.num_workers': 0, 'val_dataloader.persistent_workers': False,
    # Dropout draws from the global RNG, which a checkpoint does not hold.
    'model.semantic.seg_head.dropout': 0.0,
    'default_hooks.checkpoint.interval': 3, 'default_hooks.checkpoint.max_keep_ckpts': 3,
    'default_hooks.logger.interval': 1, 'randomness.deterministic': True,
}


def run(repo_root, work, resume=None):
    cfg = prepare_config(str(repo_root / CONFIG), dict(OPTIONS), str(work))
    # No validation: the stages are the subject, and the config's FADE metric needs the LIVE
    # FADE parameter files, which a machine without the shared data does not have.
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    if resume:
        cfg.resume, cfg.load_from = True, str(resume)
    runner = build_runner(cfg)
    recorder = RecordLosses()
    runner.register_hook(recorder)
    runner.train()
    return recorder.rows


@pytest.mark.filterwarnings('ignore::UserWarning')
def test_four_stages_log_their_losses_and_resume_mid_stage_2_exactly(tmp_path, repo_root):
    rows = run(repo_root, tmp_path / 'full')
    assert [rows[i]['stage'] for i in range(1, 8)] == \
        ['semantic'] * 2 + ['reconstruction'] * 3 + ['visual', 'joint']
    assert set(rows[1]) == {'stage', 'loss', 'loss_align', 'loss_seg_vis', 'loss_seg_nir',
                            'loss_recon_vis', 'loss_recon_nir'}
    assert set(rows[3]) == {'stage', 'loss', 'loss_sr_adv', 'loss_sr_content',
                            'loss_sr_adv_disc', 'loss_disc'}
    assert set(rows[6]) == {'stage', 'loss', 'loss_vf_intensity', 'loss_vf_gradient'}
    assert {'loss_semantic_reconstruction', 'loss_visual_fusion', 'loss_align',
            'loss_sr_adv_disc'} <= set(rows[7])
    log = next((tmp_path / 'full').glob('*/*.log')).read_text()
    assert "stage 2/4 'reconstruction' from iter 2: trains ['generator', 'discriminators']" in log

    resumed = run(repo_root, tmp_path / 'resumed', resume=tmp_path / 'full' / 'iter_3.pth')
    assert sorted(resumed) == [4, 5, 6, 7]
    assert resumed[4]['stage'] == 'reconstruction'
    for i in range(4, 8):
        assert resumed[i] == rows[i], i
