"""Where the time of a ``tools/test.py`` run goes: data loading, forward, metrics, writing.

    python tools/analysis_tools/profile_test.py CONFIG [CHECKPOINT] [--synthetic H W N]
        [--compile-metrics auto|1|0] [--cfg-options ...] [--work-dir DIR] [--out FILE.json]

Runs the test exactly as ``tools/test.py`` does (same config preparation, Runner, result
files) with timers around the parts, and prints seconds per image of each part and the test
loop's overhead beyond forward + metrics. Without CHECKPOINT the model is tested with its
random initialisation (speed does not depend on the weights). ``--synthetic H W N`` swaps the
test set for N synthetic scenes of H×W (SyntheticFusionDataset), e.g. to profile an MSRS config
at 480×640 without the data; metrics whose parameter files are missing (PI without
``NRQM_model.mat``) are left out with a note.

Parts (per image): ``data`` = waiting for the dataloader, ``forward`` = ``model.test_step``
(preprocessing, network, un-padding), ``metrics`` = ``evaluator.process`` + ``evaluate``,
``hooks`` = the per-iteration hooks (logging, ``--save-preds``), ``writing`` = the result
files (``finish_test``), ``other`` = the rest of the wall time (Runner setup is excluded).
The median image (steady state) and the first image (warm-up, metric compilation) are shown
apart; the metrics' ``evaluate`` (means over the set) is counted in ``metrics``.
"""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager

from mmhaze.utils.cli import CfgOptionsAction

PARTS = ('data', 'forward', 'metrics', 'hooks', 'writing', 'other')


class PartTimer:
    """Accumulates wall time per part; ``wrap`` times every call of a bound method."""

    def __init__(self):
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, list[float]] = defaultdict(list)

    @contextmanager
    def part(self, name: str):
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - t0
            self.calls[name].append(time.perf_counter() - t0)

    def wrap(self, owner, attr: str, name: str) -> None:
        method = getattr(owner, attr)

        def timed(*args, **kwargs):
            with self.part(name):
                return method(*args, **kwargs)

        setattr(owner, attr, timed)


class TimedLoader:
    """Iterates a dataloader and times the wait for each batch."""

    def __init__(self, loader, timer: PartTimer):
        self.loader, self.timer = loader, timer

    def __iter__(self):
        it = iter(self.loader)
        while True:
            with self.timer.part('data'):
                try:
                    batch = next(it)
                except StopIteration:
                    return
            yield batch

    def __len__(self):
        return len(self.loader)

    def __getattr__(self, name):
        return getattr(self.loader, name)


def synthetic_test_set(cfg, size, num: int) -> None:
    """Replace the test dataloader's dataset by ``num`` synthetic scenes of ``size``."""
    cfg.test_dataloader = dict(
        batch_size=1, num_workers=1, persistent_workers=False,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dict(type='SyntheticFusionDataset', num_samples=num, img_size=list(size),
                     seed=1000, modality='thermal', pipeline=[dict(type='PackFusionInputs')],
                     test_mode=True))


def drop_unavailable_metrics(cfg) -> list[str]:
    """Leave PI out of the test evaluator when its parameter files are missing."""
    from mmhaze.evaluation.functional.no_reference import check_pi_files
    try:
        check_pi_files()
        return []
    except FileNotFoundError:
        pass
    evaluators = cfg.test_evaluator if isinstance(cfg.test_evaluator, list) else [
        cfg.test_evaluator]
    dropped = []
    for ev in evaluators:
        if 'PI' in list(ev.get('metrics', [])):
            ev['metrics'] = [m for m in ev['metrics'] if m != 'PI']
            dropped.append('PI')
    return dropped


