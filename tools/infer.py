"""Dehaze and fuse image pairs: ``python tools/infer.py CONFIG CKPT --vis V --ir I --out-dir D``.

The networks are compiled for the image sizes where the number of pairs pays the compilation
back (``--compile``: always; ``--no-compile`` or ``MMHAZE_COMPILE=0``: never; docs/speed.md).

``--backend onnxruntime``: CKPT is a model exported by ``tools/deployment/pytorch2onnx.py``
(``MODEL.onnx``), run by onnxruntime on the CPU; CONFIG must be the config it was exported from.
A static graph runs at its exported size only, a dynamic one at any size from its minimum
(``--pad-small`` pads smaller images up as the PyTorch path does); ``--tile``, ``--compile`` and
a GPU ``--device`` are PyTorch options and are refused (docs/deployment.md).

``--vis``/``--ir`` are two files, or two folders whose files pair by stem. Results are written to
``<out-dir>/{dehazed,fused}/<stem>.png``. A non-empty ``--out-dir`` is refused up front unless
``--skip-existing`` (keep the files there, compute only the missing ones: resume an interrupted
run) or ``--overwrite`` (replace them). With ``--tile`` a bar shows the tiles of each image.

``--tile`` is exact only for a model whose networks declare exact tiling (each tile keeps the
model's ``tile_overlap`` of context); for any other model it is refused with the reason, and
``--tile-approx`` tiles anyway after printing, per image, the drift that tiling causes on an
overlapping crop (max and mean grey levels against that crop's whole-image output). An image
smaller than the model accepts is refused naming it; ``--pad-small`` reflect-pads it up instead.
"""
import argparse
import os
import os.path as osp
import sys

from mmhaze.utils.cli import add_compile_options, add_threads_option

IMAGE_EXTS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff')
OUTPUT_KEYS = ('dehazed', 'fused')


def _pairs(vis: str, ir: str):
    from mmhaze.apis import ConfigError
    if osp.isfile(vis) and osp.isfile(ir):
        return [(osp.splitext(osp.basename(vis))[0], vis, ir)]
    if not (osp.isdir(vis) and osp.isdir(ir)):
        raise ConfigError(f'--vis and --ir must both be files or both folders: {vis}, {ir}')
    stems = lambda d: {osp.splitext(f)[0]: osp.join(d, f) for f in sorted(os.listdir(d))  # noqa
                       if f.lower().endswith(IMAGE_EXTS)}
    v, i = stems(vis), stems(ir)
    for stem in sorted(set(v) ^ set(i)):
        path, flag, folder = (v[stem], '--ir', ir) if stem in v else (i[stem], '--vis', vis)
        raise ConfigError(f'{path} has no partner named {stem}.* in {flag} {folder}')
    if not v:
        raise ConfigError(f'--vis {vis}: no images ({", ".join(IMAGE_EXTS)})')
    return [(s, v[s], i[s]) for s in sorted(v)]


