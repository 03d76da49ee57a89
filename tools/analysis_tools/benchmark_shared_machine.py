"""``make demo``'s training and ``tools/test.py`` on a quiet and on a loaded machine, with the
old thread defaults (``MMHAZE_THREADS=off``) and the new ones (``auto``).

    python tools/analysis_tools/benchmark_shared_machine.py [--background-load 2] [--rounds 2] \
        [--train-config configs/demo/demo_synthetic.py] [--test-config \
        configs/iassf/iassf_tiny_synthetic.py] [--iters 8] [--out results.json]

Every figure is a fresh process of the tool, as a user starts it. Per round, for each load (none,
then ``--background-load`` busy processes from ``background_load.py``), each mode runs one
training and one test, the modes' order alternating between rounds: load changes from the rest
of the machine hit all variants alike. Reported are medians over the rounds:

- *train s/iter*: ``tools/train.py TRAIN_CONFIG`` for ``--iters`` iterations (no validation, no
  checkpoint), the median of mmengine's per-iteration time from iteration 3 on;
- *test wall*: ``tools/test.py TEST_CONFIG CKPT``, the whole process (start-up included); the
  checkpoint comes from a one-iteration training of TEST_CONFIG made first (not timed).

Also printed: the thread count each mode ran with (``--verbose``'s line), the cores other
processes kept busy before each block (``/proc/stat``), and the mean 1-minute load average of
each block. The children get no ``OMP_NUM_THREADS``/``MKL_NUM_THREADS``/wait variables from this
process: ``off`` is torch's default (every core, libgomp's spinning waits), as before.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
import tempfile
import time

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from background_load import background_load  # noqa: E402

#: What ``make demo`` trains (the Makefile's DEMO_CONFIG).
DEMO_CONFIG = 'configs/demo/demo_synthetic.py'
TEST_CONFIG = 'configs/iassf/iassf_tiny_synthetic.py'
MODES = ('off', 'auto')
#: Left out of the children's environment: each mode decides for itself.
THREAD_VARS = ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OMP_WAIT_POLICY', 'GOMP_SPINCOUNT',
               'KMP_BLOCKTIME', 'MMHAZE_THREADS', 'MMHAZE_THREADS_AUTO', 'MMHAZE_VERBOSE')
#: A short training: one log line per iteration with that iteration's own time, no
#: validation, no checkpoint.
TRAIN_OPTIONS = ['train_cfg.val_interval=100000', 'default_hooks.logger.interval=1',
                 'log_processor.window_size=1', 'default_hooks.checkpoint.interval=100000',
                 '+default_hooks.checkpoint.save_last=False']


def child_env(mode: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARS}
    env['MMHAZE_THREADS'] = mode
    env['PYTHONPATH'] = os.pathsep.join(p for p in (REPO_ROOT, env.get('PYTHONPATH')) if p)
    return env


def run_tool(args: list[str], mode: str) -> tuple[float, str]:
    """Run ``python TOOL ARGS --verbose``; return (wall seconds, the ``threads:`` line)."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, *args, '--verbose'], cwd=REPO_ROOT,
                          env=child_env(mode), capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f'{" ".join(args)} failed ({proc.returncode}):\n'
                           f'{proc.stderr[-3000:]}')
    threads = next((line for line in proc.stdout.splitlines() if line.startswith('threads:')),
                   'threads: ?')
    head, hint, _ = threads.partition('; MMHAZE_THREADS=N|off')  # the how-to-choose hint
    return wall, head + ')' if hint else head


def iteration_times(work_dir: str) -> list[float]:
    (scalars,) = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    with open(scalars) as f:
        return [json.loads(line)['time'] for line in f if '"time"' in line]


def time_training(config: str, iters: int, mode: str, scratch: str) -> tuple[float, str]:
    """Median seconds per training iteration from the third on, and the threads line."""
    work_dir = tempfile.mkdtemp(dir=scratch)
    _, threads = run_tool(['tools/train.py', config, '--work-dir', work_dir, '--cfg-options',
                           f'train_cfg.max_iters={iters}', *TRAIN_OPTIONS], mode)
    times = iteration_times(work_dir)[2:iters]
    if not times:
        raise RuntimeError(f'no iteration times in {work_dir} (--iters must be ≥ 3)')
    return statistics.median(times), threads


def make_checkpoint(config: str, scratch: str) -> str:
    """One training iteration of ``config``, saved: the weights the test runs load."""
    work_dir = osp.join(scratch, 'checkpoint')
    run_tool(['tools/train.py', config, '--work-dir', work_dir, '--cfg-options',
              'train_cfg.max_iters=1', 'train_cfg.val_interval=100000',
              'default_hooks.checkpoint.interval=1'], 'auto')
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return f.read().strip()


