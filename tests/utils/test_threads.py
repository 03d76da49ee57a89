"""The thread count the tools choose (mmhaze.utils.threads): the user's settings win, ``auto``
counts the cores other processes leave free, and the wait policy is set before torch loads."""
import sys

import pytest
import torch

from mmhaze.utils import UserError
from mmhaze.utils import threads as T
from mmhaze.utils.threads import (
    AUTO_MARK_ENV,
    THREADS_ENV,
    CpuLoad,
    CpuSnapshot,
    cgroup_core_limit,
    configure_threads,
    cpu_snapshot,
    decide_threads,
    others_busy,
    threads_for,
)


def _load(cores=2, busy=0.0, limit=None):
    return lambda: CpuLoad(cores, limit, busy, 'test')


def _unused():
    raise AssertionError('the load must not be measured when the user chose')


@pytest.mark.parametrize('cores,busy,limit,processes,expected', [
    (2, 0.0, None, 1, 2),    # quiet
    (2, 0.2, None, 1, 2),    # a core 80 % idle counts
    (2, 0.3, None, 1, 1),    # 70 % idle does not: its thread would wait at every barrier
    (2, 1.0, None, 1, 1),    # one other busy process
    (2, 2.0, None, 1, 1),    # both cores busy: at least one thread
    (2, 3.7, None, 1, 1),
    (8, 3.0, None, 1, 5),
    (8, 0.0, 3, 1, 3),       # cgroup quota of 3 cores
    (8, 0.0, None, 2, 4),    # two processes of one run share the cores
    (2, None, None, 1, 2),   # load unknown: every usable core
    (2, None, 1, 1, 1),
])
def test_threads_for_counts_the_cores_others_leave_free(cores, busy, limit, processes,
                                                        expected):
    assert threads_for(CpuLoad(cores, limit, busy), processes) == expected


def test_auto_is_the_default_and_says_why():
    choice = decide_threads({}, load=_load(busy=1.04))
    assert (choice.threads, choice.auto) == (1, True)
    assert choice.reason == ('auto: 2 usable cores, 1.0 busy with other processes (test)')
    assert decide_threads({THREADS_ENV: 'AUTO'}, load=_load()).threads == 2
    quota = decide_threads({'LOCAL_WORLD_SIZE': '2'}, load=_load(8, 0.0, 4))
    assert quota.threads == 2 and quota.reason.endswith(', CPU quota 4, shared by 2 processes')


@pytest.mark.parametrize('env,requested,threads,reason', [
    ({}, 3, 3, '--threads 3'),
    ({'OMP_NUM_THREADS': '2'}, 1, 1, '--threads 1'),  # the command line is the most specific
    ({'OMP_NUM_THREADS': '2'}, None, None, 'OMP_NUM_THREADS=2 from the environment'),
    ({'MKL_NUM_THREADS': '1'}, None, None, 'MKL_NUM_THREADS=1 from the environment'),
    ({'OMP_NUM_THREADS': '2', THREADS_ENV: '4'}, None, None,
     'OMP_NUM_THREADS=2 from the environment'),  # OMP_NUM_THREADS is never overridden
    ({THREADS_ENV: '4'}, None, 4, f'{THREADS_ENV}=4'),
    ({THREADS_ENV: 'off'}, None, None, f"{THREADS_ENV}=off: torch's default"),
    ({THREADS_ENV: 'off', 'OMP_NUM_THREADS': '2'}, None, None,
     f"{THREADS_ENV}=off: torch's default"),
])
def test_the_users_choice_wins_without_measuring(env, requested, threads, reason):
    choice = decide_threads(env, requested, load=_unused)
    assert (choice.threads, choice.reason, choice.auto) == (threads, reason, False)


def test_an_auto_count_inherited_from_an_mmhaze_parent_is_decided_again():
    env = {'OMP_NUM_THREADS': '2', AUTO_MARK_ENV: '2'}
    assert decide_threads(env, load=_load(busy=2.0)).threads == 1
    env['OMP_NUM_THREADS'] = '3'  # changed since: the user's
    assert decide_threads(env, load=_unused).threads is None


@pytest.mark.parametrize('env,requested,message', [
    ({THREADS_ENV: 'many'}, None, "MMHAZE_THREADS must be auto, off or a number of threads "
                                  "(>= 1), got 'many'"),
    ({THREADS_ENV: '0', 'OMP_NUM_THREADS': '1'}, None, 'got \'0\''),  # a typo is never silent
    ({}, 0, '--threads must be at least 1, got 0'),
])
def test_a_bad_setting_is_one_error(env, requested, message):
    with pytest.raises(UserError, match=message.replace('(', r'\(').replace(')', r'\)')):
        decide_threads(env, requested, load=_load())


@pytest.fixture
def no_torch_yet(monkeypatch):
    """configure_threads as at the top of a tool, before anything imported torch."""
    monkeypatch.delitem(sys.modules, 'torch')
    monkeypatch.setattr(T, 'measure_load', _load(busy=1.0))
    monkeypatch.setattr(T, '_current', None)  # later runners of this process add no hook
    monkeypatch.delenv('MMHAZE_VERBOSE', raising=False)


