"""Evaluate fused images already on disk, as ``tools/test.py`` would.

    python tools/analysis_tools/eval_folder.py --ir IR_DIR --vis VIS_DIR --fused FUSED_DIR \
        [--clear CLEAR_DIR] [--dehazed DEHAZED_DIR] [--metrics EN MI Qabf ...] \
        [--suite vifb|ivif_zoo|tang|cddfuse|liu2012] \
        [--method NAME] [--dataset NAME] [--options JSON] [--allow-missing] [--skip-errors] \
        [--uint16-norm RULE] [--custom-imports MODULE ...] [--threads N] --work-dir DIR

Files pair by stem (extensions may differ). Writes ``DIR/<timestamp>/{per_image.csv,
summary.json, table.md, table.tex, table.csv}`` and prints the table. A file without its
partners, images of different sizes, or a metric failing on an image stop the run with one line
naming the files (or the image and the metric); ``--allow-missing`` / ``--skip-errors`` leave
such images out instead (column ``N`` counts the others), or, for a failing metric, out of that
metric's means only (``N`` counts the image; a note names the keys, images and reason; a metric
failing on every image is a column of ``n/a``). ``--suite NAME`` scores the
columns of a suite preset under its conventions (``--metrics`` then selects among them). A
metric of one's own
(registered with ``register_metric``, docs/add_module.md) is found through ``--custom-imports``.
Pairs up to 1920×1088 pixels are scored as many at a time as torch has threads (``--threads``;
at most 4, sharing the threads); larger ones one at a time with every thread.
"""
import argparse
import json
import sys

from mmhaze.utils.cli import add_threads_option


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
    parser.add_argument('--suite', default=None,
                        help='a suite preset: vifb, ivif_zoo, tang, cddfuse or liu2012 (its '
                             'columns under its conventions; docs/metrics.md)')
    parser.add_argument('--method', default='method', help='row name in the tables')
    parser.add_argument('--dataset', default='folder', help='dataset name in the tables')
    parser.add_argument('--options', type=json.loads, default=None,
                        help='per-metric conventions as JSON, e.g. \'{"MI": {"base": 2.718}}\'')
    parser.add_argument('--allow-missing', action='store_true',
                        help='leave out (and count) images that lack a partner file')
    parser.add_argument('--skip-errors', action='store_true',
                        help='leave out (and count) images of different sizes or on which a '
                             'metric fails')
    parser.add_argument('--uint16-norm', default='percentile',
                        help='rule for 16-bit IR images, as the datasets\' uint16_norm: '
                             'percentile (default), minmax or full')
    parser.add_argument('--custom-imports', nargs='+', default=[], metavar='MODULE',
                        help='modules to import first, e.g. ones registering metrics of your '
                             'own (as a config\'s custom_imports)')
    parser.add_argument('--work-dir', required=True, help='the run folder goes in here')
    add_threads_option(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from mmhaze.utils import report_user_errors
    return report_user_errors(lambda: run_eval_folder(args))


def run_eval_folder(args) -> int:
    from mmhaze.utils.threads import configure_threads
    configure_threads(args.threads)  # before torch loads: OpenMP reads it once
    from mmhaze.apis.testing import evaluate_folders
    from mmhaze.utils import UserError
    for module in args.custom_imports:
        import importlib
        try:
            importlib.import_module(module)
        except ImportError as err:
            print(f'error: --custom-imports {module}: {err}', file=sys.stderr)
            return 2
    try:
        paths = evaluate_folders(args.ir, args.vis, args.fused, args.work_dir, clear=args.clear,
                                 dehazed=args.dehazed, metrics=args.metrics, method=args.method,
                                 dataset=args.dataset, options=args.options,
                                 allow_missing=args.allow_missing, skip_errors=args.skip_errors,
                                 uint16_norm=args.uint16_norm, suite=args.suite)
    except (ValueError, FileNotFoundError) as err:  # metric options, parameter files
        if isinstance(err, UserError):
            raise
        print(f'error: {err}', file=sys.stderr)
        return 2
    print(f'\nResults ({paths["run_dir"]}):\n')
    print(paths['markdown'])
    return 0


if __name__ == '__main__':
    sys.exit(main())
