"""Export a config's model to ONNX and check it with onnxruntime.

    python tools/deployment/pytorch2onnx.py CONFIG [CHECKPOINT] --out model.onnx \
        [--shape H W] [--dynamic] [--ir-channels 1] [--opset N] [--overwrite] [--tolerance T]

The graph takes [0, 1] ``vis`` (B×3×H×W) and ``ir`` (B×C×H×W) images and returns
``pred_dehazed`` / ``pred_fused`` in [0, 1] (``pred_sem_seg`` labels for semantic models);
normalisation, IR channel matching and padding happen inside. ``--shape`` is the example size
(the only size without ``--dynamic``); by default the config's test image size (a synthetic
test set's ``img_size``), else 256×256. Each step prints a line as it starts. Without
CHECKPOINT the model must bring its own weights (training-free networks, ``init_cfg`` slots), as
with ``tools/test.py``. The export is verified:
onnxruntime must reproduce PyTorch's outputs within the tolerance (1e-4 unless a block declares
more), else nothing is written and the exit code is 1. See docs/deployment.md.
"""
import argparse
import os
import sys

from mmhaze.utils.cli import CfgOptionsAction


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Export an mmhaze model to ONNX')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', nargs='?', default=None,
                        help='checkpoint file (omit for a training-free model or one whose '
                             'networks load their own weights through init_cfg)')
    parser.add_argument('--out', required=True, help='the .onnx file to write')
    parser.add_argument('--shape', type=int, nargs=2, default=None, metavar=('H', 'W'),
                        help="example input size (default: the config's test image size when "
                             'its test set gives one, else 256 256)')
    parser.add_argument('--dynamic', action='store_true', help='symbolic H and W')
    parser.add_argument('--ir-channels', type=int, default=1, choices=(1, 3),
                        help="channels of the graph's ir input (default: 1)")
    parser.add_argument('--batch', type=int, default=1, help='batch size (default: 1)')
    parser.add_argument('--opset', type=int, default=None, help="ONNX opset (exporter's default)")
    parser.add_argument('--overwrite', action='store_true', help='replace an existing --out')
    parser.add_argument('--tolerance', type=float, default=None,
                        help='largest max |Δ| against PyTorch to accept (default: 1e-4, what '
                             "the model's blocks declare, or 4× PyTorch's own float32 error)")
    parser.add_argument('--unsafe-load', action='store_true',
                        help='allow loading a trusted checkpoint that is not weights_only-safe')
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction,
                        help='override config keys')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmhaze.utils import report_user_errors
    return report_user_errors(lambda: run(args))


def run(args) -> int:
    if args.unsafe_load:
        os.environ['MMHAZE_UNSAFE_LOAD'] = '1'
    from mmhaze.apis.export import (
        build_export_model,
        check_output_path,
        config_test_shape,
        export_onnx,
    )
    check_output_path(args.out, args.overwrite)  # before the model is built
    shape = args.shape
    if shape is None:
        shape = config_test_shape(args.config, args.cfg_options)
        where = "the config's test image size" if shape else 'no test image size in the config'
        shape = shape or (256, 256)
        print(f'export: --shape {shape[0]} {shape[1]} ({where}; --shape H W to change it)',
              flush=True)
    print(f'export: building the model of {args.config}', flush=True)
    model = build_export_model(args.config, args.checkpoint, args.cfg_options)
    result = export_onnx(model, args.out, shape=shape, dynamic=args.dynamic,
                         ir_channels=args.ir_channels, batch=args.batch, opset=args.opset,
                         overwrite=args.overwrite, tolerance=args.tolerance,
                         metadata=dict(config=args.config, checkpoint=args.checkpoint or ''),
                         progress=lambda line: print(line, flush=True))
    print(result.summary())
    return 0


if __name__ == '__main__':
    sys.exit(main())
