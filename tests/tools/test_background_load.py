"""The load generator of the benchmarks starts its busy processes and leaves none behind."""
import os
import subprocess
import sys
import time

import pytest


def _running(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for its reaper counts as stopped)."""
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except FileNotFoundError:
        return False


def _wait_stopped(pids, timeout=10.0) -> list:
    deadline = time.monotonic() + timeout
    while any(_running(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [p for p in pids if _running(p)]


@pytest.fixture
def load_module(tool):
    return tool('analysis_tools/background_load')


def test_background_load_starts_and_stops_its_processes(load_module):
    with load_module.background_load(2) as processes:
        assert len(processes) == 2
        assert all(p.poll() is None for p in processes)
        pids = [p.pid for p in processes]
        assert all(_running(p) for p in pids)
    assert all(p.returncode is not None for p in processes)
    assert _wait_stopped(pids) == []
    with load_module.background_load(0) as processes:
        assert processes == []
    with pytest.raises(ValueError, match='n must be'):
        with load_module.background_load(-1):
            pass


def test_background_load_stops_on_error_and_when_its_parent_dies(load_module, repo_root):
    with pytest.raises(RuntimeError):
        with load_module.background_load(1) as processes:
            pid = processes[0].pid
            raise RuntimeError('the measurement failed')
    assert _wait_stopped([pid]) == []
    # a benchmark killed outright: its busy process notices the missing parent and exits
    script = ('import os, sys; sys.path.insert(0, sys.argv[1]); '
              'from background_load import background_load; '
              'cm = background_load(1); p = cm.__enter__()[0]; print(p.pid, flush=True); '
              'os._exit(0)')
    out = subprocess.run([sys.executable, '-c', script,
                          str(repo_root / 'tools' / 'analysis_tools')],
                         capture_output=True, text=True, check=True, timeout=60)
    orphan = int(out.stdout.split()[0])
    assert _wait_stopped([orphan]) == []


def test_background_load_cli(load_module, capsys):
    assert load_module.main(['1', '--seconds', '0.1']) == 0
    out = capsys.readouterr().out
    assert '1 busy processes: pids [' in out and 'load average' in out
    assert load_module.main(['-1']) == 2
    assert os.getloadavg()[0] >= 0
