"""Feature mutual information (FMI) of Haghighat et al., as their ``fmi.m`` computes it.

FMI (Haghighat, Aghagolzadeh & Seyedarabi 2011; the windowed "fast-FMI" of Haghighat & Razian
2014, the code papers run) compares the fused image F with each source S ∈ {A = IR, B = VIS}
through a feature map (the pixels, the 2-D DCT, a Sobel edge map). Over every w×w window (w = 3)
of the feature maps:

- the windows equal: FMI(S, F) = 1; else each window is min-max stretched to [0, 1] (a constant
  one becomes ones) and read as a distribution over its w² positions (column-major, MATLAB's
  ``X(:)``), with its cumulative distribution;
- the joint distribution is Nelsen's mix of the independent one and the Fréchet bound of the
  correlation's sign (upper for c ≥ 0, lower for c < 0), weighted by c / (the bound's
  correlation), c the Pearson correlation of the two distributions;
- FMI(S, F) = 2·I(S; F) / (H(S) + H(F)) in bits (0 where I = 0);

and the value is the mean over the windows of (FMI(A, F) + FMI(B, F)) / 2.

Every per-window sum runs in ``fmi.m``'s order (its loops, MATLAB's column-first ``sum``), so
the tests ``c == 0``, ``mi == 0`` and the sign of c see the reference's rounding residues (flat
windows make them: a stretched constant window's distribution minus its mean is ±1e-17, not 0);
only the final mean over the windows is summed in another order. Two quirks of the reference are
kept: a negative joint probability (c / bound correlation > 1) enters the joint entropy as
−p·log2|p| (``real`` of the complex log), and the test "B's window equals F's" compares B with
F's *stretched* window whenever A's window differed from F's (``fmi.m`` overwrites F's window in
the A branch).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .image_ops import fold_images, guard_nonfinite, mask_values, require_size, sobel, unfold_values
from .metric_registry import register_metric

FMI_FEATURES = ('pixel', 'dct', 'edge')
MATLAB_EPS = 2.220446049250313e-16
WINDOW_CHUNK = 1 << 14


def dct2(x: torch.Tensor) -> torch.Tensor:
    """MATLAB ``dct2``: the orthonormal 2-D DCT-II of each B×1×H×W plane."""
    return _dct_matrix(x.shape[-2], x) @ x @ _dct_matrix(x.shape[-1], x).T


def _dct_matrix(n: int, like: torch.Tensor) -> torch.Tensor:
    k = torch.arange(n, dtype=torch.float64, device=like.device)
    basis = torch.cos(math.pi * (2 * k[None, :] + 1) * k[:, None] / (2 * n)) * math.sqrt(2 / n)
    basis[0] = math.sqrt(1 / n)
    return basis.to(like.dtype)


def sobel_edges(x: torch.Tensor) -> torch.Tensor:
    """MATLAB ``edge(x)`` with its defaults (Sobel, automatic threshold, thinning) for a double
    image, as the Image Processing Toolbox's ``edge.m`` (R14, revision 5.26.4.5) computes it:
    bx, by = |filter2| of the Sobel derivative / 8 (zero padding), b = bx² + by², threshold
    4·mean of b over the interior, an interior pixel an edge where b exceeds it and is a
    maximum along the dominant gradient direction; the border is never an edge. 0/1 planes.

    On 0–255 integer images every step is exact (multiples of 1/64), so the map does not
    depend on the order of the sums.
    """
    right, down = sobel(x, correlate=True)
    bx, by = right.abs() / 8, down.abs() / 8
    b = bx * bx + by * by
    centre = b[..., 1:-1, 1:-1]
    cutoff = 4 * centre.flatten(1).mean(1).view(-1, 1, 1, 1)
    bxc, byc = bx[..., 1:-1, 1:-1], by[..., 1:-1, 1:-1]
    tolerance = 100 * MATLAB_EPS
    along_x = (bxc >= byc - tolerance) & (b[..., 1:-1, :-2] <= centre) & (centre > b[..., 1:-1, 2:])
    along_y = (byc >= bxc - tolerance) & (b[..., :-2, 1:-1] <= centre) & (centre > b[..., 2:, 1:-1])
    return F.pad(((centre > cutoff) & (along_x | along_y)).to(x.dtype), (1, 1, 1, 1))


def _features(x: torch.Tensor, feature: str) -> torch.Tensor:
    if feature == 'dct':
        return dct2(x)
    if feature == 'edge':
        return sobel_edges(x)
    return x


def _windows(x: torch.Tensor, size: int) -> torch.Tensor:
    """Every size×size window of B×1×H×W planes as a column of (size², B·L), each window read
    column by column (MATLAB's ``sub(:)``)."""
    cols = F.unfold(x, size)  # B × size² × L, row-major within the window
    b, _, n = cols.shape
    cols = cols.view(b, size, size, n).transpose(1, 2).reshape(b, size * size, n)
    return cols.transpose(0, 1).reshape(size * size, b * n)


def _running_sum(x: torch.Tensor) -> torch.Tensor:
    """Σ over the first dim in order, as a MATLAB loop or ``sum`` over a vector adds."""
    total = x[0]
    for k in range(1, x.shape[0]):
        total = total + x[k]
    return total


def _stretch(w: torch.Tensor) -> torch.Tensor:
    lo, hi = w.min(0, keepdim=True).values, w.max(0, keepdim=True).values
    flat = hi == lo
    stretched = (w - lo) / torch.where(flat, torch.ones_like(hi), hi - lo)
    return torch.where(flat, torch.ones_like(w), stretched)


def _distribution(w: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(pdf, cdf) of stretched windows (size², N): ``sub(:)/sum(sum(sub))`` (each column
    summed first) and its running sum."""
    total = _running_sum(torch.stack([_running_sum(w[c * size:(c + 1) * size])
                                      for c in range(size)]))
    pdf = w / total
    cdf = [pdf[0]]
    for k in range(1, pdf.shape[0]):
        cdf.append(pdf[k] + cdf[-1])
    return pdf, torch.stack(cdf)


def _entropy_term(p: torch.Tensor) -> torch.Tensor:
    """−p·log2 p, 0 at p = 0; a negative p gives −p·log2|p| (``real`` of MATLAB's complex log)."""
    nonzero = p != 0
    return torch.where(nonzero, -p * torch.log2(torch.where(nonzero, p.abs(), torch.ones_like(p))),
                       torch.zeros_like(p))


def _joint_order(n: int) -> list[int]:
    """fmi.m's order over the n×n joint cells (F's position i, S's position j as i·n + j): the
    corner, the first column, the first row, then the rest row by row."""
    return ([0] + [i * n for i in range(1, n)] + list(range(1, n))
            + [i * n + j for i in range(1, n) for j in range(1, n)])


def _pair_fmi(source: torch.Tensor, fused: torch.Tensor, size: int) -> torch.Tensor:
    """FMI(S, F) of each window pair (columns of (size², N)), ``fmi.m``'s non-equal branch."""
    n = size * size
    p_s, cdf_s = _distribution(_stretch(source), size)
    p_f, cdf_f = _distribution(_stretch(fused), size)
    dev_s = p_s - _running_sum(p_s) / n
    dev_f = p_f - _running_sum(p_f) / n
    num = _running_sum(dev_s * dev_f)
    den = torch.sqrt(_running_sum(dev_s * dev_s) * _running_sum(dev_f * dev_f))
    nonzero = num != 0
    c = torch.where(nonzero, num / torch.where(nonzero, den, torch.ones_like(den)),
                    torch.zeros_like(num))
    index = torch.arange(1, n + 1, dtype=p_s.dtype, device=p_s.device)[:, None]

    def spread(p):  # population standard deviation of the position index under p
        return torch.sqrt(_running_sum(index ** 2 * p) - _running_sum(index * p) ** 2)

    sd_s, sd_f = spread(p_s), spread(p_f)
    upper = c >= 0
    fc, sc = cdf_f[:, None], cdf_s[None, :]  # cell [i, j]: F's cdf at i, S's at j
    total = fc + sc
    # Fréchet's upper bound min(F, S) for c ≥ 0, lower bound max(F + S − 1, 0) for c < 0, as
    # fmi.m writes them (0.5·(… ± |…|) rounds as the reference rounds)
    bound = torch.where(upper, 0.5 * (total - (fc - sc).abs()),
                        0.5 * (total - 1 + (total - 1).abs()))
    product = (fc * sc).reshape(n * n, -1)
    cov = torch.zeros_like(c)
    for k, cell in enumerate(bound.reshape(n * n, -1)):  # (cov + bound) − product, i-major
        cov = cov + cell - product[k]
    degenerate = (sd_s == 0) | (sd_f == 0) | (upper & (c == 0))
    weight = torch.where(degenerate, torch.zeros_like(c),
                         c / torch.where(degenerate, torch.ones_like(c), cov / (sd_f * sd_s)))
    # each cell's mass of the bound: its 2-D difference, with zeros before the first row/column
    padded = F.pad(bound, (0, 0, 1, 0, 1, 0))
    mass = padded[1:, 1:] - padded[:-1, 1:] - padded[1:, :-1] + padded[:-1, :-1]
    jpdf = weight * mass + (1 - weight) * p_f[:, None] * p_s[None, :]
    joint_entropy = _running_sum(_entropy_term(jpdf).reshape(n * n, -1)[_joint_order(n)])
    h_s, h_f = _running_sum(_entropy_term(p_s)), _running_sum(_entropy_term(p_f))
    mi = h_s + h_f - joint_entropy
    return torch.where(mi == 0, torch.zeros_like(mi), 2 * mi / (h_s + h_f))


def _fmi_map(a: torch.Tensor, b: torch.Tensor, f: torch.Tensor, size: int) -> torch.Tensor:
    """(FMI(A, F) + FMI(B, F)) / 2 of each column of windows."""
    same_af = (a == f).all(0)
    fmi_af = torch.where(same_af, torch.ones_like(f[0]), _pair_fmi(a, f, size))
    # fmi.m compares B with F's window as the A branch left it: stretched unless A equalled F
    f_seen = torch.where(same_af, f, _stretch(f))
    fmi_bf = torch.where((b == f_seen).all(0), torch.ones_like(fmi_af), _pair_fmi(b, f, size))
    return (fmi_af + fmi_bf) / 2


def feature_mutual_information(fused: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor,
                               feature: str = 'pixel', window_size: int = 3,
                               color: str = 'gray', gray_weights: str = 'matlab'
                               ) -> torch.Tensor:
    """FMI of Haghighat's ``fmi.m`` over ``feature`` maps ('pixel': fmi.m's 'none', 'dct',
    'edge'), shape (B,). Images on the 0–255 scale."""
    if feature not in FMI_FEATURES:
        raise ValueError(f'FMI feature must be one of {FMI_FEATURES}, got {feature!r}')
    if window_size < 1 or window_size % 2 == 0:
        raise ValueError(f'FMI window_size must be odd and positive, got {window_size}')
    planes, ch = fold_images([fused, ir, vis], ['fused', 'ir', 'vis'], color, gray_weights)
    require_size(planes[0], max(window_size, 3), max(window_size, 3), f'FMI ({feature})')
    planes, ok = guard_nonfinite([p.double() for p in planes])
    f, a, b = (_windows(_features(p, feature), window_size) for p in planes)
    # chunks of windows bound the memory of the (w², w², chunk) joint tables
    fmi = torch.cat([_fmi_map(*(x[:, k:k + WINDOW_CHUNK].contiguous() for x in (a, b, f)),
                              window_size)
                     for k in range(0, f.shape[1], WINDOW_CHUNK)])
    values = fmi.view(planes[0].shape[0], -1).mean(1)
    return unfold_values(mask_values(values, ok), ch)


def _convention(features: str) -> str:
    return (f"Haghighat's fast-FMI (fmi.m) of {features}, {{window_size}}×{{window_size}} "
            "windows, mean of FMI(IR,F) and FMI({vis},F)")


@register_metric('FMI_pixel', convention=_convention('the pixels'))
def fmi_pixel(fused: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor, window_size: int = 3,
              color: str = 'gray', gray_weights: str = 'matlab') -> torch.Tensor:
    """FMI on the pixels (``fmi(ima, imb, imf, 'none')``), shape (B,)."""
    return feature_mutual_information(fused, ir, vis, 'pixel', window_size, color, gray_weights)


@register_metric('FMI_dct', convention=_convention('the 2-D DCT (MATLAB dct2)'))
def fmi_dct(fused: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor, window_size: int = 3,
            color: str = 'gray', gray_weights: str = 'matlab') -> torch.Tensor:
    """FMI on the whole-image orthonormal DCT (``fmi(ima, imb, imf, 'dct')``), shape (B,)."""
    return feature_mutual_information(fused, ir, vis, 'dct', window_size, color, gray_weights)


@register_metric('FMI_edge', convention=_convention(
    "MATLAB's Sobel edge maps (edge.m defaults, its R14 rule)"))
def fmi_edge(fused: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor, window_size: int = 3,
             color: str = 'gray', gray_weights: str = 'matlab') -> torch.Tensor:
    """FMI on MATLAB ``edge`` maps (``fmi(ima, imb, imf, 'edge')``, also what Tang's toolbox
    reports as "FMI_pixel": it calls fmi.m without a feature), shape (B,)."""
    return feature_mutual_information(fused, ir, vis, 'edge', window_size, color, gray_weights)
