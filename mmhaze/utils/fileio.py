"""Atomic local writes for everything mmengine writes through its fileio (checkpoints, dumps).

A crash or a full disk in the middle of a write must never leave a truncated checkpoint under the
name of a good one: the bytes go to a temporary file in the same folder, which is then renamed.
The temporary is named ``.<name>.<pid>.<random>.tmp``; one whose process is gone (a run killed
mid-save) is removed by :func:`remove_stale_temporaries` when the next run starts there.

Run folders (``<work_dir>/<timestamp>``) are claimed with :func:`claim_run_dir`, so two runs
starting in the same second get two folders. A training claims its work dir with
:func:`claim_work_dir` (a lock the kernel releases when the process ends, however it ends).

Every tool checks its outputs against its inputs with :func:`refuse_writes_into_inputs` (no tool
writes inside a folder it reads) and a new output file's folder with :func:`check_new_file_path`
before the work that produces it.
"""
from __future__ import annotations

import errno
import os
import os.path as osp
import re
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Optional, Union

from mmengine.fileio.backends import LocalBackend, register_backend

from .errors import UserError, WriteError

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

    A failure (full disk, file size limit, a folder that cannot be created) raises
    :class:`~mmhaze.utils.errors.WriteError` naming the file; an earlier file of that name is
    left as it was and no temporary is left behind.
    """
    filepath = str(filepath)
    folder = osp.dirname(osp.abspath(filepath))
    try:
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f'.{osp.basename(filepath)}.{os.getpid()}.',
                                   suffix='.tmp', dir=folder)
    except OSError as err:
        raise write_error(filepath, err) from None
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
    except BaseException as err:
        if osp.exists(tmp):
            os.remove(tmp)
        if isinstance(err, OSError):
            raise write_error(filepath, err) from None
        raise


def write_error(path: Union[str, Path], err: OSError) -> WriteError:
    """The one-line :class:`WriteError` for ``err`` met while writing ``path``."""
    reason = err.strerror or str(err) or type(err).__name__
    hint = {errno.ENOSPC: 'free some disk space', errno.EDQUOT: 'free some disk space',
            errno.EFBIG: 'free some disk space or raise the file size limit (ulimit -f)',
            errno.EACCES: 'check the folder\'s permissions',
            errno.EROFS: 'write to a writable folder'}.get(err.errno)
    return WriteError(f'cannot write {path}: {reason}; nothing was written under that name'
                      + (f' ({hint})' if hint else ''))


def make_file_mode_like_open(path: Union[str, Path]) -> None:
    """Give ``path`` the mode ``open(path, 'wb')`` would have (0666 minus the umask): files
    written through ``mkstemp`` are 0600 otherwise."""
    os.chmod(str(path), 0o666 & ~_umask())


class OutputPathError(UserError, ValueError):
    """An output path where no file can be created, refused before the work that fills it."""


def check_new_file_path(path: Union[str, Path], what: str) -> None:
    """Refuse, before any work, an output file that cannot be created: a path component that
    is a file, a path naming a folder, or a folder where no file can be created (``/proc``,
    no permission). One :class:`OutputPathError` line naming ``what`` (e.g. ``'--out'``)."""
    path = osp.abspath(osp.expanduser(str(path)))
    if osp.isdir(path):
        raise OutputPathError(f'{what} {path} is a folder; give a file name')
    _check_creatable_in(osp.dirname(path), path, what)


def check_output_folder(path: Union[str, Path], what: str) -> None:
    """Refuse, before any work, an output folder that is a file, lies under a file, or where
    no file can be created; one :class:`OutputPathError` line naming ``what``."""
    path = osp.abspath(osp.expanduser(str(path)))
    if osp.exists(path) and not osp.isdir(path):
        raise OutputPathError(f'{what} {path} is a file, not a folder')
    _check_creatable_in(path, path, what)


def _check_creatable_in(folder: str, path: str, what: str) -> None:
    existing = folder
    while not osp.exists(existing):
        existing = osp.dirname(existing)
    if not osp.isdir(existing):
        raise OutputPathError(f'{what} {path}: {existing} is a file, not a folder')
    try:
        fd, probe = tempfile.mkstemp(prefix='.mmhaze_write_probe.', dir=existing)
    except OSError as err:
        raise OutputPathError(f'{what} {path}: no file can be created in {existing} '
                              f'({err.strerror or err})') from None
    os.close(fd)
    os.remove(probe)


class InputOverlapError(UserError, ValueError):
    """An output location inside (or equal to) something the same run reads."""


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def refuse_writes_into_inputs(writes: Mapping[str, Optional[str]],
                              reads: Mapping[str, Optional[str]],
                              whole_folders: bool = False) -> None:
    """No tool writes inside a folder it reads as input: refuse (one :class:`InputOverlapError`
    line naming both) a write location — a folder the tool writes in, or a file — that is a
    read path or lies inside a read folder, and a read *file* inside a write folder. Paths are
    compared after resolving symbolic links.

    Args:
        writes / reads: ``what → path`` (``what`` says what names it, e.g. ``'--work-dir'``,
            ``'test_dataloader.dataset.data_root'``); None is skipped.
        whole_folders: the tool fills its write folders with names of its own (a dataset
            copy), so a read folder inside a write folder is refused too.
    """
    resolved = {k: osp.realpath(osp.expanduser(str(v))) for k, v in reads.items() if v}
    for what, path in writes.items():
        if not path:
            continue
        out = osp.realpath(osp.expanduser(str(path)))
        for source, src in resolved.items():
            if _inside(out, src):
                relation = 'is' if out == src else 'is inside'
            elif _inside(src, out) and (whole_folders or osp.isfile(src)):
                relation = 'holds'
            else:
                continue
            raise InputOverlapError(
                f'{what} {path} {relation} {source} {reads[source]}, which this run reads; '
                'mmhaze never writes into its inputs: choose an output outside it')


LOCK_FILE = '.mmhaze_train.lock'


class WorkDirInUseError(UserError, RuntimeError):
    """Another live training holds the work dir."""


class WorkDirClaim:
    """An exclusive ``flock`` on ``<work_dir>/.mmhaze_train.lock`` held by one training.

    The kernel drops the lock when the process ends, so a run killed with ``kill -9`` leaves no
    stale claim; :meth:`release` drops it when the training finishes.
    """

    def __init__(self, work_dir: Union[str, Path]):
        import fcntl
        self.path = osp.join(str(work_dir), LOCK_FILE)
        os.makedirs(str(work_dir), exist_ok=True)
        self._fd: Optional[int] = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666 & ~_umask())
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(self._fd, 64, 0).decode(errors='replace').strip()
            os.close(self._fd)
            self._fd = None
            pid = f' (pid {holder})' if holder.isdigit() else ''
            raise WorkDirInUseError(
                f'work dir {work_dir} is in use by a training that is still running{pid}; '
                'wait for it to end, or train into another --work-dir') from None
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, str(os.getpid()).encode(), 0)

    def release(self) -> None:
        if self._fd is not None:
            import fcntl
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def claim_work_dir(work_dir: Union[str, Path]) -> WorkDirClaim:
    """Claim ``work_dir`` for one training, or raise :class:`WorkDirInUseError` in one line."""
    return WorkDirClaim(work_dir)


def checkpoint_files(folder: Union[str, Path], patterns: Iterable[str] = (
        'iter_*.pth', 'epoch_*.pth', 'best_*.pth', 'last_checkpoint')) -> list[str]:
    """The names of the checkpoint files (and ``last_checkpoint``) at the top of ``folder``."""
    import fnmatch
    folder = str(folder)
    if not osp.isdir(folder):
        return []
    return sorted(n for n in os.listdir(folder)
                  if any(fnmatch.fnmatch(n, p) for p in patterns)
                  and osp.isfile(osp.join(folder, n)))


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