def _check_out_dir(out_dir: str, skip_existing: bool, overwrite: bool) -> None:
    from mmhaze.apis import ConfigError
    if osp.exists(out_dir) and not osp.isdir(out_dir):
        raise ConfigError(f'--out-dir {out_dir} exists and is not a folder')
    if osp.isdir(out_dir) and os.listdir(out_dir) and not (skip_existing or overwrite):
        raise ConfigError(f'--out-dir {out_dir} is not empty; choose a new folder, or pass '
                          '--skip-existing (compute only the missing outputs) or --overwrite '
                          '(replace them)')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Dehaze and fuse VIS/IR pairs')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--vis', required=True, help='hazy visible image or folder')
    parser.add_argument('--ir', required=True, help='infrared / NIR image or folder')
    parser.add_argument('--out-dir', required=True)
    existing = parser.add_mutually_exclusive_group()
    existing.add_argument('--skip-existing', action='store_true',
                          help='in a non-empty --out-dir, skip pairs whose outputs exist')
    existing.add_argument('--overwrite', action='store_true',
                          help='in a non-empty --out-dir, replace existing outputs')
    parser.add_argument('--tile', type=int, default=None, help='tile size for large images')
    parser.add_argument('--overlap', type=int, default=32)
    parser.add_argument('--tile-approx', action='store_true',
                        help='tile a model whose tiles differ from the whole image (printing '
                             'the drift on an overlapping crop first)')
    parser.add_argument('--pad-small', action='store_true',
                        help='reflect-pad images smaller than the model accepts up to its '
                             'minimum (outputs cropped back) instead of refusing them')
    parser.add_argument('--device', default=None)
    parser.add_argument('--no-progress', action='store_true', help='no bar over the tiles')
    add_compile_options(parser)
    parser.add_argument('--unsafe-load', action='store_true')
    parser.add_argument('--backend', choices=('pytorch', 'onnxruntime'), default='pytorch',
                        help='onnxruntime: CKPT is an exported .onnx model (docs/deployment.md)')
    add_threads_option(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from mmhaze.utils import report_user_errors
    # Bad input (config, checkpoint, image files): one message and exit code 2.
    return report_user_errors(lambda: run_infer(args))


def run_infer(args) -> int:
    from mmhaze.utils.threads import configure_threads
    configure_threads(args.threads)  # before torch loads: OpenMP reads it once
    if args.unsafe_load:
        os.environ['MMHAZE_UNSAFE_LOAD'] = '1'
    from mmhaze.apis import FusionInferencer
    from mmhaze.engine.hooks import write_png
    from mmhaze.utils.fileio import refuse_writes_into_inputs
    pairs = _pairs(args.vis, args.ir)
    _check_out_dir(args.out_dir, args.skip_existing, args.overwrite)
    refuse_writes_into_inputs({f'the {k}/ folder of --out-dir': osp.join(args.out_dir, k)
                               for k in OUTPUT_KEYS}, {'--vis': args.vis, '--ir': args.ir})
    if args.backend == 'onnxruntime':
        from mmhaze.apis.onnx_inferencer import onnx_backend
        infer = onnx_backend(args.config, args.checkpoint, tile=args.tile, device=args.device,
                             compile=args.compile, pad_small=args.pad_small)
    else:
        from mmhaze.apis.speed import compile_mode, image_file_size, retain_freed_memory
        if args.tile is None:
            # Tiling is for bounded memory: glibc's default then maps each image-size buffer
            # (100 MB at 4K) fresh and returns it, where a retained heap keeps them fragmented
            # (HSVF, 4K, --tile 256: 1.95 GB peak against 2.68 GB, as fast; docs/speed.md).
            retain_freed_memory()
        mode = compile_mode(args.compile, args.no_compile)
        sizes = None
        if mode == 'auto' and args.tile is None:  # auto: from the sizes of the pairs to do
            todo = [vis for stem, vis, _ in pairs if not (args.skip_existing and all(
                osp.isfile(osp.join(args.out_dir, k, f'{stem}.png')) for k in OUTPUT_KEYS))]
            sizes = [image_file_size(vis) for vis in todo]
        infer = FusionInferencer(args.config, args.checkpoint, args.device,
                                 pad_small=args.pad_small, compile=mode, image_sizes=sizes)
        if args.tile is not None:  # refused before the first image, not after hours of them
            infer.tile_geometry(args.tile, args.overlap, approx=args.tile_approx)
    written_keys = None  # the outputs the model writes, known after its first pair
    for stem, vis, ir in pairs:
        paths = {k: osp.join(args.out_dir, k, f'{stem}.png') for k in OUTPUT_KEYS}
        expected = written_keys or OUTPUT_KEYS
        if args.skip_existing and all(osp.isfile(paths[k]) for k in expected):
            print(f'{stem}: skipped (outputs exist)')
            continue
        if args.backend == 'onnxruntime':  # the whole image in one graph run
            out = infer(vis, ir)
        else:
            if args.tile is not None and args.tile_approx:
                drift = infer.tile_drift(vis, ir, args.tile, args.overlap)
                if drift is not None:
                    print(f'{stem}: {drift}', flush=True)
            out = infer(vis, ir, tile=args.tile, overlap=args.overlap,
                        progress=not args.no_progress, approx=args.tile_approx)
        written_keys = tuple(out)
        for key, img in out.items():
            if args.skip_existing and osp.isfile(paths[key]):
                continue
            write_png(paths[key], img, overwrite=args.overwrite)
        print(f'{stem}: ' + ', '.join(paths[k] for k in out))
    return 0


if __name__ == '__main__':
    sys.exit(main())