def time_test(config: str, checkpoint: str, mode: str, scratch: str) -> tuple[float, str]:
    work_dir = tempfile.mkdtemp(dir=scratch)
    return run_tool(['tools/test.py', config, checkpoint, '--work-dir', work_dir], mode)


def others_busy_now() -> str:
    from mmhaze.utils.threads import measure_load
    load = measure_load(0.5)
    return 'unknown' if load.busy is None else f'{load.busy:.2f} of {load.cores} cores'


def benchmark(train_config: str, test_config: str, background: int, rounds: int, iters: int,
              scratch: str, modes=MODES) -> dict:
    checkpoint = make_checkpoint(test_config, scratch)
    loads = (0, background)
    results: dict = {f'{what} {load} {mode}': [] for what in ('train', 'test')
                     for load in loads for mode in modes}
    threads: dict = {}
    block_loads: dict = {load: [] for load in loads}
    busy_before: dict = {load: [] for load in loads}
    for round_index in range(rounds):
        order = modes if round_index % 2 == 0 else tuple(reversed(modes))
        for load in loads:
            with background_load(load):
                time.sleep(1.0)  # the busy processes running before anything is measured
                busy_before[load].append(others_busy_now())
                samples = [os.getloadavg()[0]]
                for mode in order:
                    value, threads[f'train {load} {mode}'] = time_training(
                        train_config, iters, mode, scratch)
                    results[f'train {load} {mode}'].append(value)
                    samples.append(os.getloadavg()[0])
                    value, threads[f'test {load} {mode}'] = time_test(
                        test_config, checkpoint, mode, scratch)
                    results[f'test {load} {mode}'].append(value)
                    samples.append(os.getloadavg()[0])
                block_loads[load].append(statistics.mean(samples))
            print(f'round {round_index + 1}/{rounds}, {load} busy processes: ' + ', '.join(
                f'{k} {v[-1]:.2f}' for k, v in results.items() if f' {load} ' in k), flush=True)
    return dict(train_config=train_config, test_config=test_config, iters=iters,
                background=background, rounds=rounds,
                medians={k: statistics.median(v) for k, v in results.items()}, runs=results,
                threads=threads, load_average={k: statistics.mean(v)
                                               for k, v in block_loads.items()},
                others_busy_before=busy_before)


def format_table(report: dict, modes=MODES) -> str:
    background, medians = report['background'], report['medians']
    lines = [f'| what | load | {" | ".join(modes)} | {modes[-1]} / {modes[0]} | mean load '
             'average |', '|---|---|' + '---:|' * (len(modes) + 2)]
    for what, unit in (('train', 's/iter'), ('test', 's wall')):
        for load in (0, background):
            row = [medians[f'{what} {load} {m}'] for m in modes]
            label = 'quiet' if load == 0 else f'{load} busy processes'
            lines.append(f'| {what} ({unit}) | {label} | ' + ' | '.join(f'{v:.2f}' for v in row)
                         + f' | {row[-1] / row[0]:.2f} | {report["load_average"][load]:.1f} |')
        ratios = ', '.join(
            f'{m} {medians[f"{what} {background} {m}"] / medians[f"{what} 0 {m}"]:.2f}×'
            for m in modes)
        lines.append(f'| {what}: loaded / quiet | | {ratios} | | |')
    lines.append('')
    lines += [f'- {k}: {v}' for k, v in report['threads'].items()]
    lines.append(f'- cores busy with other processes before each block: '
                 f'{report["others_busy_before"]}')
    return '\n'.join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--train-config', default=DEMO_CONFIG,
                        help=f'the training to time (default: {DEMO_CONFIG}, make demo\'s)')
    parser.add_argument('--test-config', default=TEST_CONFIG,
                        help=f'the test to time (default: {TEST_CONFIG})')
    parser.add_argument('--background-load', type=int, default=2, metavar='N',
                        help='busy processes of the loaded blocks (default: 2)')
    parser.add_argument('--rounds', type=int, default=2)
    parser.add_argument('--iters', type=int, default=8,
                        help='training iterations per run (≥ 3; default: 8)')
    parser.add_argument('--out', help='also write the figures to this JSON file')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.iters < 3 or args.rounds < 1 or args.background_load < 1:
        print('error: --iters must be ≥ 3, --rounds and --background-load ≥ 1',
              file=sys.stderr)
        return 2
    if args.out and osp.exists(args.out):  # before the run, not after an hour of it
        print(f'error: --out {args.out} exists (choose a new file)', file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix='shared_machine_') as scratch:
        report = benchmark(args.train_config, args.test_config, args.background_load,
                           args.rounds, args.iters, scratch)
    print(format_table(report))
    if args.out:
        with open(args.out, 'x') as f:  # never over an earlier report
            json.dump(report, f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
