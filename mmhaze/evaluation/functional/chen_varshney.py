"""Q_CV (Chen & Varshney 2007), as Z. Liu's ``metricChen.m`` and VIFB's ``metricsQcv.m`` compute
it. Lower is better; unbounded (hundreds to thousands on 8-bit images); Q_CV(A, A, A) = 0.

1. every image is min-max normalised and rounded to 0..255 (a constant image becomes 0; the
   MATLAB code divides by zero there);
2. region saliency λ = Σ_block G^α over 16×16 blocks of the Sobel magnitude (``filter2``, zero
   padded) of each source, α = 5;
3. the differences source − fused are filtered by the Mannos–Sakrison CSF in the frequency
   domain (``freqspace`` grid scaled by W/8, H/8) and D = mean over each block of the squared
   real part, blocks zero-padded to 16×16 (``blkproc``: divides by 256);
4. Q_CV = Σ(λA·DA + λB·DB) / Σ(λA + λB); NaN when neither source has an edge.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .compiled import KernelOptions, metric_kernel
from .image_ops import fold_images, minmax_levels, sobel, unfold_values
from .metric_registry import register_metric

QCV_BLOCK = 16
QCV_ALPHA = 5.0


def _block_reduce(x: torch.Tensor, block: int, mean: bool) -> torch.Tensor:
    """Per-block sums (or means over the full zero-padded block) of B×1×H×W, as ``blkproc``."""
    h, w = x.shape[-2:]
    x = F.pad(x, (0, (-w) % block, 0, (-h) % block))
    n, hb, wb = x.shape[0], x.shape[-2] // block, x.shape[-1] // block
    sums = x.reshape(n, hb, block, wb, block).sum((2, 4)).flatten(1)
    return sums / (block * block) if mean else sums


def mannos_sakrison_csf(h: int, w: int, dtype=torch.float64, device=None) -> torch.Tensor:
    """The CSF on MATLAB's ``freqspace([h, w], 'meshgrid')`` grid scaled by (w/8, h/8), H×W."""
    def axis(n: int) -> torch.Tensor:
        return (torch.arange(n, dtype=torch.float64) - n // 2) * 2 / n

    u = axis(w)[None, :] * w / 8
    v = axis(h)[:, None] * h / 8
    r = torch.sqrt(u * u + v * v)
    s = 2.6 * (0.0192 + 0.144 * r) * torch.exp(-(0.144 * r) ** 1.1)
    return s.to(dtype=dtype, device=device)


def _filtered_power(diff: torch.Tensor, csf: torch.Tensor) -> torch.Tensor:
    spectrum = torch.fft.fftshift(torch.fft.fft2(diff), dim=(-2, -1)) * csf
    filtered = torch.fft.ifft2(torch.fft.ifftshift(spectrum, dim=(-2, -1))).real
    return _block_reduce(filtered * filtered, QCV_BLOCK, mean=True)


@metric_kernel
def _qcv_kernel(f: torch.Tensor, a: torch.Tensor, b: torch.Tensor, o: KernelOptions
                ) -> torch.Tensor:
    f, a, b = minmax_levels(f), minmax_levels(a), minmax_levels(b)
    csf = mannos_sakrison_csf(*f.shape[-2:], dtype=f.dtype, device=f.device)
    saliency = []
    for src in (a, b):
        sx, sy = sobel(src, correlate=True)
        saliency.append(_block_reduce(torch.sqrt(sx * sx + sy * sy) ** o.alpha, QCV_BLOCK,
                                      mean=False).double())
    d_a = _filtered_power(a - f, csf).double()
    d_b = _filtered_power(b - f, csf).double()
    num = (saliency[0] * d_a + saliency[1] * d_b).sum(1)
    den = (saliency[0] + saliency[1]).sum(1)
    return num / den


@register_metric('Qcv', higher_is_better=False, convention=(
    'Chen–Varshney vs IR and {vis} (metricChen/VIFB): min-max 0–255, 16×16 blocks, α={alpha:g}, '
    'Mannos–Sakrison CSF'))
def qcv(fused: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor, alpha: float = QCV_ALPHA,
        color: str = 'gray', gray_weights: str = 'matlab') -> torch.Tensor:
    """Q_CV of each image, shape (B,). Lower is better."""
    (f, a, b), ch = fold_images([fused, ir, vis], ['fused', 'ir', 'vis'], color, gray_weights)
    return unfold_values(_qcv_kernel(f, a, b, alpha=float(alpha)), ch)
