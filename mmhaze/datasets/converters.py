"""Writing datasets to disk: a hazy copy in the IASSF layout, and synthetic scenes as files.

What ``tools/dataset_converters/make_hazy.py`` and ``make_synthetic.py`` run. Both refuse to
write inside a source dataset, refuse a non-empty destination unless ``overwrite=True``, write
every file atomically, and are deterministic for a seed.
"""
from __future__ import annotations

import io
import json
import os
import os.path as osp
from collections.abc import Callable, Iterable, Mapping, Sequence
from multiprocessing import Pool
from typing import Any, Optional, Union

import cv2
import numpy as np

from mmhaze.utils.fileio import atomic_write_bytes, refuse_writes_into_inputs

from .layouts import get_layout
from .paired_dataset import CLASSES_FILE, PairedFusionDataset
from .synthetic import UNPAIRED_SEED_OFFSET, SyntheticFusionDataset
from .synthetic_scene import CLASSES
from .transforms.haze import SynthesizeHaze
from .transforms.loading import LoadFusionImages, read_bytes

PARAMS_FILE = 'haze_params.json'


def prepare_output_dir(dst: str, overwrite: bool = False, sources: Iterable[str] = ()) -> str:
    """Make ``dst`` ready for writing; refuse a folder inside (or holding) a source dataset, and
    a non-empty folder unless ``overwrite``. Returns the absolute path."""
    dst_real = osp.realpath(dst)
    refuse_writes_into_inputs({'output folder': dst},
                              {'source dataset' + (f' #{i + 1}' if i else ''): src
                               for i, src in enumerate(sources)}, whole_folders=True)
    if osp.exists(dst_real) and not osp.isdir(dst_real):
        raise NotADirectoryError(f'output path {dst} exists and is not a folder')
    if osp.isdir(dst_real) and os.listdir(dst_real) and not overwrite:
        raise FileExistsError(f'output folder {dst} is not empty; pass --overwrite to write into '
                              'it anyway (files with the same names are replaced)')
    os.makedirs(dst_real, exist_ok=True)
    return dst_real


def check_split_name(name: str, what: str) -> str:
    """A split is a folder name inside the output folder, never a path out of it."""
    if (not isinstance(name, str) or name in ('', '.', '..') or '/' in name or '\\' in name
            or osp.isabs(name)):
        raise ValueError(f'{what} {name!r} is not a split name: it names one folder inside the '
                         "output folder (no '/', '\\', '.' or '..'), e.g. 'test'")
    return name


def prepare_split_dir(out_root: str, name: str, overwrite: bool, sources: Iterable[str]) -> str:
    """The folder of split ``name`` inside ``out_root``, after the checks of
    :func:`prepare_output_dir` on that final folder (a symlink may point elsewhere)."""
    path = osp.join(out_root, name)
    real = osp.realpath(path)
    if osp.commonpath([real, out_root]) != out_root:
        raise ValueError(f'split folder {path} resolves to {real}, outside the output folder '
                         f'{out_root}; remove that link')
    return prepare_output_dir(path, overwrite, sources)


def write_image(path: str, img: np.ndarray) -> None:
    """Write an RGB (H×W×3) or grey (H×W[×1]) uint8/uint16 array as PNG, atomically."""
    arr = img[..., 0] if img.ndim == 3 and img.shape[2] == 1 else img
    if arr.ndim == 3:
        arr = np.ascontiguousarray(arr[..., ::-1])  # RGB → OpenCV's BGR
    ok, buf = cv2.imencode(osp.splitext(path)[1] or '.png', arr)
    if not ok:
        raise OSError(f'could not encode {path}')
    atomic_write_bytes(buf.tobytes(), path)


def to_uint8(img: np.ndarray) -> np.ndarray:
    """[0, 1] float (or uint8) → uint8 with rounding."""
    if img.dtype == np.uint8:
        return img
    return np.clip(np.rint(np.asarray(img, np.float32) * 255.0), 0, 255).astype(np.uint8)


def _write_json(path: str, obj: Any) -> None:
    atomic_write_bytes(json.dumps(obj, indent=1, sort_keys=True).encode('utf-8'), path)


def _flat(stem: str) -> str:
    """IASSF folders are flat: ``country/0001`` becomes ``country_0001``."""
    return stem.replace('/', '_')


