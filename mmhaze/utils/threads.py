"""Thread defaults for a shared CPU: how many threads torch uses, and how its OpenMP threads wait.

torch starts as many OpenMP threads as the process may use cores, and its OpenMP runtime
(libgomp in the CPU wheels) lets a thread that reaches a barrier spin for a while before it
sleeps. When other processes keep those cores busy, the peer a thread waits for is often
descheduled and the spinning burns the time slice that peer needs: a two-thread training
iteration that takes 0.9 s with one thread took 24 s with two while other jobs loaded the two
cores (docs/speed.md, "Shared machine").

:func:`configure_threads` runs first thing in each tool, before torch is imported: the thread
count and the wait policy are read by the OpenMP runtime when torch loads it. The rule:

- the user's choice wins: ``--threads N``, then ``OMP_NUM_THREADS``/``MKL_NUM_THREADS`` (never
  overridden), then ``MMHAZE_THREADS=N``; torch imported before the tool (a script calling the
  tool's ``main``) keeps whatever it was set to;
- ``MMHAZE_THREADS=off``: nothing is changed (torch's default: every usable core);
- ``auto`` (the default): one thread per core that other processes leave free. Usable cores are
  the CPUs of the process's affinity (capped by a cgroup CPU quota); the cores other processes
  keep busy are read from ``/proc/stat`` over :data:`SAMPLE_SECONDS` on those CPUs (the load
  average counts a whole host's CPUs in a container and lags a minute). A core counts as free
  when at least :data:`FREE_CORE_SHARE` of it is idle, and at least one thread is used.

Unless the user set a wait variable or ``MMHAZE_THREADS=off``, ``OMP_WAIT_POLICY=PASSIVE`` makes
waiting threads sleep at once, except for an ``auto`` choice that found every core free (spinning
on idle cores is faster there). :class:`~mmhaze.engine.hooks.ThreadAdjustHook` repeats the
measurement during a long run of an ``auto`` choice and moves the thread count with the load.

This module does not import torch (it must run before torch loads).
"""
from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import NamedTuple, Optional

from .cli import verbose
from .errors import UserError

#: ``auto`` (default), ``off``, or a number of threads.
THREADS_ENV = 'MMHAZE_THREADS'
#: The count an ``auto`` choice wrote into ``OMP_NUM_THREADS``: an mmhaze process started from
#: it re-decides instead of taking that value for the user's.
AUTO_MARK_ENV = 'MMHAZE_THREADS_AUTO'
USER_THREAD_VARS = ('OMP_NUM_THREADS', 'MKL_NUM_THREADS')
#: Variables that set how OpenMP threads wait (libgomp reads the first two, Intel's runtime the
#: first and the last): set by the user, they are left alone.
WAIT_VARS = ('OMP_WAIT_POLICY', 'GOMP_SPINCOUNT', 'KMP_BLOCKTIME')
PASSIVE = 'PASSIVE'
#: A core counts as free when at least this share of it is idle. A thread on a core that
#: another process half uses is descheduled at every barrier, so a half-free core costs more
#: than it brings.
FREE_CORE_SHARE = 0.75
#: How long the start-up measurement watches the CPUs (the process sleeps meanwhile).
SAMPLE_SECONDS = 0.1
#: Processes of one run on this machine (launchers' variables): the free cores are shared.
LOCAL_PROCESS_VARS = ('LOCAL_WORLD_SIZE', 'OMPI_COMM_WORLD_LOCAL_SIZE', 'SLURM_NTASKS_PER_NODE')


@dataclass(frozen=True)
class CpuLoad:
    """What the machine offers this process.

    Attributes:
        cores: CPUs the process may run on (its affinity).
        limit: whole cores a cgroup CPU quota allows (None: no quota).
        busy: cores other processes kept busy on those CPUs (None: unknown).
        source: how ``busy`` was measured.
    """

    cores: int
    limit: Optional[int] = None
    busy: Optional[float] = None
    source: str = ''


@dataclass(frozen=True)
class ThreadChoice:
    """What :func:`configure_threads` decided.

    Attributes:
        threads: the count mmhaze set (None: left to the user or to torch).
        reason: why, for the ``--verbose`` line.
        auto: chosen from the load (a hook may re-check it during a run).
        wait_policy: the ``OMP_WAIT_POLICY`` mmhaze set (None: not set by mmhaze).
        load: the measurement behind an ``auto`` choice.
    """

    threads: Optional[int]
    reason: str
    auto: bool = False
    wait_policy: Optional[str] = None
    load: Optional[CpuLoad] = None

    def describe(self) -> str:
        count = f'{self.threads}' if self.threads is not None else 'not set by mmhaze'
        wait = ('; OpenMP threads sleep while they wait (OMP_WAIT_POLICY=PASSIVE)'
                if self.wait_policy == PASSIVE else '')
        return (f'threads: {count} ({self.reason}{wait}; {THREADS_ENV}=N|off, '
                'OMP_NUM_THREADS or --threads to choose)')


