"""A save killed midway or refused by a full disk never costs a checkpoint already written; one
training at a time writes into a work dir, and never over another run's checkpoints; --resume
says what it resumes, or that there is nothing to resume (issue 19, items 1-3 and 11)."""
import hashlib
import os
import shutil
import signal

import pytest
import torch
from helpers import BASELINE_CONFIG as BASELINE
from helpers import DEHAZE_LOSS_KEY, TINY_TRAIN_OPTIONS, run_tool_with_fault


def _options(**overrides):
    kept = [o for o in TINY_TRAIN_OPTIONS if o.split('=')[0] not in overrides]
    return kept + [f'{k}={v}' for k, v in overrides.items()]


# Four iterations, a checkpoint every two, only the newest kept (the demo and iassf_tiny
# configs keep one): the setting where mmengine's order lost the only checkpoint.
KEEP_ONE = _options(**{'default_hooks.checkpoint.max_keep_ckpts': 1})


def _train_args(repo_root, work, *extra, options=KEEP_ONE):
    return [str(repo_root / BASELINE), '--work-dir', str(work), *extra, '--cfg-options',
            *options]


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _one_error_line(err: str) -> str:
    assert 'Traceback' not in err, err
    lines = [line for line in err.splitlines() if line.startswith('error: ')]
    assert len(lines) == 1, err
    return lines[0]


# ------------------------------------------------------------------------------ item 1
# Killed before iter_4.pth is renamed into place, or after that but before last_checkpoint
# (written once per save: its second write is iter_4's).
@pytest.mark.parametrize('killed_at, occurrence', [('iter_4.pth', 1), ('last_checkpoint', 2)])
def test_a_save_killed_midway_keeps_the_last_good_checkpoint(killed_at, occurrence, repo_root,
                                                            tool, tmp_path, capsys):
    """mmengine removed iter_2.pth before writing iter_4.pth: a kill -9 in between left no
    checkpoint, a last_checkpoint naming the deleted file and a 34-line traceback on
    --resume."""
    work = tmp_path / 'work'
    status, err = run_tool_with_fault('train', _train_args(repo_root, work),
                                      kill_at_rename=(killed_at, occurrence))
    assert status == -signal.SIGKILL, err
    # The new checkpoint (when killed before its rename) is a temporary; iter_2 is intact.
    pths = sorted(p.name for p in work.glob('*.pth'))
    assert pths == (['iter_2.pth'] if killed_at == 'iter_4.pth'
                    else ['iter_2.pth', 'iter_4.pth'])
    assert torch.load(work / 'iter_2.pth', weights_only=True)['meta']['iter'] == 2
    assert (work / 'last_checkpoint').read_text() == str(work / 'iter_2.pth')

    capsys.readouterr()
    assert tool('train').main(_train_args(repo_root, work, '--resume')) == 0
    assert 'resumed epoch: 0, iter: 2' in capsys.readouterr().out + _log_text(work)
    assert sorted(p.name for p in work.glob('*.pth')) == ['iter_4.pth']  # rotated after
    assert (work / 'last_checkpoint').read_text() == str(work / 'iter_4.pth')
    assert not list(work.glob('.*.tmp'))  # the killed save's temporary was cleaned up


def _log_text(work) -> str:
    return '\n'.join(p.read_text() for p in work.glob('*/*.log'))


