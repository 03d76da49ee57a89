"""Reading every modality of a pair (8/16-bit PNG, TIFF, JPEG, BMP; depth also as .npy)."""
from __future__ import annotations

import io
import os.path as osp
import warnings
from collections.abc import Mapping
from typing import Optional, Union

import cv2
import mmengine.fileio as fileio
import numpy as np
from mmcv.transforms import BaseTransform

from mmhaze.registry import TRANSFORMS
from mmhaze.utils.errors import UserError

UINT16_RULES = ('full', 'minmax', 'percentile', 'fixed', 'bits')


class ImageReadError(UserError, OSError):
    """A file that is missing, empty, truncated or not an image; the message names it."""


class ImageFormatError(UserError, ValueError):
    """An image that reads but cannot be used as it is (transparency, channels, bit depth, a
    size that differs from its partner's, bad labels); the message names the file(s)."""


class PipelineMismatchError(UserError, ValueError):
    """A pipeline that does not fit the dataset's files (a hazy-test pipeline on a dataset that
    has clear images); the message names the file and both remedies."""


def read_bytes(path: str, backend_args: Optional[dict] = None) -> bytes:
    try:
        data = fileio.get(path, backend_args=backend_args)
    except FileNotFoundError:
        raise ImageReadError(f'file not found: {path}') from None
    except OSError as err:
        raise ImageReadError(f'cannot read {path}: {err}') from None
    if not data:
        raise ImageReadError(f'empty file (0 bytes): {path}; re-export it or remove the pair')
    return data


def image_header_size(path: str) -> Optional[tuple[int, int]]:
    """(H, W) of an image file from its header, without decoding the pixels (Pillow reads
    only the header); None for a file Pillow cannot open this way (a remote path, a format it
    lacks)."""
    from PIL import Image
    try:
        with Image.open(path) as image:
            return image.height, image.width
    except (OSError, ValueError):
        return None


def decode_image(data: bytes, path: str, flags: int = cv2.IMREAD_UNCHANGED) -> np.ndarray:
    """Bytes → array as stored (depth and channels unchanged, colour in BGR(A) order), or as
    OpenCV's ``flags`` decode it (``cv2.IMREAD_GRAYSCALE``: ``cv2.imread(path, 0)``)."""
    ext = osp.splitext(path)[1].lower()
    if ext in ('.jpg', '.jpeg') and b'\xff\xd9' not in data[-1024:]:
        # Older OpenCV decodes a cut-off JPEG silently into a grey-bottomed image.
        raise ImageReadError(f'truncated JPEG (no end-of-image marker): {path}; re-export it or '
                             'remove the pair')
    img = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if img is None and ext in ('.tif', '.tiff') and flags == cv2.IMREAD_UNCHANGED:
        img = _decode_tiff_fallback(data)
    if img is None:
        raise ImageReadError(f'cannot decode {path}: truncated, corrupt or not an image; '
                             're-export it or remove the pair')
    return img


def _decode_tiff_fallback(data: bytes) -> Optional[np.ndarray]:
    """tifffile reads some scientific TIFFs (float, odd compressions) that OpenCV refuses."""
    try:
        import tifffile
        img = tifffile.imread(io.BytesIO(data))
    except Exception:  # not installed, or the file really is broken
        return None
    if img.ndim < 2 or img.size == 0:  # what tifffile returns for a cut-off file
        return None
    if img.ndim == 3 and img.shape[2] in (3, 4):  # tifffile gives RGB; match cv2's BGR
        img = img[..., [2, 1, 0] + ([3] if img.shape[2] == 4 else [])]
    return img


def drop_alpha(img: np.ndarray, path: str) -> np.ndarray:
    """4-channel image → its 3 colour channels if the alpha channel is fully opaque."""
    alpha = img[..., 3]
    opaque = np.iinfo(img.dtype).max if img.dtype.kind == 'u' else 1.0
    if not np.all(alpha == opaque):
        raise ImageFormatError(
            f'{path} has transparent pixels (4-channel image with alpha); '
            'composite it onto a background or save it without alpha')
    warnings.warn(f'{path}: 4-channel image with an opaque alpha channel; the alpha channel '
                  'is dropped')
    return img[..., :3]


