"""Folder layouts of the paired datasets, as published, by name (``PairedFusionDataset(layout=)``).

A layout says which folder holds each modality (``vis``, ``ir`` and optionally ``clear``,
``seg``, ``depth``), how file names pair up (the same stem, or a per-modality template such as
EPFL's ``{}_rgb`` / ``{}_nir``), which splits exist, and the class list. A config can also give
a layout as a dict with the fields of :class:`FolderLayout`.
"""
from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Optional, Union

from .synthetic_scene import CLASSES as SYNTHETIC_CLASSES
from .synthetic_scene import PALETTE as SYNTHETIC_PALETTE

# Modality key → the record key holding its path (what LoadFusionImages reads).
PATH_KEYS: dict[str, str] = {
    'vis': 'vis_path', 'ir': 'ir_path', 'clear': 'gt_clear_path', 'seg': 'seg_path',
    'depth': 'depth_path'}
IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff')
DEPTH_EXTENSIONS = IMAGE_EXTENSIONS + ('.npy',)

# MSRS labels are MFNet's 9 classes (ids 0-8, 0 = unlabelled); the palette is the one the
# MSRS repository's visualize.py draws them with.
MSRS_CLASSES = ('unlabelled', 'car', 'person', 'bike', 'curve', 'car_stop', 'guardrail',
                'color_cone', 'bump')
MSRS_PALETTE = [(0, 0, 0), (64, 0, 128), (64, 64, 0), (0, 128, 192), (0, 0, 192), (128, 128, 0),
                (64, 64, 128), (192, 128, 128), (192, 64, 0)]


@dataclass(frozen=True)
class FolderLayout:
    """Where a dataset's files are, relative to ``data_root``.

    Args:
        name: preset name (also the default ``dataset_name``).
        folders: modality key → folder; ``{split}`` is replaced by the split (and dropped with
            its separator when there is no split). ``''`` is ``data_root`` itself.
        filename_tmpl: modality key → file-stem template, ``{}`` standing for the shared stem
            (default ``'{}'``: the same stem in every folder).
        splits: values ``split`` may take; None = any value (or none).
        default_split: split used when none is given (else ``'test'`` in test mode,
            ``'train'`` otherwise, for layouts with fixed splits).
        recursive: search sub-folders too; the stem then keeps its sub-path (``country/0001``).
        partial: modalities that may be missing for some pairs (others must be complete).
        unpaired_clear: folder of unpaired clear visible images (training only), if any.
        classes / palette: label names and colours for ``seg``.
        extensions: allowed file extensions (lower case, with the dot).
        how_to_get: where a user gets such a dataset (said when its folders are missing).
    """

    name: str
    folders: Mapping[str, str]
    filename_tmpl: Mapping[str, str] = field(default_factory=dict)
    splits: Optional[tuple[str, ...]] = None
    default_split: Optional[str] = None
    recursive: bool = False
    partial: tuple[str, ...] = ()
    unpaired_clear: Optional[str] = None
    classes: Optional[tuple[str, ...]] = None
    palette: Optional[Sequence[tuple[int, int, int]]] = None
    extensions: tuple[str, ...] = IMAGE_EXTENSIONS
    how_to_get: str = ''

    def __post_init__(self) -> None:
        for key in list(self.folders) + list(self.filename_tmpl) + list(self.partial):
            if key not in PATH_KEYS:
                raise ValueError(f'layout {self.name!r}: unknown modality {key!r}; '
                                 f'modalities are {sorted(PATH_KEYS)}')
        for key in ('vis', 'ir'):
            if key not in self.folders:
                raise ValueError(f'layout {self.name!r} must name a folder for {key!r}')
        for key, tmpl in self.filename_tmpl.items():
            check_filename_tmpl(key, tmpl, f'layout {self.name!r}')

    def folder(self, key: str, split: Optional[str]) -> Optional[str]:
        """The folder of ``key`` for ``split`` (None if the layout has none for it)."""
        tmpl = self.folders.get(key)
        return None if tmpl is None else format_folder(tmpl, split)

    def uses_split(self) -> bool:
        return any('{split}' in f for f in self.folders.values())


def check_filename_tmpl(key: str, tmpl: str, where: str) -> None:
    """A stem template names a known modality and holds ``{}`` exactly once."""
    if key not in PATH_KEYS or str(tmpl).count('{}') != 1:
        raise ValueError(f"{where}: filename_tmpl[{key!r}]={tmpl!r}; keys are "
                         f"{sorted(PATH_KEYS)} and a template holds '{{}}' exactly once")


