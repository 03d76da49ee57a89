"""Atomic writes respect the umask, a save killed midway leaves nothing forever, and run folders
are unique (issue 11, item 13)."""
import os
import signal

import pytest

from mmhaze.utils.fileio import atomic_write_bytes, claim_run_dir, remove_stale_temporaries


@pytest.mark.parametrize('umask, mode', [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_atomic_write_respects_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        atomic_write_bytes(b'x', tmp_path / 'f.pth')
        with open(tmp_path / 'plain', 'wb'):
            pass
    finally:
        os.umask(old)
    assert (tmp_path / 'f.pth').stat().st_mode & 0o777 == mode
    assert (tmp_path / 'plain').stat().st_mode & 0o777 == mode  # what open() gives


def test_a_save_killed_midway_leaves_a_temporary_that_the_next_run_removes(tmp_path):
    target = tmp_path / 'iter_4.pth'
    pid = os.fork()
    if pid == 0:  # the child is killed (SIGKILL) just before the rename of its save
        os.replace = lambda *a: os.kill(os.getpid(), signal.SIGKILL)
        atomic_write_bytes(b'partial checkpoint', target)
        os._exit(0)  # not reached
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    (stale,) = tmp_path.iterdir()
    assert stale.name.startswith(f'.iter_4.pth.{pid}.') and stale.suffix == '.tmp'
    assert not target.exists()
    old_format = tmp_path / '.iter_2.pth.k3x_9abc.tmp'  # written before the pid was in the name
    old_format.write_bytes(b'old')
    mine = tmp_path / f'.iter_6.pth.{os.getpid()}.abcd1234.tmp'  # a save in progress: kept
    mine.write_bytes(b'writing')
    other = tmp_path / 'notes.tmp'
    other.write_bytes(b'not ours')
    removed = remove_stale_temporaries(tmp_path)
    assert sorted(removed) == sorted([str(stale), str(old_format)])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([mine.name, other.name])
    assert remove_stale_temporaries(tmp_path / 'absent') == []


def test_run_folders_of_the_same_second_are_distinct(tmp_path):
    names = [claim_run_dir(tmp_path, '20250101_000000') for _ in range(3)]
    assert names == ['20250101_000000', '20250101_000000_1', '20250101_000000_2']
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)
