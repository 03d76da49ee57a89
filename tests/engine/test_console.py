"""What a newcomer sees: a quiet start-up (≤ 30 lines before the first progress line), the
whole environment in the log file, ``--verbose`` for everything, and progress with an ETA."""
import logging
import os
import subprocess
import sys

import pytest
import torch
from helpers import REPO_ROOT, TINY_TRAIN_OPTIONS

from mmhaze.engine.hooks.progress_hook import ProgressHook, format_duration
from mmhaze.engine.runner.console import CONSOLE, ConsoleFilter, quiet_console
from mmhaze.utils.cli import VERBOSE_ENV

DEMO = 'configs/demo/demo_synthetic.py'
# The demo (IASSF tiny) on 32-px scenes for 2 iterations; the same loader overrides as the
# baseline's tiny run, without its model keys.
DEMO_TINY = [o for o in TINY_TRAIN_OPTIONS if not o.startswith(('model.', 'param_scheduler'))
             and 'max_iters' not in o and 'val_interval' not in o] + [
    'train_cfg.max_iters=2', 'train_cfg.val_interval=2', 'param_scheduler=[]']


def _train(tmp_path, *extra):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env.pop('MMHAZE_VERBOSE', None)
    return subprocess.run(
        [sys.executable, 'tools/train.py', DEMO, '--work-dir', str(tmp_path / 'w'), *extra,
         '--cfg-options', *DEMO_TINY],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)


def test_a_training_start_up_prints_a_header_then_progress_within_30_lines(tmp_path):
    out = _train(tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = (out.stdout + out.stderr).splitlines()
    first = next(i for i, line in enumerate(lines) if ' train: iter 1/2 ' in line)
    assert first <= 30, '\n'.join(lines[:first + 1])
    header = [line for line in lines if 'run folder' in line]
    assert len(header) == 1 and 'IASSF' in header[0] and ' parameters; ' in header[0]
    console = '\n'.join(lines)
    # mmengine's environment dump, config dump and deprecation notices stay out of the console,
    # and the demo raises none of the project's own warnings.
    for noise in ('System environment', 'Config:', 'FileClient', 'HardDiskBackend',
                  'UserWarning', 'MultiScaleDeformableAttention', 'Hooks will be executed'):
        assert noise not in console, noise
    (log,) = (tmp_path / 'w').glob('*/*.log')
    text = log.read_text()
    assert 'System environment' in text and 'Config:' in text  # the log file keeps it all


def test_verbose_leaves_the_console_unfiltered(monkeypatch):
    """``--verbose`` sets MMHAZE_VERBOSE: the console then shows what the log file holds."""
    def console_filters():
        logger = logging.getLogger('mmhaze-test-console')
        logger.handlers = [logging.StreamHandler()]
        quiet_console(logger)
        return [type(f) for f in logger.handlers[0].filters]

    monkeypatch.delenv(VERBOSE_ENV, raising=False)
    assert console_filters() == [ConsoleFilter]
    monkeypatch.setenv(VERBOSE_ENV, '1')
    assert console_filters() == []
    from mmhaze.utils.cli import add_runner_options, parse_runner_options
    monkeypatch.delenv(VERBOSE_ENV)
    import argparse
    parser = argparse.ArgumentParser()
    add_runner_options(parser, 'x=1')
    parse_runner_options(parser, ['--verbose'])
    assert os.environ[VERBOSE_ENV] == '1'


def test_the_console_filter_passes_warnings_progress_and_marked_lines():
    def record(msg, level=logging.INFO, **extra):
        rec = logging.LogRecord('mmengine', level, __file__, 1, msg, None, None)
        rec.__dict__.update(extra)
        return rec

    keep = ConsoleFilter().filter
    assert keep(record('Iter(train) [10/300]  lr: 1e-3  loss: 0.5'))
    assert keep(record('Saving checkpoint at 100 iterations'))
    assert keep(record('header line', **CONSOLE))
    assert keep(record('something odd', logging.WARNING))
    assert not keep(record('System environment:\n  sys.platform: linux'))
    assert not keep(record('"FileClient" will be deprecated in future.', logging.WARNING))


class _Runner:
    def __init__(self, max_iters):
        self.max_iters = max_iters
        self.iter = 0
        self.lines = []
        self.logger = self

    def info(self, msg, extra=None):
        assert extra == CONSOLE
        self.lines.append(msg)


def test_progress_comes_after_the_first_iteration_then_every_interval(monkeypatch):
    clock = iter([0.0, 4.0, 5.0, 9.0, 16.0, 20.0])
    monkeypatch.setattr('mmhaze.engine.hooks.progress_hook.time.perf_counter',
                        lambda: next(clock))
    hook, runner = ProgressHook(interval=10), _Runner(max_iters=5)
    hook.before_train(runner)                          # t = 0
    for i in range(5):
        runner.iter = i
        hook.after_train_iter(runner, i, outputs=dict(loss=torch.tensor(0.5)))
    # iteration 1 at 4 s (shown: the first), 2 at 5 s and 3 at 9 s (within 10 s of the last
    # line), 4 at 16 s (shown), 5 at 20 s (shown: the last, though within 10 s).
    assert [line.split(' · ')[0] for line in runner.lines] == [
        'train: iter 1/5', 'train: iter 4/5', 'train: iter 5/5']
    assert 'ETA 16 s' in runner.lines[0]  # 4 s per iteration, 4 left
    assert 'ETA' not in runner.lines[-1] and runner.lines[-1].endswith('loss 0.5000')


@pytest.mark.parametrize('seconds, text', [(42.4, '42 s'), (185, '3 min 05 s'),
                                           (3720, '1 h 02 min')])
def test_durations_read_as_a_person_would_say_them(seconds, text):
    assert format_duration(seconds) == text