def normalize_uint16(img: np.ndarray, rule: Mapping, path: str) -> np.ndarray:
    """16-bit image → float32 in [0, 1] by ``rule`` (see :class:`LoadFusionImages`)."""
    x = img.astype(np.float32)
    mode = rule['mode']
    if mode == 'full':
        lo, hi = 0.0, 65535.0
    elif mode == 'bits':
        hi = float(2 ** int(rule['bits']) - 1)
        if x.max() > hi:
            raise ImageFormatError(
                f'{path}: value {int(x.max())} exceeds {int(rule["bits"])} bits '
                '(uint16_norm.bits)')
        lo = 0.0
    elif mode == 'fixed':
        lo, hi = float(rule['low']), float(rule['high'])
    elif mode == 'minmax':
        lo, hi = float(x.min()), float(x.max())
    else:  # percentile
        lo, hi = (float(v) for v in np.percentile(x, (rule['low'], rule['high'])))
    if hi <= lo:  # a constant image
        return np.zeros_like(x)
    return np.clip((x - lo) / (hi - lo), 0.0, 1.0)


def _parse_uint16_rule(rule: Union[str, Mapping]) -> dict:
    spec = dict(mode=rule) if isinstance(rule, str) else dict(rule)
    mode = spec.get('mode')
    if mode not in UINT16_RULES:
        raise ValueError(f'uint16_norm mode {mode!r}: choose one of {UINT16_RULES}')
    if mode == 'percentile':
        spec.setdefault('low', 1.0)
        spec.setdefault('high', 99.0)
    needed = {'fixed': ('low', 'high'), 'bits': ('bits',)}.get(mode, ())
    missing = [k for k in needed if k not in spec]
    if missing:
        raise ValueError(f'uint16_norm mode {mode!r} needs {missing}')
    if mode in ('fixed', 'percentile') and not float(spec['low']) < float(spec['high']):
        raise ValueError(f'uint16_norm: low must be < high, got {spec}')
    return spec


def to_unit_float(img: np.ndarray, path: str) -> np.ndarray:
    """uint16 → float32 [0, 1] (full range); uint8 and [0, 1] floats pass unchanged."""
    if img.dtype == np.uint8:
        return img
    if img.dtype == np.uint16:
        return img.astype(np.float32) / 65535.0
    if img.dtype.kind == 'f':
        if img.size and (np.nanmin(img) < 0 or np.nanmax(img) > 1):
            raise ImageFormatError(
                f'{path}: float image outside [0, 1] '
                f'([{np.nanmin(img):.3g}, {np.nanmax(img):.3g}])')
        return img.astype(np.float32)
    raise ImageFormatError(f'{path}: unsupported pixel type {img.dtype}')


