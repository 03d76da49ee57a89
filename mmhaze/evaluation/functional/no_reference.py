"""NIQE and PI through pyiqa (imported lazily), with parameter files found offline.

- NIQE (Mittal et al. 2013): pyiqa's ``NIQE`` with the pristine model
  ``niqe_modelparameters.mat``; gray by ``color_space`` ('yiq' = MATLAB ``rgb2gray`` weights,
  pyiqa's default; 'ycbcr' = MATLAB Y); 1-channel images are used as they are. 96×96 blocks
  over two scales: images need at least 192×192 pixels (after ``crop_border``).
- PI (PIRM 2018) = ((10 − NRQM) + NIQE) / 2 with pyiqa's ``NRQM`` (Ma et al., needs
  ``NRQM_model.mat``) and ``NIQE``, both on the MATLAB Y channel with a 4-pixel border shaved,
  exactly as pyiqa's ``PI`` (which cannot be pointed at local files).

Parameter files are looked up in order: the explicit path (config key), then
``$TORCH_HOME/hub/pyiqa/`` (pyiqa's download cache), then ``$MMHAZE_SHARED_DATA/niqe/``.
A missing file is one error naming the file and where to put it; nothing is downloaded.
Inputs are on the 8-bit scale (float in [0, 255] or uint8), B×C×H×W with C = 1 or 3.
"""
from __future__ import annotations

import functools
import os.path as osp
from pathlib import Path
from typing import Optional

import torch

from mmhaze.utils.errors import MissingFileError

from .image_ops import as_float, guard_nonfinite, mask_values
from .metric_registry import register_metric

NIQE_FILE = 'niqe_modelparameters.mat'
NRQM_FILE = 'NRQM_model.mat'
NIQE_MIN_SIZE = 192
PI_CROP_BORDER = 4
PI_COLOR_SPACE = 'ycbcr'


def pyiqa_cache_dir() -> Path:
    """pyiqa's download cache, ``torch.hub.get_dir()/pyiqa`` (``$TORCH_HOME/hub/pyiqa``)."""
    return Path(torch.hub.get_dir()) / 'pyiqa'


def find_parameter_file(name: str, path: Optional[str] = None, config_key: str = 'model_path'
                        ) -> str:
    """The parameter file ``name``: ``path`` if given, else from the cache or the shared data."""
    if path is not None:
        if not osp.isfile(path):
            raise MissingFileError(f'{config_key}={path!r}: file not found (expected {name})')
        return str(path)
    from mmhaze.utils import shared_data_dir
    candidates = [pyiqa_cache_dir() / name, shared_data_dir() / 'niqe' / name]
    for candidate in candidates:
        if candidate.is_file():
            return str(candidate)
    raise MissingFileError(
        f'parameter file {name} not found (looked in {", ".join(map(str, candidates))}). Put '
        f'{name} into {pyiqa_cache_dir()} (pyiqa downloads it there when online; set TORCH_HOME '
        f'to move that folder) or give its path with the config key `{config_key}`.')


@functools.lru_cache(maxsize=8)
def _niqe_module(path: str, color_space: str, crop_border: int):
    from pyiqa.archs.niqe_arch import NIQE
    return NIQE(color_space=color_space, crop_border=crop_border,
                pretrained_model_path=path).eval()


@functools.lru_cache(maxsize=2)
def _nrqm_module(path: str, color_space: str, crop_border: int):
    from pyiqa.archs.nrqm_arch import NRQM
    return NRQM(color_space=color_space, crop_border=crop_border,
                pretrained_model_path=path).eval()


def _unit_range(image: torch.Tensor, crop_border: int, metric: str):
    # float32 as pyiqa is run (its yiq conversion rounds differently in float64)
    x = as_float(image, 'image', torch.float32) / 255.0
    if x.shape[1] not in (1, 3):
        raise ValueError(f'{metric} needs 1- or 3-channel images, got {x.shape[1]} channels')
    h, w = (s - 2 * crop_border for s in x.shape[-2:])
    if min(h, w) < NIQE_MIN_SIZE:
        raise ValueError(f'{metric} needs images of at least {NIQE_MIN_SIZE}×{NIQE_MIN_SIZE} '
                         f'pixels (two scales of 96×96 blocks), got {h}×{w} after a '
                         f'{crop_border}-pixel border crop')
    (x,), ok = guard_nonfinite([x])
    return x, ok


def _resolve_niqe_file(options: dict) -> dict:
    return dict(options, model_path=find_parameter_file(NIQE_FILE, options.get('model_path'),
                                                         'niqe_model_path'))


@register_metric('NIQE', kind='no_reference', higher_is_better=False, setup=_resolve_niqe_file,
                 convention=lambda o: (f"pyiqa NIQE, MATLAB pristine model, gray = "
                                       f"{o['color_space']}, 96×96 blocks, 8-bit"))
def niqe(image: torch.Tensor, model_path: Optional[str] = None, color_space: str = 'yiq',
         crop_border: int = 0) -> torch.Tensor:
    """NIQE of each image (lower is better), shape (B,)."""
    path = find_parameter_file(NIQE_FILE, model_path, 'niqe_model_path')
    x, ok = _unit_range(image, crop_border, 'NIQE')
    with torch.no_grad():
        score = _niqe_module(path, color_space, crop_border).to(x.device)(x)
    return mask_values(score.reshape(-1).to(x.dtype), ok)


def check_pi_files(niqe_model_path: Optional[str] = None,
                   nrqm_model_path: Optional[str] = None) -> tuple:
    """Both PI parameter files, or the missing-file error (call it before a long run)."""
    return (find_parameter_file(NIQE_FILE, niqe_model_path, 'niqe_model_path'),
            find_parameter_file(NRQM_FILE, nrqm_model_path, 'nrqm_model_path'))


def _resolve_pi_files(options: dict) -> dict:
    niqe_path, nrqm_path = check_pi_files(options.get('niqe_model_path'),
                                          options.get('nrqm_model_path'))
    return dict(options, niqe_model_path=niqe_path, nrqm_model_path=nrqm_path)


@register_metric('PI', kind='no_reference', higher_is_better=False, setup=_resolve_pi_files,
                 convention='pyiqa: ((10 − NRQM) + NIQE)/2, Y (ycbcr), 4-px border shaved, 8-bit')
def perceptual_index(image: torch.Tensor, niqe_model_path: Optional[str] = None,
                     nrqm_model_path: Optional[str] = None) -> torch.Tensor:
    """PI = ((10 − NRQM) + NIQE) / 2 (lower is better), shape (B,)."""
    niqe_path, nrqm_path = check_pi_files(niqe_model_path, nrqm_model_path)
    x, ok = _unit_range(image, PI_CROP_BORDER, 'PI')
    with torch.no_grad():
        n = _niqe_module(niqe_path, PI_COLOR_SPACE, PI_CROP_BORDER).to(x.device)(x)
        m = _nrqm_module(nrqm_path, PI_COLOR_SPACE, PI_CROP_BORDER).to(x.device)(x)
    score = (10 - m.reshape(-1) + n.reshape(-1)) / 2
    return mask_values(score.to(x.dtype), ok)
