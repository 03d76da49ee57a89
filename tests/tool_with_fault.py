"""Run a tool in a fresh interpreter with a fault injected (for the reliability tests):

    python tests/tool_with_fault.py [--kill-at-rename NAME [--occurrence N]] [--kill-at-iter N]
        [--file-limit BYTES] TOOL -- TOOL_ARGS...

``--kill-at-rename``: the process kills itself (SIGKILL) when it is about to rename a temporary
into place as NAME for the N-th time (a kill -9 in the middle of a save). ``--kill-at-iter``: it
kills itself as training iteration N (1-based, as the log counts) starts, its batch loaded
(a kill -9 between checkpoints). ``--file-limit``: writes
past BYTES fail with EFBIG (a full disk; Python ignores SIGXFSZ). A fresh interpreter rather
than a fork: autograd refuses to run in a child forked after the parent has used its threads.
"""
import argparse
import os
import resource
import signal
import sys
from pathlib import Path


def kill_at_rename_of(name: str, occurrence: int) -> None:
    real = os.replace
    seen = []

    def replace(src, dst, *args, **kwargs):
        if os.path.basename(str(dst)) == name:
            seen.append(dst)
            if len(seen) == occurrence:
                os.kill(os.getpid(), signal.SIGKILL)
        return real(src, dst, *args, **kwargs)

    os.replace = replace


def kill_at_iteration(number: int) -> None:
    from mmengine.runner import IterBasedTrainLoop
    real = IterBasedTrainLoop.run_iter

    def run_iter(loop, data_batch):
        if loop.iter + 1 == number:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(loop, data_batch)

    IterBasedTrainLoop.run_iter = run_iter


def main() -> int:
    argv = sys.argv[1:]
    split = argv.index('--')
    parser = argparse.ArgumentParser()
    parser.add_argument('tool')
    parser.add_argument('--kill-at-rename')
    parser.add_argument('--occurrence', type=int, default=1)
    parser.add_argument('--kill-at-iter', type=int)
    parser.add_argument('--file-limit', type=int)
    args = parser.parse_args(argv[:split])
    # This tree's mmhaze (as tests/conftest.py does), not an installed one; then tests/.
    tests = Path(__file__).resolve().parent
    sys.path[:0] = [str(tests.parent), str(tests)]
    from helpers import load_tool
    tool = load_tool(args.tool)
    if args.kill_at_rename:
        kill_at_rename_of(args.kill_at_rename, args.occurrence)
    if args.kill_at_iter:
        kill_at_iteration(args.kill_at_iter)
    if args.file_limit:
        resource.setrlimit(resource.RLIMIT_FSIZE, (args.file_limit, resource.RLIM_INFINITY))
    return tool.main(argv[split + 1:])


if __name__ == '__main__':
    sys.exit(main())
