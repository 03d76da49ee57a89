"""The shared-machine benchmark's bookkeeping (tools/analysis_tools/benchmark_shared_machine.py):
what its children inherit, how it reads iteration times, and its table."""
import json
import sys

from helpers import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / 'tools' / 'analysis_tools'))
import benchmark_shared_machine as bench  # noqa: E402


def test_children_decide_their_threads_themselves(monkeypatch):
    for name in ('OMP_NUM_THREADS', 'OMP_WAIT_POLICY', 'MMHAZE_THREADS_AUTO', 'MMHAZE_VERBOSE'):
        monkeypatch.setenv(name, '1')
    env = bench.child_env('auto')
    assert env['MMHAZE_THREADS'] == 'auto'
    assert not set(env) & {'OMP_NUM_THREADS', 'OMP_WAIT_POLICY', 'MMHAZE_THREADS_AUTO',
                           'MMHAZE_VERBOSE'}
    assert env['PYTHONPATH'].split(':')[0] == str(REPO_ROOT)


def test_iteration_times_are_mmengines_per_iteration_entries(tmp_path):
    folder = tmp_path / '20260101_000000' / 'vis_data'
    folder.mkdir(parents=True)
    lines = [dict(lr=0.1, time=2.0, iter=1), dict(lr=0.1, time=1.5, iter=2),
             dict(coco='no time here'), dict(lr=0.1, time=1.25, iter=3)]
    (folder / 'scalars.json').write_text('\n'.join(json.dumps(x) for x in lines) + '\n')
    assert bench.iteration_times(str(tmp_path)) == [2.0, 1.5, 1.25]


def test_the_table_gives_both_modes_both_loads_and_the_ratios():
    medians = {'train 0 off': 1.0, 'train 0 auto': 1.0, 'train 2 off': 10.0,
               'train 2 auto': 2.0, 'test 0 off': 30.0, 'test 0 auto': 30.0,
               'test 2 off': 300.0, 'test 2 auto': 60.0}
    report = dict(background=2, medians=medians, load_average={0: 0.5, 2: 2.4},
                  threads={'train 2 auto': 'threads: 1 (auto: ...)'},
                  others_busy_before={0: ['0.05 of 2 cores'], 2: ['2.00 of 2 cores']})
    table = bench.format_table(report).splitlines()
    assert table[2] == '| train (s/iter) | quiet | 1.00 | 1.00 | 1.00 | 0.5 |'
    assert table[3] == '| train (s/iter) | 2 busy processes | 10.00 | 2.00 | 0.20 | 2.4 |'
    assert table[4] == '| train: loaded / quiet | | off 10.00×, auto 2.00× | | |'
    assert table[7] == '| test: loaded / quiet | | off 10.00×, auto 2.00× | | |'
    assert '- train 2 auto: threads: 1 (auto: ...)' in table