@pytest.mark.parametrize('env,requested,expected', [
    ({}, None, {'OMP_NUM_THREADS': '1', AUTO_MARK_ENV: '1', 'OMP_WAIT_POLICY': 'PASSIVE'}),
    ({}, 2, {'OMP_NUM_THREADS': '2', 'OMP_WAIT_POLICY': 'PASSIVE'}),
    ({'OMP_NUM_THREADS': '2'}, None, {'OMP_NUM_THREADS': '2', 'OMP_WAIT_POLICY': 'PASSIVE'}),
    ({'OMP_WAIT_POLICY': 'active'}, None,
     {'OMP_WAIT_POLICY': 'active', 'OMP_NUM_THREADS': '1', AUTO_MARK_ENV: '1'}),
    ({'GOMP_SPINCOUNT': '1000'}, None,
     {'GOMP_SPINCOUNT': '1000', 'OMP_NUM_THREADS': '1', AUTO_MARK_ENV: '1'}),
    ({THREADS_ENV: 'off'}, None, {THREADS_ENV: 'off'}),
])
def test_configure_sets_the_environment_openmp_reads(no_torch_yet, env, requested, expected):
    choice = configure_threads(requested, env)
    assert env == expected
    assert T.current_choice() is choice
    passive = 'PASSIVE' if expected.get('OMP_WAIT_POLICY') == 'PASSIVE' else None
    assert choice.wait_policy == passive


@pytest.mark.parametrize('busy, policy', [(0.0, None), (0.2, None), (0.3, 'PASSIVE'),
                                          (1.0, 'PASSIVE')])
def test_a_quiet_machine_keeps_the_runtimes_spinning_wait(no_torch_yet, monkeypatch, busy,
                                                          policy):
    """auto on a machine whose every core is free: no passive wait (the demo training ran
    1.2-1.3x slower with it on the quiet 2-core machine); with a core busy it sleeps."""
    monkeypatch.setattr(T, 'measure_load', _load(busy=busy))
    env = {}
    choice = configure_threads(None, env)
    assert choice.wait_policy == policy and env.get('OMP_WAIT_POLICY') == policy
    assert choice.threads == (2 if policy is None else 1)


def test_configure_prints_one_line_only_when_verbose(no_torch_yet, monkeypatch, capsys):
    configure_threads(None, {})
    assert capsys.readouterr().out == ''
    monkeypatch.setenv('MMHAZE_VERBOSE', '1')
    configure_threads(None, {})
    assert capsys.readouterr().out == (
        'threads: 1 (auto: 2 usable cores, 1.0 busy with other processes (test); OpenMP '
        'threads sleep while they wait (OMP_WAIT_POLICY=PASSIVE); MMHAZE_THREADS=N|off, '
        'OMP_NUM_THREADS or --threads to choose)\n')


def test_after_torch_loaded_only_an_explicit_count_is_applied(monkeypatch):
    monkeypatch.setattr(T, 'measure_load', _unused)
    monkeypatch.setattr(T, '_current', None)
    env = {}
    before = torch.get_num_threads()
    choice = configure_threads(None, env)
    assert env == {} and choice.threads is None and torch.get_num_threads() == before
    configure_threads(1, env)  # conftest restores the count afterwards
    assert env == {} and torch.get_num_threads() == 1


def test_the_module_does_not_import_torch():
    import subprocess
    code = ('import sys; import mmhaze.utils.threads, mmhaze.utils.cli; '
            'print("torch" in sys.modules, "mmengine" in sys.modules)')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         cwd=str(__import__('helpers').REPO_ROOT), check=True)
    assert out.stdout.split() == ['False', 'False']


@pytest.mark.parametrize('files,expected', [
    ({'cpu.max': 'max 100000\n'}, None),
    ({'cpu.max': '150000 100000\n'}, 1),
    ({'cpu.max': '400000 100000\n'}, 4),
    ({'cpu.max': '50000 100000\n'}, 1),
    ({'cpu/cpu.cfs_quota_us': '-1\n', 'cpu/cpu.cfs_period_us': '100000\n'}, None),
    ({'cpu/cpu.cfs_quota_us': '200000\n', 'cpu/cpu.cfs_period_us': '100000\n'}, 2),
    ({}, None),
])
def test_cgroup_quota_in_whole_cores(tmp_path, files, expected):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    assert cgroup_core_limit(str(tmp_path)) == expected


def test_proc_stat_is_read_for_the_affinity_cpus_only(tmp_path):
    stat = tmp_path / 'stat'
    # user nice system idle iowait irq softirq steal guest guest_nice
    stat.write_text('cpu  60 0 10 300 30 0 0 0 0 0\n'
                    'cpu0 10 5 5 100 10 0 0 0 0 0\n'
                    'cpu1 20 0 0 70 10 0 0 0 0 0\n'
                    'cpu2 30 0 5 130 10 0 0 0 0 0\n'
                    'intr 12345\n')
    snap = cpu_snapshot({0, 1}, str(stat))
    assert (snap.busy, snap.total) == (10 + 5 + 5 + 20, 130 + 100)  # iowait counts as idle
    assert cpu_snapshot({0}, str(tmp_path / 'missing')) is None


def test_others_busy_leaves_out_this_process():
    before = CpuSnapshot(busy=0, total=0, own=10.0, wall=100.0)
    # 2 cores for 1 s at 100 ticks/s: 150 of 200 ticks busy, 0.5 s of them this process's.
    after = CpuSnapshot(busy=150, total=200, own=10.5, wall=101.0)
    assert others_busy(before, after, 2) == pytest.approx(1.0)
    assert others_busy(before, before, 2) == 0.0
    busier = CpuSnapshot(busy=200, total=200, own=10.0, wall=101.0)
    assert others_busy(before, busier, 2) == 2.0
