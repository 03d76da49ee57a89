"""Dehaze and fuse image pairs: ``python tools/infer.py CONFIG CKPT --vis V --ir I --out-dir D``.

``--vis``/``--ir`` are two files, or two folders whose files pair by stem. Results are written to
``<out-dir>/{dehazed,fused}/<stem>.png``; existing files are never overwritten.
"""
import argparse
import os
import os.path as osp
import sys

IMAGE_EXTS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff')


def _pairs(vis: str, ir: str):
    if osp.isfile(vis) and osp.isfile(ir):
        return [(osp.splitext(osp.basename(vis))[0], vis, ir)]
    if not (osp.isdir(vis) and osp.isdir(ir)):
        raise SystemExit(f'error: --vis and --ir must both be files or both folders: {vis}, {ir}')
    stems = lambda d: {osp.splitext(f)[0]: osp.join(d, f) for f in sorted(os.listdir(d))  # noqa
                       if f.lower().endswith(IMAGE_EXTS)}
    v, i = stems(vis), stems(ir)
    missing = sorted(set(v) ^ set(i))
    if missing:
        raise SystemExit(f'error: files without a partner (by stem): {missing[:10]}')
    return [(s, v[s], i[s]) for s in sorted(v)]


def main(argv=None):
    parser = argparse.ArgumentParser(description='Dehaze and fuse VIS/IR pairs')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--vis', required=True, help='hazy visible image or folder')
    parser.add_argument('--ir', required=True, help='infrared / NIR image or folder')
    parser.add_argument('--out-dir', required=True)
    parser.add_argument('--tile', type=int, default=None, help='tile size for large images')
    parser.add_argument('--overlap', type=int, default=32)
    parser.add_argument('--device', default=None)
    parser.add_argument('--compile', action='store_true',
                        help='torch.compile the networks (docs/speed.md)')
    parser.add_argument('--unsafe-load', action='store_true')
    args = parser.parse_args(argv)
    if args.unsafe_load:
        os.environ['MMHAZE_UNSAFE_LOAD'] = '1'
    from mmhaze.apis import ConfigError, FusionInferencer
    from mmhaze.engine.hooks import write_png
    try:
        infer = FusionInferencer(args.config, args.checkpoint, args.device, compile=args.compile)
    except (ConfigError, OSError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    for stem, vis, ir in _pairs(args.vis, args.ir):
        out = infer(vis, ir, tile=args.tile, overlap=args.overlap)
        for key, img in out.items():
            write_png(osp.join(args.out_dir, key, f'{stem}.png'), img)
        print(f'{stem}: ' + ', '.join(osp.join(args.out_dir, k, f'{stem}.png') for k in out))
    return 0


if __name__ == '__main__':
    sys.exit(main())
