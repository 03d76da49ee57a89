"""Start-up time: ``import mmhaze``, what a model-building tool imports, every tool's ``--help``.

    python tools/analysis_tools/benchmark_import.py [--repeat 5] [--python PY --python PY2]

Each figure is a fresh Python process, measured in interleaved rounds (one run of each per
round, so load changes hit all alike); the median is reported with the mean 1-minute load
average. Imports are timed inside the process (``time.perf_counter`` around the import
statement); ``--help`` rows are the wall time of the whole process, interpreter start included.
Also reported: the optional or heavy packages an import left in ``sys.modules``, and any line
written to stderr (third-party noise shows up there). ``--python`` (repeatable) runs every row
under each interpreter given, in the same rounds: e.g. an environment with bitsandbytes and one
made by ``make install`` (without it).
"""
from __future__ import annotations

import argparse
import os
import os.path as osp
import statistics
import subprocess
import sys
import time

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: Packages whose presence after an import is worth knowing (heavy or optional).
WATCHED = ('torch', 'mmengine', 'mmcv', 'mmseg', 'pyiqa', 'bitsandbytes', 'transformers',
           'torch._dynamo')
IMPORTS = {
    'import torch (for scale)': 'torch',
    'import mmhaze': 'mmhaze',
    'import mmhaze.apis, .models, .evaluation (a tool that builds a model)':
        'mmhaze.apis, mmhaze.models, mmhaze.evaluation',
}


def _import_code(modules: str) -> str:
    return ('import sys, time\n'
            't = time.perf_counter()\n'
            f'import {modules}\n'
            'dt = time.perf_counter() - t\n'
            f'print(dt, [m for m in {WATCHED!r} if m in sys.modules])\n')


def tools(root: str = REPO_ROOT) -> list[str]:
    """Every ``tools/**/*.py`` script, relative to the repository root."""
    found = []
    for folder, _, files in os.walk(osp.join(root, 'tools')):
        found += [osp.relpath(osp.join(folder, f), root) for f in files if f.endswith('.py')]
    return sorted(found)


def run_once(cmd: list[str], env: dict) -> tuple[float, str, str, int]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO_ROOT)
    return time.perf_counter() - start, proc.stdout, proc.stderr, proc.returncode


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description='Measure start-up times in fresh processes')
    parser.add_argument('--repeat', type=int, default=5, help='rounds (default: 5)')
    parser.add_argument('--no-tools', action='store_true', help="skip the tools' --help rows")
    parser.add_argument('--python', action='append', metavar='PY',
                        help='interpreter(s) to measure (default: this one)')
    args = parser.parse_args(argv)
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(p for p in (REPO_ROOT, env.get('PYTHONPATH')) if p)
    pythons = args.python or [sys.executable]
    rows = {}
    for py in pythons:
        tag = f'[{py}] ' if len(pythons) > 1 else ''
        rows.update({tag + name: [py, '-c', _import_code(mods)]
                     for name, mods in IMPORTS.items()})
        if not args.no_tools:
            rows.update({f'{tag}{t} --help': [py, t, '--help'] for t in tools()})
    times: dict[str, list[float]] = {k: [] for k in rows}
    loaded: dict[str, str] = {}
    noise: dict[str, set] = {k: set() for k in rows}
    loads = []
    for _ in range(args.repeat):
        for name, cmd in rows.items():
            wall, out, err, code = run_once(cmd, env)
            if code:
                print(f'error: {name} exited with {code}:\n{err}', file=sys.stderr)
                return 1
            if cmd[1] == '-c':
                seconds, modules = out.strip().split(' ', 1)
                times[name].append(float(seconds))
                loaded[name] = modules
            else:
                times[name].append(wall)
            noise[name].update(line for line in err.splitlines() if line.strip())
        loads.append(os.getloadavg()[0])
    print(f'median of {args.repeat} interleaved rounds, load {statistics.mean(loads):.2f}')
    print('| what | seconds | heavy/optional modules loaded | stderr lines |')
    print('|---|---:|---|---:|')
    for name, t in times.items():
        print(f'| `{name}` | {statistics.median(t):.2f} | {loaded.get(name, "")} | '
              f'{len(noise[name])} |')
    for name, lines in noise.items():
        for line in sorted(lines)[:3]:
            print(f'stderr of {name}: {line}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
