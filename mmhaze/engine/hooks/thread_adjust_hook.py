"""Move torch's thread count with the load of the machine during a run."""
from __future__ import annotations

import time
from typing import Optional

import torch
from mmengine.hooks import Hook

from mmhaze.registry import HOOKS
from mmhaze.utils.threads import (
    CpuLoad,
    CpuSnapshot,
    cpu_snapshot,
    others_busy,
    threads_for,
    usable_cores,
)


@HOOKS.register_module()
class ThreadAdjustHook(Hook):
    """Every ``interval`` seconds of a loop, re-measure what other processes use of the cores
    (``/proc/stat`` since the last check, minus this process's own CPU time) and set torch's
    thread count to the free cores, as the tools' ``auto`` choice did at start
    (:mod:`mmhaze.utils.threads`).

    ``tools/train.py`` and ``tools/test.py`` add it when the thread count was chosen ``auto``; it
    stops adjusting for good once something else changes the count. Dataloader workers are
    other processes here: what they compute is load on the same cores.
    """

    priority = 'VERY_LOW'

    def __init__(self, interval: float = 20.0, processes: int = 1):
        if interval <= 0:
            raise ValueError(f'ThreadAdjustHook.interval must be > 0 seconds, got {interval}')
        self.interval = float(interval)
        self.processes = processes
        self.cores, self.limit = usable_cores()
        self._last: Optional[CpuSnapshot] = None
        self._threads: Optional[int] = None  # the count this hook expects torch to have

    def before_run(self, runner) -> None:
        self._last = cpu_snapshot()
        self._threads = torch.get_num_threads()

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self.check(runner)

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self.check(runner)

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self.check(runner)

    def check(self, runner=None) -> Optional[int]:
        """Adjust when ``interval`` has passed; returns the new count when it changed."""
        if self._last is None or self._threads is None:
            return None
        if time.monotonic() - self._last.wall < self.interval:
            return None
        if torch.get_num_threads() != self._threads:  # set by someone else: theirs now
            self._threads = None
            return None
        now = cpu_snapshot()
        if now is None:
            self._last = None
            return None
        busy = others_busy(self._last, now, self.cores)
        self._last = now
        threads = threads_for(CpuLoad(self.cores, self.limit, busy), self.processes)
        if threads == self._threads:
            return None
        if runner is not None:  # the log file; the console with --verbose
            runner.logger.info(f'threads: {self._threads} -> {threads} ({busy:.1f} of '
                               f'{self.cores} cores busy with other processes)')
        torch.set_num_threads(threads)
        self._threads = threads
        return threads
