"""How released test scripts read and coloured images, as functions on batched tensors.

The gray and YCrCb conversions run the libraries the releases used (Pillow, OpenCV) on the
8-bit values, so they are exact by construction, including their integer rounding (Pillow's
RGB → YCbCr → 'F' path loses one grey level on 22 of the 256 grey values, e.g. 11 → 10). They
run on the CPU, once per image, outside training. OpenCV's 8-bit fixed-point coefficients have
changed between versions (here its gray and its YCrCb Y differ by one level on ~0.3 % of random
colours), so a release read with another OpenCV version may differ by one level on such pixels.
"""
from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import torch
from PIL import Image

#: Source readings of the releases: how an 8-bit file became the network's 1-channel input.
GRAY_READS = ('pillow_l', 'opencv_gray', 'pillow_ycbcr_f')


def quantize(x: torch.Tensor, bits: int = 8) -> torch.Tensor:
    """Values as an 8-bit (``bits``) file stores them, still in [0, 1]."""
    levels = 2 ** bits - 1
    return torch.round(x.clamp(0.0, 1.0) * levels) / levels


def _to_uint8_images(x: torch.Tensor) -> np.ndarray:
    """B×C×H×W in [0, 1] (8-bit values) → B×H×W×3 uint8 (1 channel replicated)."""
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    arr = torch.round(x.detach().float().clamp(0, 1) * 255).to(torch.uint8)
    return arr.permute(0, 2, 3, 1).cpu().numpy()


def _to_tensor_images(arr: np.ndarray, like: torch.Tensor) -> torch.Tensor:
    """B×H×W×C uint8 → B×C×H×W in [0, 1] on ``like``'s device and dtype."""
    x = torch.from_numpy(np.ascontiguousarray(arr)).permute(0, 3, 1, 2)
    return x.to(device=like.device, dtype=like.dtype) / 255.0


def numpy_uint8_cast(x: torch.Tensor) -> torch.Tensor:
    """0–255 values as NumPy's float → uint8 cast (``astype(np.uint8)``, or assigning floats into
    a uint8 array) makes them on x86-64: truncated toward zero, then wrapped modulo 256
    (−0.7 → 0, −1.5 → 255, 256.7 → 0, 300.3 → 44), NaN and ±inf → 0. No clipping: releases
    that cast without clipping show their out-of-range values wrapped. (NumPy warns 'invalid
    value encountered in cast'; the C conversion goes through a 32-bit integer, so this holds
    for finite values within ±2³¹.)"""
    wrapped = torch.remainder(torch.trunc(x), 256.0)
    return torch.where(torch.isfinite(x), wrapped, torch.zeros_like(wrapped))


def _pillow_l(rgb: np.ndarray) -> np.ndarray:
    return np.asarray(Image.fromarray(rgb, 'RGB').convert('L'), dtype=np.float32)


def _opencv_gray(rgb: np.ndarray) -> np.ndarray:
    # The release read files with cv2.imread(path, 0); for a colour file its gray matches
    # OpenCV's RGB2GRAY weights (see ../shared/data/README.md).
    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY).astype(np.float32)


def _pillow_ycbcr_f(rgb: np.ndarray) -> np.ndarray:
    # scipy.misc.imread(path, flatten=True, mode='YCbCr'): convert('YCbCr'), then 'F', which
    # Pillow reaches through RGB (YCbCr → RGB → F), losing a grey level on some values.
    return np.asarray(Image.fromarray(rgb, 'RGB').convert('YCbCr').convert('F'),
                      dtype=np.float32)


_READERS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    'pillow_l': _pillow_l, 'opencv_gray': _opencv_gray, 'pillow_ycbcr_f': _pillow_ycbcr_f}


def read_gray(x: torch.Tensor, method: str) -> torch.Tensor:
    """A source (B×1 or B×3, [0, 1], 8-bit values) read as gray by a release's library call.

    A 1-channel source is taken as a gray file stored as RGB (TNO, RoadScene IR, as the
    benchmark copies store them); B×1×H×W in [0, 1] (0–255 values /255, possibly fractional for
    ``'pillow_ycbcr_f'`` on colour images).
    """
    if method not in _READERS:
        raise ValueError(f'gray reading must be one of {GRAY_READS}, got {method!r}')
    images = _to_uint8_images(x)
    gray = np.stack([_READERS[method](img) for img in images])
    return torch.from_numpy(gray).to(device=x.device, dtype=x.dtype)[:, None] / 255.0


# ------------------------------------------------------------------ SeAFusion's colour formulas
def seafusion_rgb_to_ycrcb(rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """SeAFusion's ``RGB2YCrCb``: Y = 0.299R + 0.587G + 0.114B, Cr = (R − Y)·0.713 + 0.5,
    Cb = (B − Y)·0.564 + 0.5, each clamped to [0, 1]. Returns (Y, [Cr, Cb])."""
    r, g, b = rgb[:, 0:1], rgb[:, 1:2], rgb[:, 2:3]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cr = (r - y) * 0.713 + 0.5
    cb = (b - y) * 0.564 + 0.5
    return y.clamp(0.0, 1.0), torch.cat([cr, cb], dim=1).clamp(0.0, 1.0)


_SEAFUSION_INVERSE = torch.tensor([[1.0, 1.0, 1.0], [1.403, -0.714, 0.0], [0.0, -0.344, 1.773]])


def seafusion_ycrcb_to_rgb(y: torch.Tensor, crcb: torch.Tensor) -> torch.Tensor:
    """SeAFusion's ``YCbCr2RGB``: ([Y, Cr, Cb] + [0, −½, −½]) @ M as one matrix product (its
    float summation order), clamped to [0, 1]."""
    ycrcb = torch.cat([y, crcb], dim=1)
    b, _, h, w = ycrcb.shape
    flat = ycrcb.permute(0, 2, 3, 1).reshape(-1, 3)
    bias = torch.tensor([0.0, -0.5, -0.5], dtype=flat.dtype, device=flat.device)
    out = (flat + bias).mm(_SEAFUSION_INVERSE.to(flat))
    return out.reshape(b, h, w, 3).permute(0, 3, 1, 2).clamp(0.0, 1.0)


# ------------------------------------------------------------------ OpenCV's YCrCb
def opencv_rgb_to_ycrcb(rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """OpenCV's 8-bit ``cvtColor(…, RGB2YCrCb)`` of an RGB image (B×3, [0, 1], 8-bit values):
    (Y, [Cr, Cb]), each the library's uint8 result /255 (what ``cv2.imread`` then
    ``BGR2YCrCb`` gives a release)."""
    images = _to_uint8_images(rgb)
    ycrcb = np.stack([cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_RGB2YCrCb)
                      for img in images])
    out = _to_tensor_images(ycrcb, rgb)
    return out[:, :1], out[:, 1:]


def opencv_ycrcb_to_rgb(y: torch.Tensor, crcb: torch.Tensor) -> torch.Tensor:
    """OpenCV's 8-bit ``cvtColor(…, YCrCb2RGB)``: Y and [Cr, Cb] (B×1 and B×2 in [0, 1]) are
    rounded to 8 bits, converted by the library's fixed-point formulas (saturated) and
    returned /255."""
    images = _to_uint8_images(torch.cat([y, crcb], dim=1))
    rgb = np.stack([cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_YCrCb2RGB)
                    for img in images])
    return _to_tensor_images(rgb, y)
