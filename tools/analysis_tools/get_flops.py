"""Parameters and multiply-accumulates of a config's model: ``get_flops.py CONFIG``.

    python tools/analysis_tools/get_flops.py configs/iassf/iassf_official_msrs.py \
        --shape 256 256 --shape 480 640

Counts with ``torch.utils.flop_counter.FlopCounterMode`` on one forward pass (``mode='tensor'``,
batch 1, 3-channel sources in the model's input range): convolutions and matrix products
(attention included), i.e. the layers that dominate; element-wise ops, norms, pooling and
resizing are not counted (nor, therefore, IASSF's haze density: min-pooling and integral images).
GMACs = counted FLOPs / 2 / 1e9. Parameters are also given without prompt pools (tensors named
``*.pool.prompts``), which are large look-up tables rather than compute.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from mmhaze.utils.cli import CfgOptionsAction

if TYPE_CHECKING:  # torch is imported where it is used, so that --help answers at once
    import torch

POOL_SUFFIX = 'pool.prompts'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Count parameters and GMACs of a model')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--shape', type=int, nargs=2, action='append', metavar=('H', 'W'),
                        help='input size; repeat for several (default: 256 256)')
    parser.add_argument('--by-network', action='store_true',
                        help='break GMACs down by network slot (e.g. HSVF\'s streams) instead '
                             'of by the slots\' children')
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction,
                        help='override config keys')
    return parser.parse_args(argv)


def build_model(config: str, cfg_options: dict | None = None) -> torch.nn.Module:
    """The config's model in eval mode (CPU), with mmhaze's registries."""
    from mmhaze.apis import load_config
    from mmhaze.registry import MODELS
    from mmhaze.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    cfg = load_config(config, cfg_options)
    return MODELS.build(cfg.model).eval()


def dummy_inputs(model: torch.nn.Module, height: int, width: int,
                 batch: int = 1) -> dict[str, torch.Tensor]:
    """Random 3-channel VIS and IR in the model's input range (what the preprocessor yields)."""
    import torch
    gen = torch.Generator().manual_seed(0)
    pre = getattr(model, 'data_preprocessor', None)
    channels = getattr(pre, 'channels', {}) if pre is not None else {}
    out = {}
    for key in ('vis', 'ir'):
        x = torch.rand(batch, channels.get(key) or 3, height, width, generator=gen)
        out[key] = pre.normalize(x) if hasattr(pre, 'normalize') else x
    return out


def parameter_counts(model: torch.nn.Module) -> tuple[int, int]:
    """(all parameters, parameters outside prompt pools)."""
    total = pools = 0
    for name, p in model.named_parameters():
        total += p.numel()
        if name.endswith(POOL_SUFFIX):
            pools += p.numel()
    return total, total - pools


def model_parts(model: torch.nn.Module,
                by_network: bool = False) -> list[tuple[str, torch.nn.Module]]:
    """The parts a report breaks down: each network's children (``dehazer.encoder``, …) for a
    composed mmhaze model — or the networks themselves with ``by_network`` — the direct
    children otherwise."""
    names = getattr(model, 'network_names', None)
    if names is None:
        return list(model.named_children())
    parts = []
    for slot in names:
        net = model.get_network(slot)
        children = [] if by_network else list(net.named_children())
        parts += [(f'{slot}.{n}', c) for n, c in children] if children else [(slot, net)]
    return parts


def count_macs(model: torch.nn.Module, inputs: dict[str, torch.Tensor],
               by_network: bool = False) -> dict[str, float]:
    """GMACs of one forward: ``'total'`` and one entry per part (:func:`model_parts`)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    counter = FlopCounterMode(display=False, depth=None)
    # With gradients on, inference-only caches (the window attention's relative-position bias)
    # are recomputed, so every forward and every input size counts the same operations.
    with torch.enable_grad(), counter:
        model(inputs, mode='tensor')
    root = type(model).__name__
    counts = counter.get_flop_counts()
    per_module: dict[str, float] = {}
    for part, _ in model_parts(model, by_network):
        # A ModuleList is never called itself: add up its outermost counted descendants.
        name = f'{root}.{part}'
        under = [k for k in counts if k == name or k.startswith(name + '.')]
        outer = [k for k in under if not any(k.startswith(o + '.') for o in under)]
        if outer:
            per_module[part] = sum(sum(counts[k].values()) for k in outer) / 2e9
    return dict(total=counter.get_total_flops() / 2e9, **per_module)


def report(config: str, shapes: Sequence[tuple[int, int]], cfg_options: dict | None = None,
           model: torch.nn.Module | None = None, by_network: bool = False) -> list[dict]:
    """One row per input shape: params, params without pools, GMACs (total and per module)."""
    model = model or build_model(config, cfg_options)
    total, no_pools = parameter_counts(model)
    rows = []
    for h, w in shapes:
        macs = count_macs(model, dummy_inputs(model, h, w), by_network)
        rows.append(dict(shape=(h, w), params=total, params_without_pools=no_pools, **macs))
    return rows


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmhaze.apis import ConfigError
    shapes = [tuple(s) for s in (args.shape or [[256, 256]])]
    try:
        rows = report(args.config, shapes, args.cfg_options, by_network=args.by_network)
    except ConfigError as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    modules = [k for k in rows[0] if k not in ('shape', 'params', 'params_without_pools',
                                                'total')]
    print(f'config: {args.config}')
    print('| input | params | params w/o prompt pools | GMACs | '
          + ' | '.join(modules) + ' |')
    print('|---' * (4 + len(modules)) + '|')
    for r in rows:
        print(f"| {r['shape'][0]}×{r['shape'][1]} | {r['params']:,} | "
              f"{r['params_without_pools']:,} | {r['total']:.2f} | "
              + ' | '.join(f'{r[m]:.2f}' for m in modules) + ' |')
    print('GMACs: conv / matmul / attention only (torch FlopCounterMode), batch 1.')
    return 0


if __name__ == '__main__':
    sys.exit(main())
