"""A reproducible CPU load for benchmarks of a shared machine: N busy processes.

    python tools/analysis_tools/background_load.py N [--seconds S]

Each process spins a pure-Python loop: one core each, no memory traffic, no threads, at the
default priority, as a competing CPU-bound job would. The CLI runs them until ``--seconds``
pass or Ctrl-C and prints the 1-minute load average at the end. From Python (another
benchmark)::

    sys.path.insert(0, 'tools/analysis_tools')
    from background_load import background_load
    with background_load(2):
        ...  # measure under two competing jobs

The processes stop when the block exits, whatever the exit; a process whose parent is gone
(a benchmark killed with SIGKILL) stops by itself within a fraction of a second, so none is
left behind.
"""
import argparse
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator

# The busy loop; it checks every ~10 ms whether its parent still exists.
BUSY_LOOP = '''
import os, sys
parent = int(sys.argv[1])
n = 0
while True:
    n += 1
    if n % 200000 == 0 and os.getppid() != parent:
        break
'''


def _stop(processes: list) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def background_load(n: int) -> Iterator[list]:
    """Run ``n`` CPU-bound busy processes for the duration of the block; yields their
    ``subprocess.Popen`` objects (``n`` = 0: none)."""
    if n < 0:
        raise ValueError(f'background_load: n must be ≥ 0, got {n}')
    processes: list = []
    try:
        for _ in range(n):
            processes.append(subprocess.Popen(
                [sys.executable, '-I', '-S', '-c', BUSY_LOOP, str(os.getpid())],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        yield processes
    finally:
        _stop(processes)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Run N CPU-bound busy processes')
    parser.add_argument('n', type=int, help='number of busy processes')
    parser.add_argument('--seconds', type=float, default=None,
                        help='stop after this many seconds (default: at Ctrl-C)')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.n < 0:
        print(f'error: N must be ≥ 0, got {args.n}', file=sys.stderr)
        return 2
    with background_load(args.n) as processes:
        print(f'{args.n} busy processes: pids {[p.pid for p in processes]}; load average '
              f'{os.getloadavg()[0]:.2f} at start', flush=True)
        try:
            time.sleep(args.seconds) if args.seconds is not None else _wait_forever()
        except KeyboardInterrupt:
            pass
        print(f'load average {os.getloadavg()[0]:.2f} at the end', flush=True)
    return 0


def _wait_forever() -> None:
    while True:
        time.sleep(3600)


if __name__ == '__main__':
    sys.exit(main())