# ---------------------------------------------------------------------------- make_hazy
class _HazyWriter:
    """Hazes and writes one record (a picklable callable, so a worker pool can run it)."""

    def __init__(self, out_dir: str, preset: Optional[str], seed: int, options: Mapping):
        self.out_dir = out_dir
        self.haze = SynthesizeHaze(preset=preset, seed=seed, **options)
        # The clear image: the dataset's clear file if it has one, else its visible file.
        self.load_clear_vis = LoadFusionImages(vis_is_clear=True, uint16_norm='full')
        self.load_with_gt = LoadFusionImages(uint16_norm='full')

    def __call__(self, record: dict) -> tuple[str, dict]:
        loader = self.load_with_gt if record.get('gt_clear_path') else self.load_clear_vis
        results = self.haze(loader(dict(record)))
        stem = _flat(record['img_id'])
        write_image(osp.join(self.out_dir, 'hazy', stem + '.png'), to_uint8(results['vis']))
        copies = [('GT', results['gt_clear_path']), ('IR', record['ir_path'])]
        if record.get('seg_path'):
            copies.append(('seg', record['seg_path']))
        for folder, src in copies:  # byte copies: lossless, bit depth kept
            ext = osp.splitext(src)[1].lower()
            atomic_write_bytes(read_bytes(src), osp.join(self.out_dir, folder, stem + ext))
        return stem, results['haze']


def make_hazy_copy(src: str, dst: str, layout: Union[None, str, Mapping] = None,
                   splits: Optional[Sequence[Optional[str]]] = None,
                   preset: Optional[str] = 'iassf_dense', seed: int = 0,
                   haze_options: Optional[Mapping] = None, out_split: str = 'test',
                   overwrite: bool = False, workers: int = 1,
                   progress: Optional[Callable[[Iterable, int, str], Iterable]] = None,
                   dataset_kwargs: Optional[Mapping] = None) -> dict:
    """Write a hazy copy of the dataset at ``src`` into ``dst`` in the IASSF layout.

    ``dst/<split>/{hazy,GT,IR}/<stem>`` (+ ``seg/`` when the source has labels): ``hazy`` is the
    synthesised PNG, ``GT`` and ``IR`` (and ``seg``) are byte copies of the source files. The
    clear image is the source's clear file when it has one, else its visible image. Each image's
    haze depends only on ``(seed, stem)``; ``dst/haze_params.json`` records every draw.

    Args:
        splits: source splits to convert (default: the layout's splits, or none); a source
            without splits is written to ``dst/<out_split>``.
        progress: wraps the record iterator (``progress(iterable, total, description)``), e.g.
            a tqdm bar.

    Returns the content of ``haze_params.json``.
    """
    lay = get_layout(layout)
    if splits is None:
        splits = list(lay.splits) if lay.splits is not None and lay.uses_split() else [None]
    # Names first, before anything is written: `--out-split ../src` once wrote into SRC.
    names = [check_split_name(s, 'split (--splits)') if s
             else check_split_name(out_split, 'out_split (--out-split)') for s in splits]
    out_root = prepare_output_dir(dst, overwrite, sources=[src])
    split_dirs = [prepare_split_dir(out_root, name, overwrite, [src]) for name in names]
    options = dict(haze_options or {})
    summary: dict = dict(source=osp.abspath(src), layout=lay.name, preset=preset, seed=seed,
                         options=options, splits={})
    for split, name, split_dir in zip(splits, names, split_dirs):
        dataset = PairedFusionDataset(data_root=src, layout=layout, split=split,
                                      **dict(dataset_kwargs or {}))
        records = [dataset.get_data_info(i) for i in range(len(dataset))]
        writer = _HazyWriter(split_dir, preset, seed, options)
        if workers > 1:
            with Pool(workers) as pool:
                results = pool.imap(writer, records, chunksize=4)
                results = list(progress(results, len(records), name) if progress else results)
        else:
            items = progress(records, len(records), name) if progress else records
            results = [writer(r) for r in items]
        summary['splits'][name] = dict(results)
    classes = osp.join(src, CLASSES_FILE)
    if osp.isfile(classes):  # the label names travel with the labels
        atomic_write_bytes(read_bytes(classes), osp.join(out_root, CLASSES_FILE))
    _write_json(osp.join(out_root, PARAMS_FILE), summary)
    return summary


# ---------------------------------------------------------------------------- make_synthetic
SYNTHETIC_LAYOUTS = ('generic', 'vnhd')
# The NIR render is written where the VNHD-style layout reads its second modality.
_VNHD_FOLDERS = (('vis', 'vis'), ('nir', 'ir'))


