"""Q_P (Zhao, Laganière & Liu 2007): phase-congruency feature correlation, as Z. Liu's
``metricZhao.m`` computes it with ``myphasecong3.m`` (P. Kovesi's phase congruency, modified).

Phase congruency (per B×1×H×W plane, in the frequency domain, 4 log-Gabor scales from a
wavelength of 3 px ×2.1, 6 orientations, σ_f/f = 0.55, angular spread π/6/1.2): per orientation
the weighted, noise-thresholded local energy over the summed amplitudes; the noise threshold
comes from the median response of the finest scale (Rayleigh model, k = 2, divided by 1.7);
PC = Σ_o energy / (Σ_o amplitude + 1e-4), and the principal moments M, m of the orientation
covariance. Q_P = P_p·P_M·P_m, each P the mean over the pixels where max(PC_A, PC_B) > 0.1 of the
largest of three local correlation ratios (σ_XF + C)/(√|σ_X²·σ_F²| + C), C = 1e-4, 11×11
Gaussian windows zero-padded 'same', between F's feature map and A's, B's and their per-pixel
maximum (each source masked where its PC > 0.1). 0–255 images; values 0..1, higher is better.
"""
from __future__ import annotations

import math

import torch

from .compiled import KernelOptions, metric_kernel
from .image_ops import filter2, fold_images, fspecial_gaussian, unfold_values
from .metric_registry import register_metric

PC_SCALES = 4
PC_ORIENTATIONS = 6
PC_MIN_WAVELENGTH = 3.0
PC_MULT = 2.1
PC_SIGMA_ON_F = 0.55
PC_D_THETA_ON_SIGMA = 1.2
PC_NOISE_K = 2.0
PC_CUT_OFF = 0.5
PC_G = 10.0
PC_EPSILON = 1e-4
QP_FEATURE_THRESHOLD = 0.1
QP_C = 1e-4


