"""Train a model from a config: ``python tools/train.py CONFIG [options]``."""
import argparse
import sys

from mmhaze.utils.cli import add_runner_options, parse_runner_options


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train an mmhaze model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and checkpoints')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from CKPT, or, without a value, from the latest checkpoint in the work dir')
    parser.add_argument('--amp', action='store_true', help='mixed-precision training (CUDA)')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the learning rate by the total batch size')
    parser.add_argument('--scale-stages', action='store_true',
                        help='fit model.stages (and the schedulers on their bounds) to '
                             'train_cfg.max_iters/max_epochs, each stage keeping its share')
    add_runner_options(parser, 'model.channels=16 train_cfg.max_iters=10')
    return parse_runner_options(parser, argv)


def main(argv=None):
    args = parse_args(argv)
    from mmhaze.utils import report_user_errors
    # Bad input, a refused checkpoint or a NaN loss: one message, exit code 2 (1 for NaN).
    return report_user_errors(lambda: run_train(args))


def run_train(args) -> int:
    from mmhaze.utils.threads import configure_threads
    configure_threads(args.threads)  # before torch loads: OpenMP reads it once
    from mmhaze.apis import (
        apply_resume,
        build_runner,
        close_distributed,
        enable_amp,
        enable_auto_scale_lr,
        prepare_config,
    )
    cfg = prepare_config(args.config, args.cfg_options, args.work_dir, args.launcher,
                         args.unsafe_load, scale_stages=args.scale_stages)
    if args.amp:
        enable_amp(cfg)
    if args.auto_scale_lr:
        enable_auto_scale_lr(cfg)
    apply_resume(cfg, args.resume)
    runner = build_runner(cfg)
    try:
        runner.train()
    finally:
        del runner  # its DDP wrappers hold the process group (see close_distributed)
        close_distributed()
    return 0


if __name__ == '__main__':
    sys.exit(main())