_current: Optional[ThreadChoice] = None


def current_choice() -> Optional[ThreadChoice]:
    """The choice :func:`configure_threads` made in this process (None before, or never)."""
    return _current


def usable_cores() -> tuple[int, Optional[int]]:
    """``(CPUs of the affinity, whole cores of a cgroup quota or None)``."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return cores, cgroup_core_limit()


def cgroup_core_limit(root: str = '/sys/fs/cgroup') -> Optional[int]:
    """Whole cores the cgroup CPU quota under ``root`` allows (cgroup v2 ``cpu.max``, v1
    ``cpu/cpu.cfs_quota_us``: a container's own view), at least 1; None without a quota. A
    fractional quota rounds down: threads beyond it are throttled together at the end of each
    period."""
    candidates = ((os.path.join(root, 'cpu.max'), None),
                  (os.path.join(root, 'cpu', 'cpu.cfs_quota_us'),
                   os.path.join(root, 'cpu', 'cpu.cfs_period_us')))
    for quota_file, period_file in candidates:
        try:
            with open(quota_file) as f:
                fields = f.read().split()
            if period_file is not None:
                with open(period_file) as f:
                    fields.append(f.read().strip())
        except OSError:
            continue
        if len(fields) < 2 or fields[0] in ('max', '-1'):
            return None
        try:
            return max(1, math.floor(int(fields[0]) / int(fields[1])))
        except (ValueError, ZeroDivisionError):
            return None
    return None


class CpuSnapshot(NamedTuple):
    """Cumulative CPU time at one moment: ``busy``/``total`` jiffies of the watched CPUs in
    ``/proc/stat``, this process's own CPU seconds (all its threads), the monotonic clock."""

    busy: int
    total: int
    own: float
    wall: float


def cpu_snapshot(cpus: Optional[set[int]] = None,
                 stat_file: str = '/proc/stat') -> Optional[CpuSnapshot]:
    """Read ``stat_file`` for ``cpus`` (default: the affinity); None where it does not exist.

    Busy is everything but idle and iowait (a CPU waiting for I/O is free to compute).
    """
    if cpus is None:
        try:
            cpus = os.sched_getaffinity(0)
        except AttributeError:
            return None
    busy = total = 0
    try:
        with open(stat_file) as f:
            for line in f:
                if not (line.startswith('cpu') and line[3:4].isdigit()):
                    continue
                name, *values = line.split()
                if int(name[3:]) not in cpus:
                    continue
                # user nice system idle iowait irq softirq steal (guest time is inside user)
                ticks = [int(v) for v in values[:8]]
                total += sum(ticks)
                busy += sum(ticks) - ticks[3] - ticks[4]
    except (OSError, ValueError):
        return None
    if total == 0:
        return None
    times = os.times()
    return CpuSnapshot(busy, total, times.user + times.system, time.monotonic())


def others_busy(before: CpuSnapshot, after: CpuSnapshot, cores: int) -> float:
    """Cores other processes kept busy between two snapshots: the watched CPUs' busy share
    times their number, minus what this process used itself (its spinning included)."""
    ticks = after.total - before.total
    if ticks <= 0:
        return 0.0
    everyone = (after.busy - before.busy) / ticks * cores
    wall = after.wall - before.wall
    own = (after.own - before.own) / wall if wall > 0 else 0.0
    return min(float(cores), max(0.0, everyone - own))


def measure_load(sample_seconds: float = SAMPLE_SECONDS) -> CpuLoad:
    """The usable cores and what other processes use of them now, watched for
    ``sample_seconds``; where ``/proc/stat`` is missing, the 1-minute load average."""
    cores, limit = usable_cores()
    before = cpu_snapshot()
    if before is not None:
        time.sleep(sample_seconds)
        after = cpu_snapshot()
        if after is not None:
            return CpuLoad(cores, limit, others_busy(before, after, cores),
                           f'/proc/stat over {sample_seconds:g} s')
    try:
        return CpuLoad(cores, limit, min(float(cores), os.getloadavg()[0]), 'load average')
    except (AttributeError, OSError):
        return CpuLoad(cores, limit)


def local_processes(env: MutableMapping[str, str]) -> int:
    """Processes of this run on this machine, from the launcher's variables (1 without)."""
    for name in LOCAL_PROCESS_VARS:
        value = env.get(name, '').strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    return 1


def threads_for(load: CpuLoad, processes: int = 1) -> int:
    """One thread per free core (a core is free when :data:`FREE_CORE_SHARE` of it is idle),
    shared among ``processes``, within the quota, at least 1."""
    cap = load.cores if load.limit is None else min(load.cores, load.limit)
    if load.busy is None:
        free = cap
    else:
        free = math.floor(load.cores - load.busy + (1 - FREE_CORE_SHARE) + 1e-9)
    return max(1, min(cap, free) // max(1, processes))


def decide_threads(env: MutableMapping[str, str], requested: Optional[int] = None,
                   load: Optional[Callable[[], CpuLoad]] = None) -> ThreadChoice:
    """The thread count for this process (see the module's docstring for the rule); ``load``
    (default :func:`measure_load`) is called only for an ``auto`` choice."""
    setting = env.get(THREADS_ENV, '').strip().lower() or 'auto'
    if setting not in ('auto', 'off') and not (setting.isdigit() and int(setting) > 0):
        raise UserError(f'{THREADS_ENV} must be auto, off or a number of threads (>= 1), got '
                        f'{env[THREADS_ENV]!r}')
    if requested is not None:
        if requested < 1:
            raise UserError(f'--threads must be at least 1, got {requested}')
        return ThreadChoice(requested, f'--threads {requested}')
    if setting == 'off':
        return ThreadChoice(None, f'{THREADS_ENV}=off: torch\'s default')
    inherited = env.get(AUTO_MARK_ENV)
    for name in USER_THREAD_VARS:
        value = env.get(name, '').strip()
        if value and not (name == 'OMP_NUM_THREADS' and value == inherited):
            return ThreadChoice(None, f'{name}={value} from the environment')
    if setting != 'auto':
        return ThreadChoice(int(setting), f'{THREADS_ENV}={setting}')
    measured = (load or measure_load)()
    processes = local_processes(env)
    threads = threads_for(measured, processes)
    if measured.busy is None:
        why = f'auto: {measured.cores} usable cores, load unknown'
    else:
        why = (f'auto: {measured.cores} usable cores, {measured.busy:.1f} busy with other '
               f'processes ({measured.source})')
    if measured.limit is not None and measured.limit < measured.cores:
        why += f', CPU quota {measured.limit}'
    if processes > 1:
        why += f', shared by {processes} processes'
    return ThreadChoice(threads, why, auto=True, load=measured)


def _all_cores_free(choice: ThreadChoice, env: MutableMapping[str, str]) -> bool:
    """An ``auto`` choice that found every usable core free: its threads spin on idle cores,
    where a passive wait only adds wake-ups (the demo training ran 1.2-1.3x slower with
    ``PASSIVE`` on the quiet 2-core machine), and ThreadAdjustHook follows a load that comes
    later."""
    load = choice.load
    return bool(choice.auto and load is not None and load.busy is not None
                and choice.threads == threads_for(CpuLoad(load.cores, load.limit),
                                                  local_processes(env)))


def configure_threads(requested: Optional[int] = None,
                      env: Optional[MutableMapping[str, str]] = None) -> ThreadChoice:
    """Decide and apply the thread count and wait policy of a tool's process; call it before
    anything imports torch. Prints the decision with ``--verbose`` (``MMHAZE_VERBOSE``).

    ``requested``: the tool's ``--threads`` value. In a process that already imported torch
    (a script calling a tool's ``main``) only ``requested`` is applied (by
    ``torch.set_num_threads``); otherwise the caller owns the threads.
    """
    global _current
    env = os.environ if env is None else env
    if 'torch' in sys.modules:
        if requested is not None:  # asked for on the command line: torch takes it now
            choice = decide_threads(env, requested)
            sys.modules['torch'].set_num_threads(requested)
        else:
            choice = ThreadChoice(None, 'torch was imported before the tool started: its '
                                        'thread count is left as set')
    else:
        choice = decide_threads(env, requested)
        if choice.threads is not None:
            env['OMP_NUM_THREADS'] = str(choice.threads)
            if choice.auto:
                env[AUTO_MARK_ENV] = str(choice.threads)
        if env.get(THREADS_ENV, '').strip().lower() != 'off' and not any(
                env.get(name) for name in WAIT_VARS) and not _all_cores_free(choice, env):
            env['OMP_WAIT_POLICY'] = PASSIVE
            choice = ThreadChoice(choice.threads, choice.reason, choice.auto, PASSIVE,
                                  choice.load)
    _current = choice
    if verbose():
        print(choice.describe(), flush=True)
    return choice
