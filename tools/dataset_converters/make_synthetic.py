"""Write procedural scenes to disk as a file-based dataset: ``make_synthetic.py DST``.

``DST/{train,test}/{vis,ir,clear,seg}/<stem>.png`` + ``depth/<stem>.npy``, ``classes.txt`` and
``haze_params.json`` (the generic layout: ``PairedFusionDataset(data_root=DST, split='train')``).
``--layout vnhd``: mmhaze's VNHD-style VIS + NIR layout, ``DST/{train,test}/{vis,nir,seg}`` +
``DST/clear_unpaired/`` (clear images of other scenes) + ``DST/test/clear/``, what
``configs/hsvf/hsvf_vnhd.py`` reads with ``train_dataloader.dataset.data_root=DST``.
"""
import argparse
import sys


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Render synthetic VIS + IR scenes to files')
    parser.add_argument('dst', help='output folder')
    parser.add_argument('--num-train', type=int, default=20, help='train scenes (default: 20)')
    parser.add_argument('--num-test', type=int, default=5, help='test scenes (default: 5)')
    parser.add_argument('--size', type=int, nargs='+', default=[128],
                        help='image size: S or H W (default: 128)')
    parser.add_argument('--modality', choices=['thermal', 'nir'], default=None,
                        help="second modality (default: 'nir' for --layout vnhd, else thermal)")
    parser.add_argument('--layout', choices=['generic', 'vnhd'], default='generic',
                        help='file layout (default: generic)')
    parser.add_argument('--seed', type=int, default=0,
                        help='scene family of the train split; test uses seed + 1000')
    parser.add_argument('--overwrite', action='store_true',
                        help='write into a non-empty DST (same-name files are replaced)')
    parser.add_argument('--quiet', action='store_true', help='no progress bar')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from mmhaze.datasets.converters import write_synthetic_dataset

    def bar(items, total, desc):
        from tqdm import tqdm
        return tqdm(items, total=total, desc=f'make_synthetic {desc}', unit='img')

    size = args.size[0] if len(args.size) == 1 else tuple(args.size[:2])
    try:
        summary = write_synthetic_dataset(
            args.dst, num_train=args.num_train, num_test=args.num_test, img_size=size,
            modality=args.modality, seed=args.seed, overwrite=args.overwrite, layout=args.layout,
            progress=None if args.quiet else bar)
    except (ValueError, OSError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    counts = ', '.join(f'{split}: {len(items)}' for split, items in summary['splits'].items())
    print(f'wrote synthetic scenes to {args.dst} ({counts})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