def format_folder(tmpl: str, split: Optional[str]) -> str:
    """Fill ``{split}`` in a folder template; without a split, drop it and its separator."""
    if '{split}' not in tmpl:
        return tmpl
    if split:
        return tmpl.replace('{split}', split)
    parts = [p for p in tmpl.replace('\\', '/').split('/') if p != '{split}']
    return '/'.join(parts)


LAYOUTS: dict[str, FolderLayout] = {
    layout.name: layout for layout in [
        # vis/ ir/ [clear/] [seg/] [depth/], under {split}/ when a split is given.
        FolderLayout('generic', folders=dict(vis='{split}/vis', ir='{split}/ir',
                                             clear='{split}/clear', seg='{split}/seg',
                                             depth='{split}/depth'),
                     how_to_get='`python tools/dataset_converters/make_synthetic.py DST` writes '
                                'synthetic scenes in this layout'),
        FolderLayout('msrs', folders=dict(vis='{split}/vi', ir='{split}/ir',
                                          seg='{split}/Segmentation_labels'),
                     splits=('train', 'test'), classes=MSRS_CLASSES, palette=MSRS_PALETTE),
        FolderLayout('m3fd', folders=dict(vis='Vis', ir='Ir')),
        FolderLayout('roadscene', folders=dict(vis='crop_LR_visible', ir='cropinfrared')),
        FolderLayout('tno', folders=dict(vis='vi', ir='ir')),
        # IASSF release: hazy input, clear GT, IR; seg/ is mmhaze's optional addition.
        FolderLayout('iassf', folders=dict(vis='{split}/hazy', ir='{split}/IR',
                                           clear='{split}/GT', seg='{split}/seg'),
                     splits=('train', 'test'), classes=MSRS_CLASSES, palette=MSRS_PALETTE),
        # AWFusion Test_Image: the split is the weather; gt_vi holds clean images for some pairs.
        FolderLayout('awfusion', folders=dict(vis='Test_{split}/vi', ir='Test_{split}/ir',
                                              clear='Test_{split}/gt_vi'),
                     splits=('haze', 'rain', 'Snow', 'real'), default_split='haze',
                     partial=('clear',)),
        # EPFL RGB-NIR Scene: <category>/<NNNN>_rgb.tiff + <NNNN>_nir.tiff (or .jpg re-encodes).
        FolderLayout('epfl_rgbnir', folders=dict(vis='', ir=''),
                     filename_tmpl=dict(vis='{}_rgb', ir='{}_nir'), recursive=True),
        # mmhaze's VNHD-style VIS+NIR layout (VNHD itself is not public).
        FolderLayout('vnhd', folders=dict(vis='{split}/vis', ir='{split}/nir', seg='{split}/seg'),
                     splits=('train', 'test'), unpaired_clear='clear_unpaired',
                     classes=SYNTHETIC_CLASSES, palette=SYNTHETIC_PALETTE,
                     how_to_get='VNHD is not public; `python tools/dataset_converters/'
                                'make_synthetic.py DST --layout vnhd` writes a complete synthetic '
                                'stand-in (train and test, with labels)'),
    ]
}


def get_layout(layout: Union[None, str, Mapping, FolderLayout]) -> FolderLayout:
    """A :class:`FolderLayout` from a preset name, a dict of its fields, or None (generic)."""
    if layout is None:
        return LAYOUTS['generic']
    if isinstance(layout, FolderLayout):
        return layout
    if isinstance(layout, str):
        if layout not in LAYOUTS:
            match = difflib.get_close_matches(layout, list(LAYOUTS), n=1, cutoff=0.5)
            hint = f" (did you mean '{match[0]}'?)" if match else ''
            raise ValueError(f'unknown layout {layout!r}{hint}; presets: {sorted(LAYOUTS)}, '
                             'or a dict with the fields of FolderLayout')
        return LAYOUTS[layout]
    if isinstance(layout, Mapping):
        names = {f.name for f in fields(FolderLayout)}
        unknown = sorted(set(layout) - names)
        if unknown:
            raise ValueError(f'layout dict has unknown fields {unknown}; fields: {sorted(names)}')
        spec = dict(layout)
        spec.setdefault('name', 'custom')
        for key in ('splits', 'partial', 'classes', 'extensions'):
            if spec.get(key) is not None:
                spec[key] = tuple(spec[key])
        return FolderLayout(**spec)
    raise TypeError(f'layout must be a preset name, a dict or None, got {type(layout).__name__}')


__all__ = ['FolderLayout', 'LAYOUTS', 'get_layout', 'format_folder', 'check_filename_tmpl',
           'PATH_KEYS',
           'IMAGE_EXTENSIONS', 'DEPTH_EXTENSIONS', 'MSRS_CLASSES', 'MSRS_PALETTE']
