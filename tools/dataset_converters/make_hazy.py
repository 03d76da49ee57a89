"""Write a hazy copy of a dataset in the IASSF layout: ``make_hazy.py SRC DST --preset ...``.

``DST/<split>/{hazy,GT,IR}/`` (+ ``seg/`` when SRC has labels) and ``DST/haze_params.json``.
SRC is only read; a non-empty DST is refused unless ``--overwrite``; the same ``--seed`` gives
byte-identical files. Example (MSRS as published → hazy MSRS for IASSF-style training)::

    python tools/dataset_converters/make_hazy.py data/MSRS data/MSRS_hazy --layout msrs \
        --preset iassf_dense --seed 0
"""
import argparse
import sys

from mmhaze.utils.cli import CfgOptionsAction


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Synthesise haze on a paired dataset')
    parser.add_argument('src', help='source dataset folder (read only)')
    parser.add_argument('dst', help='output folder (IASSF layout)')
    parser.add_argument('--layout', default=None,
                        help="source layout preset (msrs, m3fd, roadscene, tno, iassf, awfusion, "
                             "epfl_rgbnir, vnhd); default: generic [split/]{vis,ir,clear,seg}")
    parser.add_argument('--splits', nargs='+', default=None,
                        help="source splits (default: all the layout's splits)")
    parser.add_argument('--out-split', default='test',
                        help='output split name for sources without splits: one folder name '
                             'inside DST, not a path (default: test)')
    parser.add_argument('--preset', default='iassf_dense',
                        help="haze preset: iassf_dense, depth, uniform (default: iassf_dense)")
    parser.add_argument('--seed', type=int, default=0, help='haze seed (default: 0)')
    parser.add_argument('--haze-options', nargs='+', action=CfgOptionsAction, default={},
                        help='HazeConfig overrides, e.g. airlight=0.8 '
                             'mean_transmission="(0.3,0.5)"')
    parser.add_argument('--workers', type=int, default=1, help='worker processes (default: 1)')
    parser.add_argument('--overwrite', action='store_true',
                        help='write into a non-empty DST (same-name files are replaced)')
    parser.add_argument('--quiet', action='store_true', help='no progress bar')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from mmhaze.datasets.converters import make_hazy_copy

    def bar(items, total, desc):
        from tqdm import tqdm
        return tqdm(items, total=total, desc=f'make_hazy {desc}', unit='img')

    try:
        summary = make_hazy_copy(
            args.src, args.dst, layout=args.layout, splits=args.splits, preset=args.preset,
            seed=args.seed, haze_options=dict(args.haze_options), out_split=args.out_split,
            overwrite=args.overwrite, workers=args.workers, progress=None if args.quiet else bar)
    except (ValueError, OSError, KeyError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    counts = ', '.join(f'{split}: {len(items)}' for split, items in summary['splits'].items())
    print(f'wrote hazy pairs to {args.dst} ({counts})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
