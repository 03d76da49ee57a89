"""Each entry point sets its thread count and wait policy before torch loads (OpenMP reads them
once, when torch loads it), and leaves the user's settings alone."""
import os
import subprocess
import sys

import pytest
from helpers import REPO_ROOT

# Runs a tool as ``python TOOL ARGS`` would, and stops it at its first `import torch`, printing
# the variables the OpenMP runtime would read there.
SPY = '''
import os, runpy, sys

class StopAtTorch:
    def find_spec(self, name, path=None, target=None):
        if name == 'torch':
            keys = ('OMP_NUM_THREADS', 'OMP_WAIT_POLICY', 'MMHAZE_THREADS_AUTO')
            print('AT_TORCH', *(os.environ.get(k, '-') for k in keys), flush=True)
            os._exit(0)

sys.meta_path.insert(0, StopAtTorch())
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name='__main__')
'''
DEMO = 'configs/demo/demo_synthetic.py'
TOOLS = {
    'train': ['tools/train.py', DEMO, '--work-dir', '{tmp}/w'],
    'test': ['tools/test.py', DEMO, '--work-dir', '{tmp}/w'],
    'infer': ['tools/infer.py', DEMO, '{tmp}/none.pth', '--vis', '{tmp}/v.png', '--ir',
              '{tmp}/i.png', '--out-dir', '{tmp}/out'],
    'eval_folder': ['tools/analysis_tools/eval_folder.py', '--ir', '{tmp}', '--vis', '{tmp}',
                    '--fused', '{tmp}', '--work-dir', '{tmp}/w'],
    'gradio_demo': ['demo/gradio_demo.py', '--cache-dir', '{tmp}/cache', '--port', '0'],
}
USER_VARS = ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'MMHAZE_THREADS', 'MMHAZE_THREADS_AUTO',
             'OMP_WAIT_POLICY', 'GOMP_SPINCOUNT', 'KMP_BLOCKTIME', 'MMHAZE_VERBOSE')


def _at_torch_import(tool, tmp_path, extra_args=(), **env_vars):
    env = {k: v for k, v in os.environ.items() if k not in USER_VARS}
    env.update(env_vars, PYTHONPATH=str(REPO_ROOT))
    args = [a.format(tmp=tmp_path) for a in TOOLS[tool]] + list(extra_args)
    out = subprocess.run([sys.executable, '-c', SPY, *args], cwd=REPO_ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    lines = [line for line in out.stdout.splitlines() if line.startswith('AT_TORCH')]
    assert lines, f'{tool} never imported torch:\n{out.stdout}\n{out.stderr[-2000:]}'
    return lines[0].split()[1:], out.stdout


@pytest.mark.parametrize('tool', sorted(TOOLS))
def test_auto_threads_and_passive_waits_are_set_before_torch_loads(tool, tmp_path):
    from mmhaze.utils.threads import usable_cores
    (threads, policy, mark), _ = _at_torch_import(tool, tmp_path)
    cores, limit = usable_cores()
    cap = cores if limit is None else min(cores, limit)
    assert 1 <= int(threads) <= cap and mark == threads
    # Every core free (the count is the cap): the runtime's own spinning wait; else passive.
    # (The load may change between the tool's measurement and this check: the count decides.)
    assert policy == ('-' if int(threads) == cap else 'PASSIVE')


@pytest.mark.parametrize('tool', sorted(TOOLS))
def test_the_users_settings_reach_torch_unchanged(tool, tmp_path):
    assert _at_torch_import(tool, tmp_path, OMP_NUM_THREADS='3', OMP_WAIT_POLICY='ACTIVE')[0] \
        == ['3', 'ACTIVE', '-']
    assert _at_torch_import(tool, tmp_path, ['--threads', '3'])[0] == ['3', 'PASSIVE', '-']
    assert _at_torch_import(tool, tmp_path, MMHAZE_THREADS='off')[0] == ['-', '-', '-']


def test_verbose_prints_the_choice_once(tmp_path):
    _, stdout = _at_torch_import('train', tmp_path, ['--verbose'], MMHAZE_THREADS='2')
    assert [line for line in stdout.splitlines() if line.startswith('threads:')] == [
        'threads: 2 (MMHAZE_THREADS=2; OpenMP threads sleep while they wait '
        '(OMP_WAIT_POLICY=PASSIVE); MMHAZE_THREADS=N|off, OMP_NUM_THREADS or --threads to '
        'choose)']
    _, quiet = _at_torch_import('train', tmp_path, MMHAZE_THREADS='2')
    assert 'threads:' not in quiet


def test_a_bad_setting_is_one_error_line(tmp_path):
    env = dict(os.environ, MMHAZE_THREADS='lots', PYTHONPATH=str(REPO_ROOT))
    out = subprocess.run([sys.executable, 'tools/test.py', DEMO, '--work-dir',
                          str(tmp_path / 'w')], cwd=REPO_ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 2
    assert out.stderr.strip() == ("error: MMHAZE_THREADS must be auto, off or a number of "
                                  "threads (>= 1), got 'lots'")