def _centred_range(n: int) -> torch.Tensor:
    """myphasecong3's frequency axis: ±0.5 over n−1 steps (odd n) or [−n/2, n/2)/n (even n)."""
    if n % 2:
        return (torch.arange(n, dtype=torch.float64) - (n - 1) / 2) / (n - 1)
    return (torch.arange(n, dtype=torch.float64) - n // 2) / n


def _lowpass(rows: int, cols: int) -> torch.Tensor:
    """Kovesi's ``lowpassfilter([rows cols], 0.45, 15)``: its own grid (÷ the size) and
    ``fftshift`` (not ``ifftshift``: they differ for odd sizes, as in the original)."""
    x = (torch.arange(cols, dtype=torch.float64) - cols // 2) / cols
    y = (torch.arange(rows, dtype=torch.float64) - rows // 2) / rows
    radius = torch.sqrt(x[None, :] ** 2 + y[:, None] ** 2)
    return torch.fft.fftshift(1 / (1 + (radius / 0.45) ** 30))


def _filter_bank(rows: int, cols: int) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """The radial log-Gabor filters (per scale) and angular spreads (per orientation), in the
    unshifted frequency layout, float64 rows×cols."""
    x = _centred_range(cols)[None, :].expand(rows, cols)
    y = _centred_range(rows)[:, None].expand(rows, cols)
    radius = torch.sqrt(x * x + y * y)
    radius[rows // 2, cols // 2] = 1  # so that log(radius) is finite at 0 frequency
    theta = torch.atan2(-y, x)
    radius, theta = torch.fft.ifftshift(radius), torch.fft.ifftshift(theta)
    lowpass = _lowpass(rows, cols)
    radial = []
    for s in range(PC_SCALES):
        fo = 1 / (PC_MIN_WAVELENGTH * PC_MULT ** s)
        log_gabor = torch.exp(-torch.log(radius / fo) ** 2 / (2 * math.log(PC_SIGMA_ON_F) ** 2))
        log_gabor = log_gabor * lowpass
        log_gabor[0, 0] = 0
        radial.append(log_gabor)
    theta_sigma = math.pi / PC_ORIENTATIONS / PC_D_THETA_ON_SIGMA
    sin_t, cos_t = torch.sin(theta), torch.cos(theta)
    spreads = []
    for o in range(PC_ORIENTATIONS):
        angle = o * math.pi / PC_ORIENTATIONS
        ds = sin_t * math.cos(angle) - cos_t * math.sin(angle)
        dc = cos_t * math.cos(angle) + sin_t * math.sin(angle)
        spreads.append(torch.exp(-torch.atan2(ds, dc) ** 2 / (2 * theta_sigma ** 2)))
    return radial, spreads


def _median(x: torch.Tensor) -> torch.Tensor:
    """MATLAB ``median`` of each row (the mean of the two middle values for an even count)."""
    n = x.shape[1]
    ordered = x.sort(1).values
    return (ordered[:, (n - 1) // 2] + ordered[:, n // 2]) / 2


def phase_congruency(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(PC, M, m) maps of B×1×H×W float64 planes, as ``myphasecong3.m`` with its defaults."""
    rows, cols = x.shape[-2:]
    radial, spreads = _filter_bank(rows, cols)
    radial = [r.to(x.device) for r in radial]
    spreads = [s.to(x.device) for s in spreads]
    image_fft = torch.fft.fft2(x)
    total_energy = torch.zeros_like(x)
    total_amplitude = torch.zeros_like(x)
    cov_x2, cov_y2, cov_xy = torch.zeros_like(x), torch.zeros_like(x), torch.zeros_like(x)
    for o, spread in enumerate(spreads):
        angle = o * math.pi / PC_ORIENTATIONS
        responses, spatial = [], []
        for radial_s in radial:
            filt = radial_s * spread
            spatial.append(torch.fft.ifft2(filt).real * math.sqrt(rows * cols))
            responses.append(torch.fft.ifft2(image_fft * filt))
        amplitudes = [r.abs() for r in responses]
        sum_amplitude = sum(amplitudes)
        sum_even = sum(r.real for r in responses)
        sum_odd = sum(r.imag for r in responses)
        max_amplitude = torch.stack(amplitudes).amax(0)
        x_energy = torch.sqrt(sum_even ** 2 + sum_odd ** 2) + PC_EPSILON
        mean_even, mean_odd = sum_even / x_energy, sum_odd / x_energy
        energy = sum(r.real * mean_even + r.imag * mean_odd
                     - (r.real * mean_odd - r.imag * mean_even).abs() for r in responses)
        # noise: Rayleigh model of the finest scale's median energy
        finest_filter_power = (radial[0] * spread).pow(2).sum()
        mean_e2n = -_median((amplitudes[0] ** 2).flatten(1)) / math.log(0.5)
        noise_power = mean_e2n / finest_filter_power
        sum_an2 = sum(s * s for s in spatial).sum()
        sum_ai_aj = sum(spatial[i] * spatial[j] for i in range(PC_SCALES)
                        for j in range(i + 1, PC_SCALES)).sum()
        tau = torch.sqrt((2 * noise_power * sum_an2 + 4 * noise_power * sum_ai_aj) / 2)
        threshold = (tau * math.sqrt(math.pi / 2)
                     + PC_NOISE_K * torch.sqrt((2 - math.pi / 2) * tau ** 2)) / 1.7
        energy = (energy - threshold.view(-1, 1, 1, 1)).clamp_min(0)
        width = sum_amplitude / (max_amplitude + PC_EPSILON) / PC_SCALES
        weight = 1 / (1 + torch.exp((PC_CUT_OFF - width) * PC_G))
        total_amplitude = total_amplitude + sum_amplitude
        total_energy = total_energy + weight * energy
        pc_o = weight * energy / sum_amplitude
        cov_x, cov_y = pc_o * math.cos(angle), pc_o * math.sin(angle)
        cov_x2 = cov_x2 + cov_x ** 2
        cov_y2 = cov_y2 + cov_y ** 2
        cov_xy = cov_xy + cov_x * cov_y
    pc = total_energy / (total_amplitude + PC_EPSILON)
    cov_x2, cov_y2 = cov_x2 / (PC_ORIENTATIONS / 2), cov_y2 / (PC_ORIENTATIONS / 2)
    cov_xy = cov_xy / PC_ORIENTATIONS
    denom = torch.sqrt(cov_xy ** 2 + (cov_x2 - cov_y2) ** 2) + PC_EPSILON
    return pc, (cov_y2 + cov_x2 + denom) / 2, (cov_y2 + cov_x2 - denom) / 2


def _feature_correlation(feat_a, feat_b, feat_max, feat_f, masks) -> torch.Tensor:
    """``correlation_coeffcient`` of metricZhao.m: per pixel the largest of the three local
    correlation ratios with F (each 0 outside its source's mask), summed over the pixels and
    divided by the size of the max-PC mask."""
    window = fspecial_gaussian(11, 1.5, feat_f.dtype, feat_f.device)

    def smooth(t: torch.Tensor) -> torch.Tensor:
        return filter2(window, t)

    mu_f = smooth(feat_f)
    var_f = smooth(feat_f * feat_f) - mu_f * mu_f
    ratios = []
    for feat, mask in zip((feat_a, feat_b, feat_max), masks):
        feat = mask * feat
        mu = smooth(feat)
        var = smooth(feat * feat) - mu * mu
        cov = smooth(feat * feat_f) - mu * mu_f
        ratio = (cov + QP_C) / (torch.sqrt((var * var_f).abs()) + QP_C)
        ratios.append(torch.where(mask > 0, ratio, torch.zeros_like(ratio)))
    best = torch.stack(ratios).amax(0)
    return best.flatten(1).sum(1) / masks[2].flatten(1).sum(1)


@metric_kernel
def _qp_kernel(f: torch.Tensor, a: torch.Tensor, b: torch.Tensor, o: KernelOptions
               ) -> torch.Tensor:
    features_a, features_b, features_f = (phase_congruency(x) for x in (a, b, f))
    a_stronger = features_a[0] > features_b[0]
    features_max = [torch.where(a_stronger, fa, fb) for fa, fb in zip(features_a, features_b)]
    masks = [(feat[0] > QP_FEATURE_THRESHOLD).to(f.dtype)
             for feat in (features_a, features_b, features_max)]
    value = torch.ones(f.shape[0], dtype=torch.float64, device=f.device)
    for k in range(3):  # PC, then the maximum and minimum moments
        value = value * _feature_correlation(features_a[k], features_b[k], features_max[k],
                                             features_f[k], masks)
    return value


@register_metric('Q_P', convention=(
    "Zhao et al.: product of the PC, M and m feature correlations with IR, {vis} and their "
    "max (Kovesi phase congruency, 4 scales × 6 orientations; Z. Liu's metricZhao.m)"))
def phase_congruency_quality(fused: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor,
                             color: str = 'gray', gray_weights: str = 'matlab'
                             ) -> torch.Tensor:
    """Q_P of Liu et al. 2012 (see the module docstring), computed in float64, shape (B,)."""
    planes, ch = fold_images([fused, ir, vis], ['fused', 'ir', 'vis'], color, gray_weights,
                             dtype=torch.float64)
    return unfold_values(_qp_kernel(*planes), ch)