def write_synthetic_dataset(dst: str, num_train: int = 20, num_test: int = 5,
                            img_size: Union[int, Sequence[int]] = 128,
                            modality: Optional[str] = None, seed: int = 0,
                            overwrite: bool = False, layout: str = 'generic',
                            progress: Optional[Callable[[Iterable, int, str], Iterable]] = None
                            ) -> dict:
    """Render :class:`SyntheticFusionDataset` scenes into a file layout.

    ``layout='generic'``: ``dst/{train,test}/{vis,ir,clear,seg}/<stem>.png`` (vis hazy, ir
    1-channel, seg class ids) and ``depth/<stem>.npy`` (float32 metres); read it back with
    ``PairedFusionDataset(data_root=dst, split='train')``.

    ``layout='vnhd'`` (mmhaze's VNHD-style VIS + NIR layout, ``modality='nir'``):
    ``dst/{train,test}/{vis,nir,seg}/<stem>.png`` and ``dst/clear_unpaired/<stem>.png`` — one
    clear visible image per training scene, rendered from another scene family (seed
    + 1000003), so no clear image matches a training pair. The clear image of each test pair is
    also written, to ``dst/test/clear/`` (a real VNHD has none; read it with
    ``data_prefix=dict(clear='{split}/clear')`` to score PSNR against it). Read it with
    ``PairedFusionDataset(data_root=dst, layout='vnhd', split='train')``.

    Both write ``dst/classes.txt`` and ``dst/haze_params.json``. The test split uses
    ``seed + 1000``, as the synthetic configs do. ``modality`` defaults to ``'nir'`` for the
    VNHD-style layout and ``'thermal'`` otherwise.
    """
    if layout not in SYNTHETIC_LAYOUTS:
        raise ValueError(f'layout must be one of {SYNTHETIC_LAYOUTS}, got {layout!r}')
    modality = modality or ('nir' if layout == 'vnhd' else 'thermal')
    if layout == 'vnhd' and modality != 'nir':
        raise ValueError(f"the VNHD-style layout holds VIS + NIR pairs: modality must be 'nir', "
                         f'got {modality!r}')
    out_root = prepare_output_dir(dst, overwrite)
    atomic_write_bytes(('\n'.join(CLASSES) + '\n').encode('utf-8'),
                       osp.join(out_root, CLASSES_FILE))
    summary: dict = dict(generator='SyntheticFusionDataset', modality=modality, seed=seed,
                         img_size=img_size, layout=layout, splits={})
    for split, count, split_seed in (('train', num_train, seed), ('test', num_test, seed + 1000)):
        if count < 1:
            continue
        unpaired = layout == 'vnhd' and split == 'train'
        dataset = SyntheticFusionDataset(num_samples=count, img_size=img_size, seed=split_seed,
                                         modality=modality, unpaired_clear=unpaired)
        out = osp.join(out_root, split)
        indices = range(count)
        haze = {}
        for i in (progress(indices, count, split) if progress else indices):
            info = dataset.get_data_info(i)
            stem = info['img_id']
            write_image(osp.join(out, 'seg', stem + '.png'), info['gt_sem_seg'].astype(np.uint8))
            if layout == 'generic':
                for folder, key in (('vis', 'vis'), ('ir', 'ir'), ('clear', 'gt_clear')):
                    write_image(osp.join(out, folder, stem + '.png'), info[key])
                atomic_write_bytes(_npy_bytes(info['depth'].astype(np.float32)),
                                   osp.join(out, 'depth', stem + '.npy'))
            else:
                for folder, key in _VNHD_FOLDERS:
                    write_image(osp.join(out, folder, stem + '.png'), info[key])
                if unpaired:
                    clear_stem = f'clear_s{split_seed + UNPAIRED_SEED_OFFSET}_{i:05d}'
                    write_image(osp.join(out_root, 'clear_unpaired', clear_stem + '.png'),
                                info['unpaired_clear'])
                else:
                    write_image(osp.join(out, 'clear', stem + '.png'), info['gt_clear'])
            haze[stem] = info['haze']
        summary['splits'][split] = haze
    _write_json(osp.join(out_root, PARAMS_FILE), summary)
    return summary


def _npy_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


__all__ = ['prepare_output_dir', 'write_image', 'to_uint8', 'make_hazy_copy',
           'write_synthetic_dataset', 'PARAMS_FILE', 'SYNTHETIC_LAYOUTS']
