"""Registered VIS + IR/NIR pairs read from folders in their published layouts."""
from __future__ import annotations

import os
import os.path as osp
import re
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Optional, Union

import numpy as np
from mmengine.dataset import BaseDataset

from mmhaze.registry import DATASETS
from mmhaze.utils.errors import UserError

from .layouts import (
    DEPTH_EXTENSIONS,
    PATH_KEYS,
    FolderLayout,
    check_filename_tmpl,
    format_folder,
    get_layout,
)
from .transforms.loading import image_header_size

CLASSES_FILE = 'classes.txt'
SEG_IGNORE_INDEX = 255
_MAX_LISTED = 5  # file names quoted in one error message


class MissingFilesError(UserError, FileNotFoundError):
    """A folder, a listed file or a pair's partner that is not on disk; the message names it."""


class PairingError(UserError, ValueError):
    """Files that cannot be paired by stem (two files of one stem)."""


def natural_key(text: str) -> list:
    """Sort key that puts ``2.png`` before ``10.png``."""
    return [int(p) if p.isdigit() else p.lower() for p in re.split(r'(\d+)', text)]


def _stem_pattern(tmpl: str) -> re.Pattern:
    prefix, suffix = tmpl.split('{}')
    return re.compile(re.escape(prefix) + '(.+)' + re.escape(suffix) + r'\Z')


def _walk(folder: str, recursive: bool) -> Iterator[tuple[str, list[str]]]:
    """(folder, file names) pairs, sorted, skipping hidden sub-folders."""
    if not recursive:
        yield folder, sorted(e.name for e in os.scandir(folder) if e.is_file())
        return
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith('.'))
        yield root, sorted(files)


def index_folder(folder: str, tmpl: str = '{}', extensions: Sequence[str] = (),
                 recursive: bool = False, key: str = 'image') -> dict[str, str]:
    """Map each shared stem to its file in ``folder``.

    Files whose extension is not allowed or whose name does not fit ``tmpl`` are ignored;
    two files with the same stem (``01.png`` and ``01.jpg``) are an error naming both.
    """
    pattern = _stem_pattern(tmpl)
    allowed = {e.lower() for e in extensions}
    found: dict[str, str] = {}
    for root, files in _walk(folder, recursive):
        rel_dir = osp.relpath(root, folder)
        for name in files:
            base, ext = osp.splitext(name)
            if name.startswith('.') or ext.lower() not in allowed:
                continue
            match = pattern.match(base)
            if match is None:
                continue
            stem = match.group(1) if rel_dir == '.' else f'{rel_dir}/{match.group(1)}'
            path = osp.join(root, name)
            if stem in found:
                raise PairingError(f'two {key} files share the stem {stem!r}: {found[stem]} and '
                                   f'{path}; remove one or restrict `extensions`')
            found[stem] = path
    return found


def read_name_list(path: str) -> list[str]:
    """Lines of a text file without blanks and ``#`` comments."""
    with open(path, encoding='utf-8') as f:
        return [s for s in (line.strip() for line in f) if s and not s.startswith('#')]


def _listing(items: Sequence[str]) -> str:
    shown = ', '.join(items[:_MAX_LISTED])
    return shown + (f' (+{len(items) - _MAX_LISTED} more)' if len(items) > _MAX_LISTED else '')


