"""Test a checkpoint and write the result files: ``python tools/test.py CONFIG [CHECKPOINT]``.

Writes ``<work_dir>/<timestamp>/{per_image.csv, summary.json, table.md, table.tex, table.csv}``
(with ``--save-images`` also ``images/<dataset>/<field>/<stem>.png``: sources, predictions,
HSVF's intermediates) and prints the Markdown table. Without CHECKPOINT the model brings its own
weights: training-free networks and ``init_cfg`` (Pretrained) slots, loaded by
``model.init_weights()``; the table's meta says so.

The model runs in its fast inference form; its networks are compiled for the input sizes where
the test set has enough images to pay the compilation back (``--compile``: always,
``--no-compile`` or ``MMHAZE_COMPILE=0``: never; docs/speed.md).
"""
import argparse
import os
import sys

from mmhaze.utils.cli import add_compile_options, add_runner_options, parse_runner_options


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test (and evaluate) an mmhaze model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', nargs='?', default=None,
                        help='checkpoint file (omit for a training-free model or one whose '
                             'networks load their own weights through init_cfg)')
    parser.add_argument('--work-dir', help='the dir to save logs, metrics and tables')
    parser.add_argument('--out', help='also dump the metrics to this JSON file (must not exist)')
    parser.add_argument('--save-preds', help='write pred_dehazed / pred_fused PNGs into this dir')
    parser.add_argument('--show-dir', help='write visual grids into this dir')
    parser.add_argument('--save-images', action='store_true',
                        help='write the sources, predictions and intermediate images of every '
                             'pair into the run folder (images/), for '
                             'tools/analysis_tools/plot_results.py')
    parser.add_argument('--method-name', help='row name in the tables (default: config name)')
    parser.add_argument('--non-strict', action='store_true',
                        help='test a checkpoint that does not fit the model exactly (the '
                             'weights that fit are loaded; the tables say so)')
    add_compile_options(parser)
    add_runner_options(parser, 'test_dataloader.dataset.num_samples=10')
    return parse_runner_options(parser, argv)


def main(argv=None):
    args = parse_args(argv)
    from mmhaze.utils import report_user_errors
    # Bad input (config, checkpoint, image files): one message and exit code 2.
    return report_user_errors(lambda: run_test(args))


def run_test(args) -> int:
    from mmhaze.utils.threads import configure_threads
    configure_threads(args.threads)  # before torch loads: OpenMP reads it once
    from mmhaze.apis import build_runner, close_distributed, prepare_config
    from mmhaze.apis.speed import compile_mode, prepare_runner_model, retain_freed_memory
    from mmhaze.apis.testing import (
        check_test_checkpoint,
        finish_test,
        init_without_checkpoint,
        prepare_test,
    )
    cfg = prepare_config(args.config, args.cfg_options, args.work_dir, args.launcher,
                         args.unsafe_load)
    prepare_test(cfg, args.checkpoint, out=args.out, save_preds=args.save_preds,
                 show_dir=args.show_dir, save_images=args.save_images)
    runner = build_runner(cfg)
    if args.checkpoint is None:
        note, weights = None, init_without_checkpoint(runner)
    else:
        note, weights = check_test_checkpoint(runner, args.checkpoint,
                                              strict=not args.non_strict), None
    retain_freed_memory()
    mode = compile_mode(args.compile, args.no_compile)
    # Auto: compile the input sizes whose image count pays the compilation back.
    prepare_runner_model(runner.model, compile=mode,
                         dataloader=runner.test_loop.dataloader if mode == 'auto' else None)
    try:
        metrics = runner.test()
        method = args.method_name or os.path.splitext(os.path.basename(args.config))[0]
        finish_test(runner, cfg, metrics, method=method, checkpoint=args.checkpoint,
                    out=args.out, notes=[note] if note else [], weights=weights)
    finally:
        del runner  # its DDP wrapper holds the process group (see close_distributed)
        close_distributed()
    return 0


if __name__ == '__main__':
    sys.exit(main())