# ------------------------------------------------------------------------------ item 2
def test_a_full_disk_keeps_every_checkpoint_and_stops_in_one_line(repo_root, tool, tmp_path):
    """`ulimit -f` (RLIMIT_FSIZE; Python ignores SIGXFSZ, so the write fails with EFBIG) used
    to end in a 44-line OSError traceback with the good iter_2.pth deleted."""
    work = tmp_path / 'work'
    first = _options(**{'default_hooks.checkpoint.max_keep_ckpts': 1, 'train_cfg.max_iters': 2,
                        'train_cfg.val_interval': 100})

    assert tool('train').main(_train_args(repo_root, work, options=first)) == 0
    (tmp_path / 'sha').write_text(_sha(work / 'iter_2.pth'))
    size = (work / 'iter_2.pth').stat().st_size
    status, err = run_tool_with_fault('train', _train_args(repo_root, work, '--resume'),
                                      file_limit=size // 2)
    assert status == 1, err
    assert _one_error_line(err) == (
        f'error: training stopped at iteration 4: cannot write {work / "iter_4.pth"}: File too '
        'large; nothing was written under that name (free some disk space or raise the file '
        'size limit (ulimit -f)). No checkpoint was removed and the last checkpoint is '
        f'{work / "iter_2.pth"}; continue from it with --resume once the file can be written.')
    assert sorted(p.name for p in work.glob('*.pth')) == ['iter_2.pth']
    assert _sha(work / 'iter_2.pth') == (tmp_path / 'sha').read_text()
    assert (work / 'last_checkpoint').read_text() == str(work / 'iter_2.pth')
    assert not list(work.glob('.*.tmp'))


# ------------------------------------------------------------------------------ item 3
def test_one_training_at_a_time_and_never_over_another_runs_checkpoints(repo_root, tool,
                                                                        tmp_path, capsys):
    """Two trainings in one --work-dir both exited 0 and shared (then lost) iter_4.pth."""
    from mmhaze.utils.fileio import claim_work_dir
    work = tmp_path / 'work'
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # a live training's claim, held until the child is killed
        claim_work_dir(work)
        os.write(ready_w, b'1')
        signal.pause()
        os._exit(0)
    os.read(ready_r, 1)
    try:
        assert tool('train').main(_train_args(repo_root, work)) == 2
        assert _one_error_line(capsys.readouterr().err) == (
            f'error: work dir {work} is in use by a training that is still running (pid {pid}); '
            'wait for it to end, or train into another --work-dir')
        assert not list(work.glob('*.pth'))
    finally:
        os.kill(pid, signal.SIGKILL)  # kill -9: the kernel drops its lock
        os.waitpid(pid, 0)

    assert tool('train').main(_train_args(repo_root, work)) == 0
    kept = _sha(work / 'iter_4.pth')
    # Each run (the refused one too) keeps its config in its own folder, none at the top.
    runs = [p for p in work.iterdir() if p.is_dir()]
    assert len(runs) == 2 and all((p / os.path.basename(BASELINE)).is_file() for p in runs)
    assert not list(work.glob('*.py'))
    capsys.readouterr()
    # A second fresh training (another seed) would overwrite iter_4.pth: refused.
    rc = tool('train').main(_train_args(repo_root, work, options=KEEP_ONE + ['randomness.seed=1']))
    assert rc == 2
    assert _one_error_line(capsys.readouterr().err) == (
        f'error: work dir {work} holds the checkpoints of an earlier training (iter_4.pth, '
        'last_checkpoint), which a new training would overwrite: continue that run with '
        '--resume, or train into another --work-dir')
    assert _sha(work / 'iter_4.pth') == kept


# ------------------------------------------------------------------------------ item 11
def test_resume_with_nothing_to_resume_says_so_in_one_warning_line(tmp_path, capsys):
    from mmengine.config import Config

    from mmhaze.apis import ConfigError, apply_resume
    cfg = Config(dict(work_dir=str(tmp_path / 'empty'), resume=False, load_from=None))
    apply_resume(cfg, 'auto')
    assert capsys.readouterr().err == (
        f'warning: --resume: {tmp_path / "empty"} holds no checkpoint to resume (no '
        'last_checkpoint file); training starts from the beginning\n')
    assert cfg.resume is False and cfg.load_from is None

    # A work dir copied elsewhere: last_checkpoint names the original path.
    copy = tmp_path / 'copy'
    copy.mkdir()
    (copy / 'iter_4.pth').write_bytes(b'x')
    (copy / 'last_checkpoint').write_text('/elsewhere/original/iter_4.pth')
    apply_resume(cfg := Config(dict(work_dir=str(copy))), 'auto')
    assert cfg.resume is True and cfg.load_from == str(copy / 'iter_4.pth')

    (copy / 'last_checkpoint').write_text('/elsewhere/original/iter_6.pth')
    with pytest.raises(ConfigError) as err:
        apply_resume(Config(dict(work_dir=str(copy))), 'auto')
    assert str(err.value) == (
        f'--resume: {copy / "last_checkpoint"} names /elsewhere/original/iter_6.pth, which does '
        f"not exist; checkpoints in {copy}: ['iter_4.pth'] (pass one with --resume PATH)")


# ------------------------------------------------------------------------------ resume messages
@pytest.fixture(scope='module')
def trained(tmp_path_factory, repo_root):
    from helpers import load_tool
    work = tmp_path_factory.mktemp('trained')
    assert load_tool('train').main(_train_args(repo_root, work, options=TINY_TRAIN_OPTIONS)) == 0
    return work


def test_a_resumed_copy_names_its_own_checkpoint_when_it_stops(trained, repo_root, tool,
                                                               tmp_path, capsys):
    """After resuming a copied work dir, the NaN-stop message named the original run's
    checkpoint path."""
    copy = tmp_path / 'copy'
    shutil.copytree(trained, copy)
    nan = _options(**{'train_cfg.max_iters': 6, 'param_scheduler.0.T_max': 6,
                      'param_scheduler.0.end': 6, DEHAZE_LOSS_KEY + '.loss_weight': 'nan'})
    capsys.readouterr()
    assert tool('train').main(_train_args(repo_root, copy, '--resume', options=nan)) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert line.endswith(f'the last checkpoint is {copy / "iter_4.pth"}. Check the loss '
                         'weights, the learning rate and the data of this iteration.')


def test_resuming_another_models_checkpoint_is_one_line(trained, repo_root, tool, tmp_path,
                                                        capsys):
    """It was a 32-line traceback from the optimizer's state."""
    ckpt = torch.load(trained / 'iter_4.pth', weights_only=True)
    ckpt['state_dict'] = {f'other.{k}': v for k, v in ckpt['state_dict'].items()}
    other = tmp_path / 'other.pth'
    torch.save(ckpt, other)
    rc = tool('train').main(_train_args(repo_root, tmp_path / 'w', '--resume', str(other)))
    assert rc == 2
    line = _one_error_line(capsys.readouterr().err)
    assert line.startswith(f'error: {other} does not fit the model: ')
    assert line.endswith('Is it a checkpoint of this config? --resume continues a training of '
                         'this same model; to start from the weights of another, set load_from '
                         '(without --resume)')