@DATASETS.register_module()
class PairedFusionDataset(BaseDataset):
    """Registered visible + infrared (or NIR) pairs, read in a dataset's published layout.

    Every record holds ``img_id`` (the shared file stem), ``vis_path``, ``ir_path``,
    ``dataset_name`` and, when the layout has them, ``gt_clear_path``, ``seg_path`` (with
    ``seg_num_classes``), ``depth_path`` and ``unpaired_clear_path``. Pairs are matched by stem;
    a file without its partner is an error naming it and the expected partner folder.

    Args:
        data_root: the dataset folder, as published.
        layout: a preset name (``'msrs'``, ``'m3fd'``, ``'roadscene'``, ``'tno'``, ``'iassf'``,
            ``'awfusion'``, ``'epfl_rgbnir'``, ``'vnhd'``, ``'generic'``), a dict with the
            fields of :class:`~mmhaze.datasets.layouts.FolderLayout`, or None (= ``'generic'``:
            ``[split/]{vis,ir,clear,seg,depth}``).
        split: the split folder (``'train'``, ``'test'``, AWFusion's weather ...). None: the
            layout's default, else ``'test'`` if ``test_mode`` else ``'train'`` for layouts
            with fixed splits, and no split folder for the generic layout. Layouts without
            split folders (M3FD, RoadScene, TNO, EPFL) ignore it.
        data_prefix: per-modality folder overrides (``dict(vis=..., ir=..., clear=..., seg=...,
            depth=...)``, ``{split}`` allowed); a folder named here must exist, ``None``
            switches a modality off. Folders the layout lists but the user did not name are
            used when present.
        filename_tmpl: per-modality stem templates overriding the layout's (``'{}_rgb'``).
        extensions: allowed extensions overriding the layout's.
        ann_file: optional text file of stems (one per line) selecting and ordering the pairs.
        dataset_name: name in metainfo and result tables (default: the layout name, or the
            folder name for the generic layout).
        unpaired_seed: seed of the order in which unpaired clear images are dealt to records.

    The class list comes from ``metainfo``, else ``classes.txt`` in ``data_root``, else the
    layout. Nothing is ever written into ``data_root``.
    """

    METAINFO: dict = dict()

    def __init__(self, data_root: str = '', layout: Union[None, str, Mapping,
                                                         FolderLayout] = None,
                 split: Optional[str] = None, data_prefix: Optional[Mapping] = None,
                 filename_tmpl: Optional[Mapping[str, str]] = None,
                 extensions: Optional[Sequence[str]] = None, ann_file: str = '',
                 dataset_name: Optional[str] = None, unpaired_seed: int = 0,
                 metainfo: Optional[Mapping] = None, test_mode: bool = False, **kwargs):
        self.layout = get_layout(layout)
        prefixes = dict(data_prefix or {})
        unknown = sorted(set(prefixes) - set(PATH_KEYS))
        if unknown:
            raise ValueError(f'data_prefix has unknown modalities {unknown}; '
                             f'modalities are {sorted(PATH_KEYS)}')
        self.split = self._resolve_split(split, test_mode)
        folders: dict[str, str] = {}
        for key in PATH_KEYS:
            tmpl = prefixes[key] if key in prefixes else self.layout.folders.get(key)
            if tmpl is not None:
                folders[key] = format_folder(str(tmpl), self.split)
        # Folders the user names, and the two sources, must exist; the rest are optional.
        self.required = {'vis', 'ir'} | {k for k, v in prefixes.items() if v is not None}
        self.filename_tmpl = {**self.layout.filename_tmpl, **(filename_tmpl or {})}
        for key, tmpl in (filename_tmpl or {}).items():
            check_filename_tmpl(key, tmpl, 'PairedFusionDataset')
        self.extensions = tuple(e.lower() if e.startswith('.') else '.' + e.lower()
                                for e in (extensions or self.layout.extensions))
        self.dataset_name = dataset_name or (
            self.layout.name if self.layout.name != 'generic'
            else osp.basename(osp.normpath(data_root)) or 'generic')
        self.unpaired_seed = int(unpaired_seed)
        meta = {}
        if self.layout.classes is not None:
            meta.update(classes=tuple(self.layout.classes), palette=self.layout.palette)
        classes_file = osp.join(data_root, CLASSES_FILE) if data_root else None
        if classes_file and osp.isfile(classes_file):
            meta.update(classes=tuple(read_name_list(classes_file)), palette=None)
        meta.update(dict(metainfo or {}))
        super().__init__(data_root=data_root, data_prefix=folders, ann_file=ann_file,
                         metainfo=meta, test_mode=test_mode, **kwargs)
        # Plain strings join the metainfo after BaseDataset parsed it (it would try to read
        # each string as a file name, and warn).
        for key, value in (('dataset_name', self.dataset_name), ('layout', self.layout.name),
                           ('split', self.split)):
            self._metainfo.setdefault(key, value)

    def _resolve_split(self, split: Optional[str], test_mode: bool) -> Optional[str]:
        layout = self.layout
        # A layout without split folders (M3FD, RoadScene, TNO) ignores `split`: configs may
        # still say split='test' for what is a test set; it is kept in the metainfo.
        if split is None and layout.splits is not None and layout.uses_split():
            split = layout.default_split or ('test' if test_mode else 'train')
        if split is not None and layout.splits is not None and split not in layout.splits:
            raise ValueError(f'layout {layout.name!r} has splits {list(layout.splits)}, '
                             f'got split={split!r}')
        return split

    # ------------------------------------------------------------------ listing
    def _where(self, key: str) -> str:
        return f"(layout '{self.layout.name}', data_prefix.{key})"

    def _how_to_fill(self, key: str, folder: str) -> str:
        """For a missing folder: where it comes from, where a relative path points, and how
        to get the data."""
        import os
        text = self._where(key)
        if not osp.isabs(folder):
            text = f'{text[:-1]}; relative to the current directory {os.getcwd()})'
        if self.layout.how_to_get:
            text += f'; {self.layout.how_to_get}, then set data_root to DST'
        return text

    def _index(self, key: str) -> Optional[dict[str, str]]:
        folder = self.data_prefix[key]
        if not osp.isdir(folder):
            if key in self.required:
                raise MissingFilesError(f'{key} folder not found: {folder} '
                                        f'{self._how_to_fill(key, folder)}')
            return None
        exts = self.extensions + (DEPTH_EXTENSIONS if key == 'depth' else ())
        found = index_folder(folder, self.filename_tmpl.get(key, '{}'), exts,
                             self.layout.recursive, key)
        if not found:
            tmpl = self.filename_tmpl.get(key, '{}').replace('{}', '*')
            raise MissingFilesError(f'no {key} images ({tmpl} with extension '
                                    f'{"/".join(exts)}) in {folder} {self._where(key)}')
        return found

    def _expected(self, key: str, stem: str) -> str:
        name = self.filename_tmpl.get(key, '{}').format(stem.split('/')[-1])
        sub = osp.dirname(stem)
        return osp.join(self.data_prefix[key], sub, name + '.*')

    def _check_partners(self, indexes: dict[str, dict[str, str]]) -> None:
        problems = []
        for key, other in (('vis', 'ir'), ('ir', 'vis')):
            lonely = sorted(set(indexes[key]) - set(indexes[other]), key=natural_key)
            if lonely:
                problems.append(
                    f'{len(lonely)} {key} image(s) have no {other} partner: ' + _listing(
                        [f'{indexes[key][s]} (expected {self._expected(other, s)})'
                         for s in lonely]))
        if problems:
            raise MissingFilesError('unpaired images in ' + str(self.data_root) + ':\n  '
                                    + '\n  '.join(problems))

    def load_data_list(self) -> list[dict]:
        indexes = {}
        for key in PATH_KEYS:
            if key in self.data_prefix:
                found = self._index(key)
                if found is not None:
                    indexes[key] = found
        if self.ann_file:
            if not osp.isfile(self.ann_file):
                raise MissingFilesError(f'ann_file not found: {self.ann_file}')
            stems = read_name_list(self.ann_file)
            for line_no, stem in enumerate(stems, 1):
                for key in ('vis', 'ir'):
                    if stem not in indexes[key]:
                        raise MissingFilesError(
                            f'{self.ann_file} line {line_no}: no {key} image for {stem!r} '
                            f'(expected {self._expected(key, stem)})')
        else:
            self._check_partners(indexes)
            stems = sorted(indexes['vis'], key=natural_key)

        num_classes = len(self.metainfo['classes']) if self.metainfo.get('classes') else None
        for key in ('clear', 'seg', 'depth'):
            if key not in indexes or key in self.layout.partial:
                continue
            missing = [s for s in stems if s not in indexes[key]]
            if missing:
                raise MissingFilesError(
                    f'{len(missing)} pair(s) have no {key} file in {self.data_prefix[key]}: '
                    + _listing([f'{indexes["vis"][s]} (expected {self._expected(key, s)})'
                                for s in missing])
                    + f'; set data_prefix.{key}=None to ignore that folder')
            extra = sorted(set(indexes[key]) - set(stems), key=natural_key)
            if extra:
                warnings.warn(f'{len(extra)} {key} file(s) in {self.data_prefix[key]} belong to '
                              f'no pair and are ignored: {_listing(extra)}')

        data_list = []
        for stem in stems:
            record = dict(img_id=stem, dataset_name=self.dataset_name)
            for key, path_key in PATH_KEYS.items():
                if key in indexes and stem in indexes[key]:
                    record[path_key] = indexes[key][stem]
            if 'seg_path' in record:
                record.update(seg_num_classes=num_classes, seg_ignore_index=SEG_IGNORE_INDEX)
            data_list.append(record)
        self._deal_unpaired_clear(data_list)
        return data_list

    def image_size(self, idx: int) -> Optional[tuple[int, int]]:
        """(H, W) of pair ``idx``'s visible image from its file header (no decoding), the size
        the test pipelines keep and the metrics evaluate; None if the header is unreadable."""
        return image_header_size(self.get_data_info(idx)['vis_path'])

    def _deal_unpaired_clear(self, data_list: list[dict]) -> None:
        """Give each training record one unpaired clear image, round-robin in a seeded order."""
        if self.test_mode or not self.layout.unpaired_clear:
            return
        folder = osp.join(self.data_root, format_folder(self.layout.unpaired_clear, self.split))
        if not osp.isdir(folder):
            return
        pool = sorted(index_folder(folder, '{}', self.extensions, False, 'clear_unpaired')
                      .values(), key=natural_key)
        if not pool:
            raise MissingFilesError(f'no images in the unpaired clear folder {folder}')
        order = np.random.default_rng(self.unpaired_seed).permutation(len(pool))
        for i, record in enumerate(data_list):
            record['unpaired_clear_path'] = pool[order[i % len(pool)]]


__all__ = ['PairedFusionDataset', 'index_folder', 'natural_key', 'read_name_list']
