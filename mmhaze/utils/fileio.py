"""Atomic local writes for everything mmengine writes through its fileio (checkpoints, dumps).

A crash or a full disk in the middle of a write must never leave a truncated checkpoint under the
name of a good one: the bytes go to a temporary file in the same folder, which is then renamed.
The temporary is named ``.<name>.<pid>.<random>.tmp``; one whose process is gone (a run killed
mid-save) is removed by :func:`remove_stale_temporaries` when the next run starts there.

Run folders (``<work_dir>/<timestamp>``) are claimed with :func:`claim_run_dir`, so two runs
starting in the same second get two folders.
"""
from __future__ import annotations

import os
import os.path as osp
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Union

from mmengine.fileio.backends import LocalBackend, register_backend

# `.<name>.[<pid>.]<8 random chars of mkstemp>.tmp` (files written before the pid was added
# have none: their writer is long gone).
_TEMPORARY = re.compile(r'^\.(?P<name>.+?)\.(?:(?P<pid>\d+)\.)?[a-z0-9_]{8}\.tmp$')


def _umask() -> int:
    """The process umask, read without changing it where Linux allows (threads may be writing)."""
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('Umask:'):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_bytes(data: bytes, filepath: Union[str, Path]) -> None:
    """Write ``data`` to ``filepath`` through a temporary file and ``os.replace``.

    The file gets the mode a plain ``open(path, 'wb')`` would give (0666 minus the umask), not
    the 0600 of ``mkstemp``.
    """
    filepath = str(filepath)
    folder = osp.dirname(osp.abspath(filepath))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{osp.basename(filepath)}.{os.getpid()}.',
                               suffix='.tmp', dir=folder)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def remove_stale_temporaries(folder: Union[str, Path]) -> list[str]:
    """Remove the temporaries of :func:`atomic_write_bytes` in ``folder`` whose writing process
    no longer runs on this machine (a save killed midway). Returns the removed paths."""
    folder = str(folder)
    if not osp.isdir(folder):
        return []
    removed = []
    for name in sorted(os.listdir(folder)):
        match = _TEMPORARY.match(name)
        if match is None:
            continue
        pid = match.group('pid')
        if pid is not None and (int(pid) == os.getpid() or _process_alive(int(pid))):
            continue
        path = osp.join(folder, name)
        try:
            os.remove(path)
        except FileNotFoundError:  # another run cleaned it first
            continue
        removed.append(path)
    return removed


def claim_run_dir(work_dir: Union[str, Path], timestamp: str,
                  taken: Callable[[str], bool] = lambda name: False) -> str:
    """Create ``<work_dir>/<timestamp>`` — or ``<timestamp>_1``, ``_2``, … when a run that
    started in the same second has it (or ``taken(name)`` says it is in use otherwise) — and
    return the name taken. ``os.mkdir`` is atomic, so two processes never get the same folder."""
    os.makedirs(str(work_dir), exist_ok=True)
    name, n = timestamp, 0
    while True:
        if not taken(name):
            try:
                os.mkdir(osp.join(str(work_dir), name))
                return name
            except FileExistsError:
                pass
        n += 1
        name = f'{timestamp}_{n}'


class AtomicLocalBackend(LocalBackend):
    """mmengine's local backend with atomic ``put`` / ``put_text``."""

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        atomic_write_bytes(obj, filepath)

    def put_text(self, obj: str, filepath: Union[str, Path], encoding: str = 'utf-8') -> None:
        atomic_write_bytes(obj.encode(encoding), filepath)


def register_atomic_local_backend() -> None:
    """Replace mmengine's backend for plain local paths by :class:`AtomicLocalBackend`."""
    register_backend('local', AtomicLocalBackend, force=True, prefixes='')
