"""Evaluate fused images already on disk, as ``tools/test.py`` would.

    python tools/analysis_tools/eval_folder.py --ir IR_DIR --vis VIS_DIR --fused FUSED_DIR \
        [--clear CLEAR_DIR] [--dehazed DEHAZED_DIR] [--metrics EN MI Qabf ...] \
        [--method NAME] [--dataset NAME] [--options JSON] --work-dir DIR

Files pair by stem (extensions may differ). Writes ``DIR/<timestamp>/{per_image.csv,
summary.json, table.md, table.tex, table.csv}`` and prints the table.
"""
import argparse
import json
import sys


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Evaluate fused images in a folder')
    parser.add_argument('--ir', required=True, help='infrared (or NIR) source images')
    parser.add_argument('--vis', required=True,
                        help='visible images the fusion metrics compare against (the clear '
                             'ones to evaluate as IASSF does)')
    parser.add_argument('--fused', required=True, help='the fused images to evaluate')
    parser.add_argument('--clear', help='clear images: enables PSNR_ref / SSIM_ref')
    parser.add_argument('--dehazed', help='dehazed images scored by PSNR_ref / SSIM_ref '
                                          '(default: the fused ones)')
    parser.add_argument('--metrics', nargs='+', help='canonical keys (default: the fusion '
                                                     'suite, plus the *_ref ones with --clear)')
    parser.add_argument('--method', default='method', help='row name in the tables')
    parser.add_argument('--dataset', default='folder', help='dataset name in the tables')
    parser.add_argument('--options', type=json.loads, default=None,
                        help='per-metric conventions as JSON, e.g. \'{"MI": {"base": 2.718}}\'')
    parser.add_argument('--work-dir', required=True, help='the run folder goes in here')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from mmhaze.apis import ConfigError
    from mmhaze.apis.testing import evaluate_folders
    try:
        paths = evaluate_folders(args.ir, args.vis, args.fused, args.work_dir, clear=args.clear,
                                 dehazed=args.dehazed, metrics=args.metrics, method=args.method,
                                 dataset=args.dataset, options=args.options)
    except (ConfigError, ValueError, FileNotFoundError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    print(f'\nResults ({paths["run_dir"]}):\n')
    print(paths['markdown'])
    return 0


if __name__ == '__main__':
    sys.exit(main())