def random_checkpoint(cfg, folder: str) -> str:
    """Save the randomly initialised model of ``cfg`` as a checkpoint in ``folder``."""
    import torch

    from mmhaze.registry import MODELS
    from mmhaze.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    model = MODELS.build(cfg.model)
    if hasattr(model, 'init_weights'):
        model.init_weights()
    path = osp.join(folder, 'random_init.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict(note='random init')), path)
    return path


def profile(config: str, checkpoint: str | None = None, cfg_options: dict | None = None,
            work_dir: str | None = None, synthetic=None) -> dict:
    """Run the test with timers; returns seconds per part, per image and in total."""
    from mmhaze.apis import build_runner, prepare_config
    from mmhaze.apis.testing import finish_test, prepare_test, test_evaluators
    timer = PartTimer()
    cfg = prepare_config(config, cfg_options, work_dir)
    notes = []
    if synthetic is not None:
        synthetic_test_set(cfg, synthetic[:2], synthetic[2])
        notes.append(f'test set: {synthetic[2]} synthetic scenes of {synthetic[0]}×{synthetic[1]}')
    dropped = drop_unavailable_metrics(cfg)
    if dropped:
        notes.append(f'left out (parameter file missing): {", ".join(dropped)}')
    with tempfile.TemporaryDirectory() as tmp:
        if checkpoint is None:
            checkpoint = random_checkpoint(cfg, tmp)
            notes.append('random-init checkpoint')
        prepare_test(cfg, checkpoint)
        runner = build_runner(cfg)
        loop = runner.test_loop  # builds the dataloader and the evaluator
        loop.dataloader = TimedLoader(loop.dataloader, timer)
        timer.wrap(runner.model, 'test_step', 'forward')
        for ev in test_evaluators(runner):
            timer.wrap(ev, 'process', 'metrics')
            timer.wrap(ev, 'evaluate', 'evaluate')
        call_hook = runner.call_hook

        def timed_hook(fn_name, **kwargs):
            if fn_name.endswith('_iter'):
                with timer.part('hooks'):
                    return call_hook(fn_name, **kwargs)
            return call_hook(fn_name, **kwargs)

        runner.call_hook = timed_hook
        t0 = time.perf_counter()
        metrics = runner.test()
        with timer.part('writing'):
            finish_test(runner, cfg, metrics, method=osp.splitext(osp.basename(config))[0],
                        checkpoint=checkpoint)
        total = time.perf_counter() - t0
    num = len(loop.dataloader.dataset)
    timer.seconds['metrics'] += timer.seconds.pop('evaluate', 0.0)
    seconds = {p: timer.seconds.get(p, 0.0) for p in PARTS if p != 'other'}
    seconds['other'] = max(0.0, total - sum(seconds.values()))
    core = seconds['forward'] + seconds['metrics']
    # the median call: the steady state without the first call's warm-up and compiling
    median = {p: statistics.median(timer.calls[p]) for p in ('data', 'forward', 'metrics')
              if timer.calls.get(p)}
    first = {p: timer.calls[p][0] for p in ('forward', 'metrics') if timer.calls.get(p)}
    return dict(config=config, images=num, total_seconds=total, seconds=seconds,
                per_image={p: s / num for p, s in seconds.items()},
                median_call=median, first_call=first,
                overhead_fraction=(total - core) / core if core else float('nan'),
                notes=notes, load_average=os.getloadavg()[0], metrics=metrics)


def format_profile(result: dict) -> str:
    per = result['per_image']
    total = result['total_seconds'] / result['images']
    lines = [f"{result['config']}: {result['images']} images, {total:.3f} s per image "
             f"(load average {result['load_average']:.2f})"]
    lines += [f"  notes: {'; '.join(result['notes'])}"] if result['notes'] else []
    med, first = result['median_call'], result['first_call']
    lines += ['', '| part | s per image | share | median image | first image |',
              '|---|---:|---:|---:|---:|']
    lines += [f'| {p} | {per[p]:.3f} | {100 * per[p] / total:.0f}% | '
              + (f'{med[p]:.3f}' if p in med else '') + ' | '
              + (f'{first[p]:.3f}' if p in first else '') + ' |' for p in PARTS]
    lines += ['', f"overhead beyond forward + metrics: {100 * result['overhead_fraction']:.1f}%"]
    return '\n'.join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Profile a tools/test.py run by part')
    parser.add_argument('config')
    parser.add_argument('checkpoint', nargs='?', help='default: the random-init model')
    parser.add_argument('--work-dir')
    parser.add_argument('--synthetic', type=int, nargs=3, metavar=('H', 'W', 'N'),
                        help='test on N synthetic scenes of H×W instead of the config test set')
    parser.add_argument('--compile-metrics', choices=['auto', '1', '0'],
                        help='the metric compile switch (MMHAZE_COMPILE_METRICS)')
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction)
    parser.add_argument('--out', help='also write the result as JSON (must not exist)')
    parser.add_argument('--unsafe-load', action='store_true',
                        help='allow loading a trusted checkpoint that is not weights_only-safe')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from mmhaze.utils import report_user_errors
    # A refused checkpoint, bad input, a full disk: one line.
    return report_user_errors(lambda: run(args))


def run(args) -> int:
    from mmhaze.utils.fileio import check_new_file_path
    if args.compile_metrics is not None:
        os.environ['MMHAZE_COMPILE_METRICS'] = args.compile_metrics
    if args.unsafe_load:
        from mmhaze.utils import UNSAFE_LOAD_ENV
        os.environ[UNSAFE_LOAD_ENV] = '1'
    if args.out and osp.exists(args.out):
        print(f'error: {args.out} exists; choose a new name', file=sys.stderr)
        return 2
    if args.out:
        check_new_file_path(args.out, '--out')
    result = profile(args.config, args.checkpoint, args.cfg_options, args.work_dir,
                     args.synthetic)
    print(format_profile(result))
    if args.out:
        with open(args.out, 'x') as f:
            json.dump(result, f, indent=2, default=float)
    return 0


if __name__ == '__main__':
    sys.exit(main())
