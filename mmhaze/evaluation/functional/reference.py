"""Full-reference image quality: PSNR and SSIM of a prediction against a reference.

Conventions (the defaults are printed in the result tables):

- images are B×C×H×W floats in [0, ``data_range``]; RGB is evaluated per channel and averaged;
- ``quantize=True`` first rounds both to 8 bits (``round(x·255)/255``), i.e. evaluates what a
  saved PNG holds, so ``tools/test.py`` and ``eval_folder.py`` on its PNGs agree;
- PSNR = 10·log10(data_range² / MSE) over all pixels and channels of an image, capped at
  100 dB for identical images (MSE clamped at 1e-10 · data_range²);
- SSIM is Wang et al. 2004 as their MATLAB ``ssim_index``: 11×11 Gaussian window σ = 1.5
  (normalised), K1 = 0.01, K2 = 0.03, 'valid' filtering (no padding), mean over the SSIM map,
  then over channels. No down-sampling (DehazeFormer's protocol down-samples; not done here).

Both compute in float64 after the quantisation (in the input's dtype), as the first version
did: float32 local moments move SSIM by up to 1e-5 on 480×640 scenes with flat regions. The
window is applied separably (two 1-D passes), compiled where :mod:`.compiled` allows.
"""
from __future__ import annotations

import torch

from .compiled import KernelOptions, metric_kernel
from .image_ops import local_moments, normalised_gaussian, separable_filter_valid
from .metric_registry import register_metric

PSNR_CAP_DB = 100.0


def _check_pair(pred: torch.Tensor, ref: torch.Tensor) -> None:
    if pred.shape != ref.shape:
        raise ValueError(f'prediction {tuple(pred.shape)} and reference {tuple(ref.shape)} '
                         'differ in shape')
    if pred.dim() != 4:
        raise ValueError(f'expected B×C×H×W tensors, got {pred.dim()} dimensions')


def quantize_8bit(x: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Round to the 256 levels of an 8-bit image (what a PNG stores)."""
    return torch.round(x.clamp(0, data_range) / data_range * 255.0) / 255.0 * data_range


@metric_kernel
def _psnr_kernel(pred: torch.Tensor, ref: torch.Tensor, o: KernelOptions) -> torch.Tensor:
    data_range = o.data_range
    if o.quantize:
        pred, ref = quantize_8bit(pred, data_range), quantize_8bit(ref, data_range)
    mse = (pred.double() - ref.double()).pow(2).flatten(1).mean(1)
    mse = mse.clamp_min(data_range ** 2 * 10 ** (-PSNR_CAP_DB / 10))
    return 10 * torch.log10(data_range ** 2 / mse)


@register_metric('PSNR_ref', kind='reference', convention=lambda o: (
    f"{o['pred_key']} vs {o['ref_key']}, RGB, [0,1] "
    f"{'8-bit quantised' if o['quantize'] else 'float'}, capped at 100 dB"))
def psnr(pred: torch.Tensor, ref: torch.Tensor, data_range: float = 1.0,
         quantize: bool = True) -> torch.Tensor:
    """Per-image PSNR in dB, shape (B,)."""
    _check_pair(pred, ref)
    return _psnr_kernel(pred, ref, data_range=float(data_range),
                        quantize=bool(quantize))


def gaussian_window(size: int = 11, sigma: float = 1.5, dtype=torch.float64,
                    device=None) -> torch.Tensor:
    """MATLAB ``fspecial('gaussian', size, sigma)``: size×size, sums to 1."""
    g = torch.tensor(normalised_gaussian(size, sigma), dtype=torch.float64)
    return torch.outer(g, g).to(dtype=dtype, device=device)


@metric_kernel
def _ssim_kernel(pred: torch.Tensor, ref: torch.Tensor, o: KernelOptions) -> torch.Tensor:
    data_range = o.data_range
    if o.quantize:
        pred, ref = quantize_8bit(pred, data_range), quantize_8bit(ref, data_range)
    taps = normalised_gaussian(o.win_size, o.sigma)
    mu_x, mu_y, exx, eyy, exy = local_moments(
        pred.double(), ref.double(), lambda t: separable_filter_valid(t, taps))
    sxx = exx - mu_x * mu_x
    syy = eyy - mu_y * mu_y
    sxy = exy - mu_x * mu_y
    c1, c2 = (o.k1 * data_range) ** 2, (o.k2 * data_range) ** 2
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * sxy + c2)) / (
        (mu_x * mu_x + mu_y * mu_y + c1) * (sxx + syy + c2))
    return ssim_map.flatten(1).mean(1)


@register_metric('SSIM_ref', kind='reference', convention=lambda o: (
    f"{o['pred_key']} vs {o['ref_key']}, RGB channel mean, [0,1] "
    f"{'8-bit quantised' if o['quantize'] else 'float'}, Gaussian {o['win_size']}×{o['win_size']} "
    f"σ={o['sigma']:g}, valid window (Wang et al. 2004)"))
def ssim(pred: torch.Tensor, ref: torch.Tensor, data_range: float = 1.0, quantize: bool = True,
         win_size: int = 11, sigma: float = 1.5, k1: float = 0.01,
         k2: float = 0.03) -> torch.Tensor:
    """Per-image SSIM (mean over the 'valid' SSIM map and the channels), shape (B,)."""
    _check_pair(pred, ref)
    if min(pred.shape[-2:]) < win_size:
        raise ValueError(f'SSIM needs images of at least {win_size}×{win_size}, got '
                         f'{tuple(pred.shape[-2:])}')
    values = _ssim_kernel(pred, ref, data_range=float(data_range), quantize=bool(quantize),
                          win_size=int(win_size), sigma=float(sigma), k1=float(k1), k2=float(k2))
    return values
