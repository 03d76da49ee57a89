"""FADE (Choi, You & Bovik 2015): referenceless perceptual fog density. Lower = less fog.

A port of the LIVE release (``FADE.m``, ``CE.m``) as batched torch: the image is cropped to a
multiple of 8; twelve fog-aware features are computed per 8×8 patch (variance of the MSCN
coefficients, variances of the negative and positive vertical MSCN pair products, mean local σ,
mean coefficient of variation σ/μ, contrast energy of gray / yellow-blue / red-green, patch
entropy, dark channel, saturation, colourfulness), then ``log(1 + f)``. Each patch's distance
to the fog-free and the foggy multivariate Gaussians of the release (``*_ps8.mat``), with
covariance (model Σ + patch feature variance·𝟙)/2, gives D = mean Df / (mean Dff + 1).
The release's NaN rules are kept: variances ignore NaN (N−1; one value → 0, none → NaN) and the
patch means skip NaN distances.

Input: B×3×H×W RGB on the 8-bit scale (uint8 or float holding integers); a 1-channel image is
replicated to 3 channels (its colour features are then 0). Images need at least 16×16 pixels.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Union

import torch

from mmhaze.utils.errors import MissingFileError

from .image_ops import as_float, conv2, fspecial_gaussian, guard_nonfinite, mask_values, rgb_to_gray
from .metric_registry import register_metric
from .statistics import entropy_of_counts, gray_levels

FADE_PATCH = 8
FADE_MIN_SIZE = 16
FADE_MODEL_FILES = ('natural_fogfree_image_features_ps8.mat',
                    'natural_foggy_image_features_ps8.mat')
# Contrast-energy constants of CE.m (Groen et al.'s empirical noise thresholds, ×255).
CE_SIGMA = 3.25
CE_SEMISATURATION = 0.1
CE_THRESHOLDS = (9.225496406318721e-4 * 255, 8.969246659629488e-4 * 255,
                 2.069284034165411e-4 * 255)
CE_BORDER = 10


def load_fade_models(model_dir: Union[str, Path]) -> dict:
    """The two MVG models of the release from ``model_dir`` (a clear error if one is missing)."""
    from scipy.io import loadmat
    model_dir = Path(model_dir)
    out = {}
    for name, prefix in zip(FADE_MODEL_FILES, ('fogfree', 'foggy')):
        path = model_dir / name
        if not path.is_file():
            raise MissingFileError(
                f'FADE model file {path} not found: put the two files {FADE_MODEL_FILES} of the '
                'LIVE FADE release in one folder and pass it as `model_dir` (mmhaze looks in '
                '$MMHAZE_SHARED_DATA/fade by default)')
        mat = loadmat(str(path))
        out[prefix] = (torch.as_tensor(mat[f'mu_{prefix}param'], dtype=torch.float64).view(-1),
                       torch.as_tensor(mat[f'cov_{prefix}param'], dtype=torch.float64))
    return out


def _patches(x: torch.Tensor) -> torch.Tensor:
    """B×H×W → B×P×64 (P = number of 8×8 patches; order does not change D)."""
    b, h, w = x.shape
    p = FADE_PATCH
    return x.reshape(b, h // p, p, w // p, p).permute(0, 1, 3, 2, 4).reshape(b, -1, p * p)


def nanvar(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """MATLAB ``nanvar``: N−1 over the non-NaN entries; one entry → 0, none → NaN."""
    valid = ~torch.isnan(x)
    n = valid.sum(dim, keepdim=True)
    mean = torch.where(valid, x, torch.zeros_like(x)).sum(dim, keepdim=True) / n
    sq = torch.where(valid, (x - mean) ** 2, torch.zeros_like(x)).sum(dim)
    n = n.squeeze(dim)
    var = sq / (n - 1).clamp_min(1)
    return torch.where(n == 0, torch.full_like(var, float('nan')),
                       torch.where(n == 1, torch.zeros_like(var), var))


def _contrast_energy(channel: torch.Tensor, threshold: float) -> torch.Tensor:
    """CE.m for one B×H×W channel: LoG-like responses, border copy, divisive normalisation."""
    x = torch.arange(-3 * CE_SIGMA, 3 * CE_SIGMA + 1e-9, 1.0, dtype=torch.float64)
    x = x[x <= 3 * CE_SIGMA]
    gauss = torch.exp(-x * x / (2 * CE_SIGMA ** 2))
    gauss = gauss / gauss.sum()
    gx = (x * x / CE_SIGMA ** 4 - 1 / CE_SIGMA ** 2) * gauss
    gx = gx - gx.sum() / x.numel()
    gx = (gx / (0.5 * x * x * gx).sum()).to(channel.dtype)
    # border_in: the first/last CE_BORDER rows and columns copied outside (not mirrored).
    c = CE_BORDER
    img = torch.cat([channel[:, :c], channel, channel[:, -c:]], 1)
    img = torch.cat([img[:, :, :c], img, img[:, :, -c:]], 2)[:, None]
    cx = conv2(img, gx[None, :], 'same')
    cy = conv2(img, gx[:, None], 'same')
    resp = torch.sqrt(cx * cx + cy * cy)[:, 0, c:-c, c:-c]
    peak = resp.flatten(1).max(1).values.view(-1, 1, 1)
    normalised = resp * peak / (resp + peak * CE_SEMISATURATION)
    excess = normalised - threshold
    return torch.where(excess > 1e-7, excess, torch.zeros_like(excess))


def fade_features(rgb: torch.Tensor) -> torch.Tensor:
    """The 12 log features per 8×8 patch of B×3×H×W RGB (8-bit scale, cropped), B×P×12."""
    r, g, b = rgb.unbind(1)
    gray = rgb_to_gray(rgb)[:, 0]  # rgb2gray on uint8: rounded
    vmin = torch.minimum(torch.minimum(r, g), b)
    vmax = torch.maximum(torch.maximum(r, g), b)
    dark = vmin / 255
    saturation = torch.where(vmax > 0, (vmax - vmin) / vmax.clamp_min(1e-12),
                             torch.zeros_like(vmax))  # HSV S of rgb2hsv
    # A 2-D convolution on purpose, though the window is separable: on noise-free images
    # (synthetic scenes) the flat regions' MSCN coefficients are rounding noise whose signs
    # decide features 2-3: two passes moved single 64² scenes by up to 0.70 (docs/metrics.md).
    # The numbers stay those of the first implementation (real images agree either way).
    window = fspecial_gaussian(7, 7 / 6, rgb.dtype, rgb.device)
    mu = conv2(gray[:, None], window, 'same', padding='replicate')[:, 0]
    sigma = torch.sqrt((conv2((gray * gray)[:, None], window, 'same', padding='replicate')[:, 0]
                        - mu * mu).abs())
    mscn = (gray - mu) / (sigma + 1)
    cv = sigma / mu  # 0/0 = NaN in black areas, as in the release
    rg = r - g
    by = 0.5 * (r + g) - b

    pair = _patches(mscn * torch.roll(mscn, 1, dims=1))
    nan = torch.full_like(pair, float('nan'))
    ce_inputs = (0.299 * r + 0.587 * g + 0.114 * b, by, rg)
    ce = [_patches(_contrast_energy(ch, t)).mean(-1) for ch, t in zip(ce_inputs, CE_THRESHOLDS)]
    levels = _patches(gray_levels(gray[:, None])[:, 0])
    counts = torch.zeros(*levels.shape[:2], 256, dtype=torch.float64, device=rgb.device)
    counts.scatter_add_(2, levels, torch.ones_like(levels, dtype=torch.float64))
    rg_p, by_p = _patches(rg), _patches(by)
    colourfulness = (torch.sqrt(rg_p.var(-1) + by_p.var(-1))
                     + 0.3 * torch.sqrt(rg_p.mean(-1) ** 2 + by_p.mean(-1) ** 2))
    feats = [
        nanvar(_patches(mscn)),
        nanvar(torch.where(pair < 0, nan, pair)),   # right (positive) pair products
        nanvar(torch.where(pair > 0, nan, pair)),   # left (negative) pair products
        _patches(sigma).mean(-1),
        _patches(cv).mean(-1),
        *ce,
        entropy_of_counts(counts.flatten(0, 1)).view(levels.shape[:2]).to(rgb.dtype),
        _patches(dark).mean(-1),
        _patches(saturation).mean(-1),
        colourfulness,
    ]
    return torch.log(1 + torch.stack(feats, -1))


def _mean_distance(feat: torch.Tensor, patch_var: torch.Tensor, mu: torch.Tensor,
                   cov: torch.Tensor) -> torch.Tensor:
    """nanmean over patches of sqrt(d·M⁻¹·dᵀ), M = (Σ + v·𝟙𝟙ᵀ)/2, d = μ_model − f.

    M is a rank-one update of Σ/2, so Sherman–Morrison gives every patch's solve from one
    factorisation of Σ/2.
    """
    half = cov.to(feat) / 2
    d = mu.to(feat) - feat                                          # B×P×12
    ones = torch.ones(d.shape[-1], dtype=feat.dtype, device=feat.device)
    inv_ones = torch.linalg.solve(half, ones)                       # (Σ/2)⁻¹𝟙
    inv_d = torch.linalg.solve(half, d.reshape(-1, d.shape[-1]).T).T.reshape(d.shape)
    u = patch_var / 2                                               # B×P
    d_inv_d = (d * inv_d).sum(-1)
    d_inv_1 = (d * inv_ones).sum(-1)
    quad = d_inv_d - u * d_inv_1 ** 2 / (1 + u * (ones @ inv_ones))
    return torch.nanmean(torch.sqrt(quad), dim=1)


def _load_fade_parameters(options: dict) -> dict:
    options = dict(options)
    if options.get('models') is None:
        model_dir = options.pop('model_dir', None)
        if model_dir is None:
            from mmhaze.utils import shared_data_dir
            model_dir = shared_data_dir() / 'fade'
        options['models'] = load_fade_models(model_dir)
    options.pop('model_dir', None)
    return options


@register_metric('FADE', kind='no_reference', higher_is_better=False,
                 setup=_load_fade_parameters,
                 convention='LIVE FADE release (Choi et al. 2015), 8×8 patches, RGB 8-bit (gray '
                            'images replicated)')
def fade(image: torch.Tensor, model_dir: Optional[Union[str, Path]] = None,
         models: Optional[dict] = None) -> torch.Tensor:
    """FADE of each image of B×C×H×W (C = 3 RGB or 1), 8-bit scale, shape (B,).

    Give the release's models as ``models`` (from :func:`load_fade_models`) or ``model_dir``
    (default: ``$MMHAZE_SHARED_DATA/fade``). Non-finite images give NaN.
    """
    if models is None:
        if model_dir is None:
            from mmhaze.utils import shared_data_dir
            model_dir = shared_data_dir() / 'fade'
        models = load_fade_models(model_dir)
    x = as_float(image, 'image', torch.float64)
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    elif x.shape[1] != 3:
        raise ValueError(f'FADE needs RGB or 1-channel images, got {x.shape[1]} channels')
    h, w = (s // FADE_PATCH * FADE_PATCH for s in x.shape[-2:])
    if h < FADE_MIN_SIZE or w < FADE_MIN_SIZE:
        raise ValueError(f'FADE needs images of at least {FADE_MIN_SIZE}×{FADE_MIN_SIZE} '
                         f'pixels, got {tuple(x.shape[-2:])}')
    (x,), ok = guard_nonfinite([x[..., :h, :w]])
    feat = fade_features(x)
    patch_var = nanvar(feat, -1)
    d_f = _mean_distance(feat, patch_var, *models['fogfree'])
    d_ff = _mean_distance(feat, patch_var, *models['foggy'])
    return mask_values(d_f / (d_ff + 1), ok)
