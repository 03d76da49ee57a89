"""tools/dist_train.sh and dist_test.sh: torchrun, 2 processes, gloo on the CPU."""
import csv
import os
import shutil
import socket
import subprocess
import sys

import pytest
from helpers import BASELINE_CONFIG as BASELINE
from helpers import TINY_TRAIN_OPTIONS


def _free_port() -> str:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return str(s.getsockname()[1])


def _run(script, args, repo_root):
    env = dict(os.environ, PORT=_free_port(), PYTHON=sys.executable, OMP_NUM_THREADS='1')
    return subprocess.run(['bash', str(repo_root / 'tools' / script), *args], cwd=repo_root,
                          env=env, capture_output=True, text=True, timeout=300)


def _log_file(work):
    """The run's full log (the console shows only a header, progress and results)."""
    (log,) = work.glob('*/*.log')
    return log.read_text()


@pytest.mark.skipif(shutil.which('bash') is None, reason='needs bash')
def test_two_process_train_then_test(tmp_path, repo_root):
    work = tmp_path / 'ddp'
    out = _run('dist_train.sh', [BASELINE, '2', '--work-dir', str(work), '--cfg-options',
                                 *TINY_TRAIN_OPTIONS], repo_root)
    assert out.returncode == 0, out.stderr[-3000:]
    log = _log_file(work)
    assert 'Distributed training: True' in log
    assert "backend='gloo'" in log or 'backend="gloo"' in log
    assert (work / 'iter_4.pth').is_file()

    out = _run('dist_test.sh', [BASELINE, str(work / 'iter_4.pth'), '2', '--work-dir',
                                str(tmp_path / 'test'), '--cfg-options', *TINY_TRAIN_OPTIONS],
               repo_root)
    assert out.returncode == 0, out.stderr[-3000:]
    (run,) = [p for p in (tmp_path / 'test').iterdir() if p.is_dir()]
    rows = list(csv.DictReader(open(run / 'per_image.csv')))
    # 3 test images split over 2 ranks, gathered once each on rank 0
    assert sorted({r['image'] for r in rows}) == [f'synthetic_s1000_0000{i}' for i in range(3)]
    assert len(rows) == 6


@pytest.mark.skipif(shutil.which('bash') is None, reason='needs bash')
def test_two_process_adversarial_training_with_separate_ddp(tmp_path, repo_root):
    """A GAN (two optimizers, D/G alternation) under MMSeparateDistributedDataParallel."""
    from helpers import GAN_CONFIG, gan_tiny_options
    options = [f'{k}={v}'.replace(' ', '') for k, v in gan_tiny_options(4, 4).items()
               if k != 'randomness.deterministic']
    out = _run('dist_train.sh', [GAN_CONFIG, '2', '--work-dir', str(tmp_path / 'gan'),
                                 '--cfg-options', *options], repo_root)
    assert out.returncode == 0, out.stderr[-3000:]
    log = _log_file(tmp_path / 'gan')
    assert 'MMSeparateDistributedDataParallel' in log
    last = [line for line in log.splitlines() if 'Iter(train) [4/4]' in line][0]
    assert 'loss_disc:' in last and 'loss_gan:' in last
    assert (tmp_path / 'gan' / 'iter_4.pth').is_file()
