"""CPU (or GPU) forward latency of a config's model, with each part's share of the time.

    python tools/analysis_tools/benchmark.py configs/iassf/iassf_official_msrs.py \
        --shape 256 256 --shape 480 640 --repeat 5

For each input size: ``--warmup`` untimed forwards, then ``--repeat`` timed ones (batch 1,
``mode='tensor'``, no grad, eval mode). Reports the mean and median latency and, from forward
hooks on the parts of each network, the share of the forward spent in each (e.g. IASSF's
``dehazer.haze_density``). The load average is printed too: on a shared machine the figures are only
comparable at similar load. Parameters and GMACs: ``get_flops.py``.
"""
from __future__ import annotations

import argparse
import os
import os.path as osp
import statistics
import sys
import time
from collections import defaultdict

import torch
from mmengine.config import DictAction

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from get_flops import build_model, dummy_inputs, model_parts  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Measure forward latency per input size')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--shape', type=int, nargs=2, action='append', metavar=('H', 'W'),
                        help='input size; repeat for several (default: 256 256)')
    parser.add_argument('--repeat', type=int, default=5, help='timed forwards (default: 5)')
    parser.add_argument('--warmup', type=int, default=1, help='untimed forwards (default: 1)')
    parser.add_argument('--device', default='cpu', help="'cpu' or 'cuda'")
    parser.add_argument('--threads', type=int, default=None, help='torch CPU threads')
    parser.add_argument('--by-network', action='store_true',
                        help='time each network slot (e.g. HSVF\'s streams) instead of its '
                             'children')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys')
    return parser.parse_args(argv)


class ChildTimer:
    """Wall time spent inside each part (:func:`model_parts`) during forwards (forward hooks)."""

    def __init__(self, model: torch.nn.Module, sync, by_network: bool = False):
        self.totals: dict[str, float] = defaultdict(float)
        self._start: dict[str, float] = {}
        self._sync = sync
        self._handles = []
        for name, part in model_parts(model, by_network):  # parts never called stay absent
            # A ModuleList is never called itself: time its elements under its name.
            modules = list(part) if isinstance(part, torch.nn.ModuleList) else [part]
            for module in modules:
                self._handles.append(module.register_forward_pre_hook(self._pre(name)))
                self._handles.append(module.register_forward_hook(self._post(name)))

    def _pre(self, name):
        def hook(module, args):
            self._sync()
            self._start[name] = time.perf_counter()
        return hook

    def _post(self, name):
        def hook(module, args, output):
            self._sync()
            self.totals[name] += time.perf_counter() - self._start.pop(name)
        return hook

    def reset(self):
        self.totals.clear()

    def remove(self):
        for h in self._handles:
            h.remove()


def benchmark(model: torch.nn.Module, height: int, width: int, repeat: int = 5,
              warmup: int = 1, device: str = 'cpu', by_network: bool = False) -> dict:
    """Latency (ms) of ``repeat`` forwards and each child's share of the forward time."""
    model = model.to(device).eval()
    inputs = {k: v.to(device) for k, v in dummy_inputs(model, height, width).items()}
    sync = torch.cuda.synchronize if device.startswith('cuda') else (lambda: None)
    timer = ChildTimer(model, sync, by_network)
    times = []
    with torch.no_grad():
        for i in range(warmup + repeat):
            if i == warmup:
                timer.reset()
            sync()
            start = time.perf_counter()
            model(inputs, mode='tensor')
            sync()
            if i >= warmup:
                times.append(time.perf_counter() - start)
    timer.remove()
    total = sum(times)
    shares = {k: v / total for k, v in sorted(timer.totals.items(), key=lambda kv: -kv[1])}
    return dict(shape=(height, width), mean_ms=1e3 * total / len(times),
                median_ms=1e3 * statistics.median(times), shares=shares)


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmhaze.apis import ConfigError
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        model = build_model(args.config, args.cfg_options)
    except ConfigError as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    print(f'config: {args.config}  device: {args.device}  threads: {torch.get_num_threads()}  '
          f'load average at start: {os.getloadavg()[0]:.2f}')
    for h, w in [tuple(s) for s in (args.shape or [[256, 256]])]:
        r = benchmark(model, h, w, args.repeat, args.warmup, args.device, args.by_network)
        parts = ', '.join(f'{k} {100 * v:.1f}%' for k, v in r['shares'].items())
        print(f'{h}×{w}: mean {r["mean_ms"]:.0f} ms, median {r["median_ms"]:.0f} ms '
              f'({args.repeat} runs) | {parts}')
    print(f'load average at end: {os.getloadavg()[0]:.2f}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