@TRANSFORMS.register_module()
class LoadFusionImages(BaseTransform):
    """Read every ``*_path`` of a record into arrays, checking that they belong together.

    Produces ``vis`` (H×W×3 RGB), ``ir`` (H×W×``ir_channels``), and when the record has the
    path: ``gt_clear`` (H×W×3), ``gt_sem_seg`` (H×W class ids), ``depth`` (H×W float32) and
    ``unpaired_clear`` (an unpaired clear image, any size); plus ``img_shape`` / ``ori_shape``.
    8-bit images stay uint8; 16-bit visible images become float32 /65535; 16-bit IR/NIR is
    normalised to float32 [0, 1] by ``uint16_norm``.

    Args:
        ir_channels: 1 (grey; a 3-channel IR file is converted, identical channels losslessly)
            or 3 (a 1-channel file is replicated), as the model expects.
        vis_is_clear: the visible file is the *clear* image (a haze-free dataset such as MSRS
            used with :class:`SynthesizeHaze`): it is loaded as ``vis`` and as ``gt_clear``.
        uint16_norm: rule for 16-bit IR/NIR (raw thermal counts rarely span 0-65535):
            ``'percentile'`` (default: per image, 1st-99th percentile → [0, 1], clipped, or
            ``dict(mode='percentile', low=.., high=..)``), ``'minmax'`` (per image),
            ``'full'`` (/65535), ``dict(mode='fixed', low=.., high=..)`` (the same counts for
            the whole dataset) or ``dict(mode='bits', bits=14)`` (/(2^bits − 1)).
            The first 16-bit IR image met is reported once with a warning.
        depth_scale: multiplies depth maps read from 16-bit images (e.g. 0.001 for mm → m).
        gray_decode: None, or ``'opencv'``: decode the visible and IR files as a release that
            read them with ``cv2.imread(path, cv2.IMREAD_GRAYSCALE)`` did (8-bit; a colour
            JPEG's luma plane as decoded, OpenCV's own gray of a colour PNG — neither is the
            gray of the decoded colour image, off by up to 15 levels on JPEG chroma edges);
            ``vis`` is then that gray replicated to 3 channels (no colour).
        check_labels: check that label ids are < the dataset's class count (or the ignore
            index, 255); a bad id is an error naming the file.
        backend_args: mmengine file backend arguments.

    A visible file with one channel (TNO) is replicated to 3; a 4-channel file with an opaque
    alpha channel loses it with a warning (transparent pixels are an error). Images of one pair
    must all have the same size: a mismatch is an error naming both files.
    """

    def __init__(self, ir_channels: int = 1, vis_is_clear: bool = False,
                 uint16_norm: Union[str, Mapping] = 'percentile', depth_scale: float = 1.0,
                 check_labels: bool = True, backend_args: Optional[dict] = None,
                 gray_decode: Optional[str] = None):
        if ir_channels not in (1, 3):
            raise ValueError(f'ir_channels must be 1 or 3, got {ir_channels}')
        if gray_decode not in (None, 'opencv'):
            raise ValueError(f"gray_decode must be None or 'opencv', got {gray_decode!r}")
        self.gray_decode = gray_decode
        self.ir_channels = ir_channels
        self.vis_is_clear = vis_is_clear
        self.uint16_rule = _parse_uint16_rule(uint16_norm)
        self.depth_scale = float(depth_scale)
        self.check_labels = check_labels
        self.backend_args = backend_args
        self._warned_uint16 = False

    # ------------------------------------------------------------------ one modality each
    def _read(self, path: str) -> np.ndarray:
        img = decode_image(read_bytes(path, self.backend_args), path)
        if img.ndim == 3 and img.shape[2] == 4:
            img = drop_alpha(img, path)
        if img.ndim == 3 and img.shape[2] == 1:
            img = img[..., 0]
        if img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[2] != 3):
            raise ImageFormatError(
                f'{path}: expected a 1-, 3- or 4-channel image, got shape '
                f'{img.shape}')
        return img

    def load_colour(self, path: str) -> np.ndarray:
        img = self._read(path)
        img = np.repeat(img[..., None], 3, axis=2) if img.ndim == 2 else img[..., ::-1]
        return np.ascontiguousarray(to_unit_float(img, path))

    def load_gray(self, path: str, channels: int) -> np.ndarray:
        """A source decoded by OpenCV as gray (``gray_decode``), 8-bit H×W×``channels``."""
        img = decode_image(read_bytes(path, self.backend_args), path, cv2.IMREAD_GRAYSCALE)
        return np.ascontiguousarray(np.repeat(to_unit_float(img, path)[..., None], channels, 2))

    def load_ir(self, path: str) -> np.ndarray:
        img = self._read(path)
        if img.ndim == 3:
            if np.array_equal(img[..., 0], img[..., 1]) and np.array_equal(img[..., 0],
                                                                           img[..., 2]):
                img = img[..., 0]  # grey stored as RGB (TNO, LLVIP)
            elif self.ir_channels == 1:
                img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
            else:
                img = img[..., ::-1]
        if img.dtype == np.uint16:
            if not self._warned_uint16:
                warnings.warn(f'16-bit IR image {path}: normalised to [0, 1] by the '
                              f'{self.uint16_rule} rule (LoadFusionImages.uint16_norm)')
                self._warned_uint16 = True
            img = normalize_uint16(img, self.uint16_rule, path)
        else:
            img = to_unit_float(img, path)
        if img.ndim == 2:
            img = img[..., None]
        if img.shape[2] != self.ir_channels:
            img = np.repeat(img, self.ir_channels, axis=2)
        return np.ascontiguousarray(img)

    def load_labels(self, path: str, results: dict) -> np.ndarray:
        seg = self._read(path)
        if seg.ndim == 3:
            if not (np.array_equal(seg[..., 0], seg[..., 1])
                    and np.array_equal(seg[..., 0], seg[..., 2])):
                raise ImageFormatError(
                    f'{path}: a colour label image; labels must be one channel of '
                    'class ids')
            seg = seg[..., 0]
        if seg.dtype.kind not in 'ui':
            raise ImageFormatError(f'{path}: labels must be integers, got {seg.dtype}')
        num_classes = results.get('seg_num_classes')
        if self.check_labels and num_classes:
            ignore = results.get('seg_ignore_index', 255)
            bad = np.unique(seg[(seg >= num_classes) & (seg != ignore)])
            if bad.size:
                raise ImageFormatError(
                    f'{path}: label ids {bad[:10].tolist()} are out of range for '
                    f'{num_classes} classes (ignore index {ignore})')
        return seg

    def load_depth(self, path: str) -> np.ndarray:
        data = read_bytes(path, self.backend_args)
        if path.lower().endswith('.npy'):
            try:
                depth = np.load(io.BytesIO(data), allow_pickle=False)
            except ValueError as err:
                raise ImageReadError(f'cannot read depth {path}: {err}') from None
        else:
            depth = decode_image(data, path)
        depth = np.asarray(depth, np.float32)
        if depth.ndim == 3:
            depth = depth[..., 0]
        if depth.ndim != 2:
            raise ImageFormatError(f'{path}: a depth map must be H×W, got shape {depth.shape}')
        return depth * self.depth_scale

    # ------------------------------------------------------------------ the transform
    def transform(self, results: dict) -> dict:
        for key in ('vis_path', 'ir_path'):
            if not results.get(key):
                raise KeyError(f'LoadFusionImages: the record has no {key!r} '
                               f'(keys: {sorted(results)})')
        vis_path = results['vis_path']
        if self.gray_decode:
            results['vis'] = self.load_gray(vis_path, 3)
            results['ir'] = self.load_gray(results['ir_path'], self.ir_channels)
        else:
            results['vis'] = self.load_colour(vis_path)
            results['ir'] = self.load_ir(results['ir_path'])
        if self.vis_is_clear:
            if results.get('gt_clear_path'):
                raise PipelineMismatchError(
                    f'{vis_path}: the pipeline reads it as a clear image to haze '
                    '(LoadFusionImages vis_is_clear=True), but the dataset has a clear image '
                    f'for it ({results["gt_clear_path"]}), so its visible images are hazy '
                    'already: use a config whose pipeline has no vis_is_clear (nor '
                    'SynthesizeHaze), or set data_prefix.clear=None to haze these images')
            results['gt_clear'] = results['vis']
            results['gt_clear_path'] = vis_path
        elif results.get('gt_clear_path'):
            results['gt_clear'] = self.load_colour(results['gt_clear_path'])
        if results.get('seg_path'):
            results['gt_sem_seg'] = self.load_labels(results['seg_path'], results)
        if results.get('depth_path'):
            results['depth'] = self.load_depth(results['depth_path'])
        if results.get('unpaired_clear_path'):
            results['unpaired_clear'] = self.load_colour(results['unpaired_clear_path'])

        shape = results['vis'].shape[:2]
        for key, path_key in (('ir', 'ir_path'), ('gt_clear', 'gt_clear_path'),
                              ('gt_sem_seg', 'seg_path'), ('depth', 'depth_path')):
            if key in results and results[key].shape[:2] != shape:
                raise ImageFormatError(
                    f'pair sizes differ: vis {shape[1]}×{shape[0]} ({vis_path}) vs {key} '
                    f'{results[key].shape[1]}×{results[key].shape[0]} ({results[path_key]}); '
                    'the images of a pair must be pixel-registered: fix or remove the pair')
        results['img_shape'] = shape
        results['ori_shape'] = shape
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(ir_channels={self.ir_channels}, '
                f'vis_is_clear={self.vis_is_clear}, uint16_norm={self.uint16_rule}'
                + (f', gray_decode={self.gray_decode!r})' if self.gray_decode else ')'))


__all__ = ['LoadFusionImages', 'ImageReadError', 'ImageFormatError', 'decode_image', 'read_bytes',
           'normalize_uint16', 'to_unit_float']
