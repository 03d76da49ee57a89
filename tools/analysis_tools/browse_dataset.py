"""Write what a config's pipeline produces as grids: ``browse_dataset.py CONFIG --output-dir DIR``.

One PNG per pair, ``<index>_<img_id>.png``: hazy vis | ir | clear | labels (the panels the
pair has), plus ``index.json`` with each pair's paths and haze parameters. Use it to check a
config before training.
"""
import argparse
import json
import os.path as osp
import sys

from mmhaze.utils.cli import CfgOptionsAction

PANELS = ('vis', 'ir', 'gt_clear', 'gt_sem_seg')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Render a dataset pipeline as image grids')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--output-dir', required=True, help='folder for the grids')
    parser.add_argument('--phase', choices=['train', 'val', 'test'], default='train',
                        help='which dataloader of the config to browse (default: train)')
    parser.add_argument('--num', type=int, default=10, help='pairs to render (default: 10)')
    parser.add_argument('--overwrite', action='store_true',
                        help='write into a non-empty output folder')
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction,
                        help='override config keys')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from mmengine.registry import init_default_scope

    from mmhaze.apis import ConfigError, load_config
    from mmhaze.datasets.converters import prepare_output_dir, write_image
    from mmhaze.registry import DATASETS
    from mmhaze.visualization import FusionVisualizer

    try:
        cfg = load_config(args.config, args.cfg_options)
        loader = cfg.get(f'{args.phase}_dataloader')
        if not loader or 'dataset' not in loader:
            raise ConfigError(f'config key `{args.phase}_dataloader.dataset` is missing')
        init_default_scope(cfg.get('default_scope', 'mmhaze'))
        dataset = DATASETS.build(loader['dataset'])
        sources = [getattr(dataset, 'data_root', '')] if getattr(dataset, 'data_root', '') else []
        out_dir = prepare_output_dir(args.output_dir, args.overwrite, sources=sources)
    except (ConfigError, ValueError, OSError, KeyError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2

    visualizer = FusionVisualizer(name='browse_dataset', panels=PANELS)
    visualizer.dataset_meta = dataset.metainfo
    index = []
    for i in range(min(args.num, len(dataset))):
        sample = dataset[i]['data_samples']
        meta = sample.metainfo
        name = f'{i:04d}_{str(meta.get("img_id", i)).replace("/", "_")}.png'
        write_image(osp.join(out_dir, name), visualizer.render(sample))
        index.append(dict(file=name, panels=[p for p in PANELS if p in sample],
                          **{k: meta[k] for k in ('img_id', 'vis_path', 'ir_path', 'haze')
                             if k in meta}))
    with open(osp.join(out_dir, 'index.json'), 'w', encoding='utf-8') as f:
        json.dump(index, f, indent=1, default=str)
    print(f'wrote {len(index)} grids to {out_dir}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
