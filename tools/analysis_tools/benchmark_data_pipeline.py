"""Throughput of a config's data loading: ``benchmark_data_pipeline.py CONFIG``.

Builds ``<phase>_dataloader`` as the Runner does (workers, sampler, collate), skips
``--warmup`` batches (worker start-up), then times ``--batches`` batches and prints samples/s.
"""
import argparse
import sys
import time

from mmhaze.utils.cli import CfgOptionsAction


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Measure data-loading throughput')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--phase', choices=['train', 'val', 'test'], default='train')
    parser.add_argument('--num-workers', type=int, default=None,
                        help="override the dataloader's num_workers")
    parser.add_argument('--batch-size', type=int, default=None,
                        help="override the dataloader's batch_size")
    parser.add_argument('--batches', type=int, default=50, help='timed batches (default: 50)')
    parser.add_argument('--warmup', type=int, default=5, help='untimed batches (default: 5)')
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction,
                        help='override config keys')
    return parser.parse_args(argv)


def measure(loader, batches: int, warmup: int) -> dict:
    """Samples per second over ``batches`` batches after ``warmup`` untimed ones."""
    it = iter(loader)
    for _ in range(warmup):
        next(it)
    samples = 0
    start = time.perf_counter()
    for _ in range(batches):
        batch = next(it)
        samples += len(batch['data_samples'])
    seconds = time.perf_counter() - start
    return dict(samples=samples, seconds=seconds, samples_per_second=samples / seconds)


def main(argv=None):
    args = parse_args(argv)
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner

    from mmhaze.apis import ConfigError, load_config
    try:
        cfg = load_config(args.config, args.cfg_options)
        loader_cfg = cfg.get(f'{args.phase}_dataloader')
        if not loader_cfg:
            raise ConfigError(f'config key `{args.phase}_dataloader` is missing')
    except ConfigError as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    loader_cfg = loader_cfg.copy()
    if args.num_workers is not None:
        loader_cfg['num_workers'] = args.num_workers
        loader_cfg['persistent_workers'] = args.num_workers > 0
    if args.batch_size is not None:
        loader_cfg['batch_size'] = args.batch_size
    if loader_cfg.get('sampler', {}).get('type') != 'InfiniteSampler':
        loader_cfg['sampler'] = dict(type='InfiniteSampler', shuffle=False)
    init_default_scope(cfg.get('default_scope', 'mmhaze'))
    try:
        loader = Runner.build_dataloader(loader_cfg, seed=0)
    except (ValueError, OSError, KeyError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    result = measure(loader, args.batches, args.warmup)
    print(f"{args.phase} pipeline: {result['samples']} samples in {result['seconds']:.2f} s = "
          f"{result['samples_per_second']:.1f} samples/s "
          f"(batch {loader_cfg['batch_size']}, {loader_cfg.get('num_workers', 0)} workers)")
    return 0


if __name__ == '__main__':
    sys.exit(main())
