"""Progress every few seconds, with an ETA, for training, validation and testing."""
from __future__ import annotations

import time
from typing import Optional

from mmengine.hooks import Hook

from mmhaze.engine.runner.console import CONSOLE
from mmhaze.registry import HOOKS


def format_duration(seconds: float) -> str:
    """``'42 s'``, ``'3 min 05 s'``, ``'1 h 02 min'``."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f'{seconds} s'
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f'{minutes} min {seconds:02d} s'
    hours, minutes = divmod(minutes, 60)
    return f'{hours} h {minutes:02d} min'


@HOOKS.register_module()
class ProgressHook(Hook):
    """One console line at most every ``interval`` seconds (and after the first iteration of a
    loop): where the loop is, the time per iteration and the time left.

    mmengine's ``LoggerHook`` logs every N iterations, which at seconds per iteration can mean
    minutes of silence; this hook says something within ``interval`` seconds of any loop that
    lasts longer than that.
    """

    priority = 'BELOW_NORMAL'

    def __init__(self, interval: float = 10.0):
        if interval <= 0:
            raise ValueError(f'ProgressHook.interval must be > 0 seconds, got {interval}')
        self.interval = float(interval)
        self._start: dict[str, float] = {}
        self._last: dict[str, float] = {}
        self._done: dict[str, int] = {}

    def _begin(self, mode: str) -> None:
        self._start[mode] = self._last[mode] = time.perf_counter()
        self._done[mode] = 0

    def _tick(self, runner, mode: str, done: int, total: Optional[int]) -> None:
        now = time.perf_counter()
        first = self._done.get(mode, 0) == 0
        self._done[mode] = done
        if not first and now - self._last[mode] < self.interval:
            return
        self._last[mode] = now
        elapsed = now - self._start[mode]
        per_iter = elapsed / max(done, 1)
        line = f'{mode}: {done}/{total}' if total else f'{mode}: {done}'
        line += f' · {per_iter:.2f} s/iter'
        if total and done < total:
            line += f' · ETA {format_duration(per_iter * (total - done))}'
        runner.logger.info(line, extra=CONSOLE)

    # training: iterations of the whole run
    def before_train(self, runner) -> None:
        self._begin('train')
        self._first_iter = runner.iter  # a resumed run counts from where it stopped

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        done, total = runner.iter + 1, runner.max_iters
        run_here = done - self._first_iter  # the pace is this process's own
        now = time.perf_counter()
        if run_here > 1 and done < total and now - self._last['train'] < self.interval:
            return
        self._last['train'] = now
        per_iter = (now - self._start['train']) / run_here
        line = f'train: iter {done}/{total} · {per_iter:.2f} s/iter'
        if done < total:
            line += f' · ETA {format_duration(per_iter * (total - done))}'
        if isinstance(outputs, dict) and 'loss' in outputs:
            loss = outputs['loss']
            line += f' · loss {float(loss.detach() if hasattr(loss, "detach") else loss):.4f}'
        runner.logger.info(line, extra=CONSOLE)

    # validation and testing: images of the dataset
    def before_val(self, runner) -> None:
        self._begin('val')

    def after_val_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._tick(runner, 'val', batch_idx + 1, _length(runner.val_dataloader))

    def before_test(self, runner) -> None:
        self._begin('test')

    def after_test_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._tick(runner, 'test', batch_idx + 1, _length(runner.test_dataloader))


def _length(loader) -> Optional[int]:
    try:
        return len(loader)
    except TypeError:
        return None
