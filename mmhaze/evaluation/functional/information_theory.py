"""Information-theory fusion metrics beyond MI: cross entropy, normalised and Tsallis mutual
information, Tsallis entropy, nonlinear correlation information entropy.

All work on 256-bin histograms of 8-bit levels (B×1×H×W planes rounded to 0..255; colour by
``color``), with the sources A = IR, B = VIS and the fused image F:

- ``CE`` (VIFB ``metricsCross_entropy.m``): (D(VIS‖F) + D(IR‖F)) / 2, D(P‖Q) = Σ P·log2(P/Q) over
  the levels where both histograms are non-zero (a relative entropy, called cross entropy);
- ``CE_sigmoid`` (IVIF_ZOO's "CE"): the binary cross-entropy of sigmoid(F) against
  (sigmoid(A) + sigmoid(B))/2 applied to the 0–255 values;
- ``NMI`` (IVIF_ZOO): 2·(I(A;F) + I(B;F)) / (H(A) + H(B)), bits;
- ``TE`` (IVIF_ZOO): T_q(A) + T_q(B) − T_q(F) of the marginal histograms (q = 1: Shannon);
- ``Q_MI``, ``Q_TE``, ``Q_NCIE``: Z. Liu's ``metricMI.m`` (sw 1 and 3) and ``metricWang.m``,
  on images min-max stretched to 0..255 first (``normalize1.m``).
"""
from __future__ import annotations

import math

import torch

from .image_ops import (
    correlations,
    fold_images,
    guard_nonfinite,
    mask_values,
    minmax_levels,
    unfold_values,
)
from .information import joint_histogram
from .metric_registry import register_metric
from .statistics import entropy_of_counts, gray_levels, level_histogram

TSALLIS_FORMS = ('nava', 'cvejic')
NCIE_CORRELATIONS = ('nonlinear', 'pearson')
# Nava's and Cvejic's constants in Z. Liu's metricMI.m
NAVA_Q = 0.43137
CVEJIC_Q = 1.85


def _planes(fused, ir, vis, color, gray_weights):
    return fold_images([fused, ir, vis], ['fused', 'ir', 'vis'], color, gray_weights)


def _probabilities(counts: torch.Tensor) -> torch.Tensor:
    return counts / counts.flatten(1).sum(1).view(-1, *([1] * (counts.dim() - 1)))


def _relative_entropy(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Σ p·log2(p/q) over the bins where both are non-zero, per row."""
    both = (p > 0) & (q > 0)
    safe_p = torch.where(both, p, torch.ones_like(p))
    safe_q = torch.where(both, q, torch.ones_like(q))
    return torch.where(both, p * torch.log2(safe_p / safe_q), torch.zeros_like(p)).sum(1)


@register_metric('CE', higher_is_better=False, convention=(
    "(D({vis}‖F)+D(IR‖F))/2, relative entropy in bits of 256-bin histograms over the levels "
    "both use (VIFB's cross entropy)"))
def cross_entropy(fused: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor, color: str = 'gray',
                  gray_weights: str = 'matlab') -> torch.Tensor:
    """VIFB's CE = (D(VIS‖F) + D(IR‖F)) / 2, D the relative entropy in bits, shape (B,)."""
    planes, ch = _planes(fused, ir, vis, color, gray_weights)
    planes, ok = guard_nonfinite(planes)
    f, a, b = (_probabilities(level_histogram(gray_levels(p))) for p in planes)
    values = (_relative_entropy(b, f) + _relative_entropy(a, f)) / 2
    return unfold_values(mask_values(values, ok), ch)


@register_metric('CE_sigmoid', higher_is_better=False, convention=(
    "BCE(sigmoid(F), (sigmoid(IR)+sigmoid({vis}))/2) of the 0–255 values, clamped to "
    "[1e-7, 1−1e-7] in float32 (IVIF_ZOO's CE)"))
def sigmoid_cross_entropy(fused: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor,
                          color: str = 'gray', gray_weights: str = 'matlab') -> torch.Tensor:
    """IVIF_ZOO's ``CE_function``: mean binary cross-entropy of sigmoid(F) against the mean of
    sigmoid(IR) and sigmoid(VIS), all of the 0–255 values, each clamped to [1e-7, 1 − 1e-7].

    sigmoid saturates (1 − 1e-7 in float32) above a value of about 16, so the value is decided
    by the darkest pixels; computed per pixel in float32 as the reference (the clamp bound
    1 − 1e-7 is a float32 number), summed in float64. Shape (B,).
    """
    (f, a, b), ch = _planes(fused, ir, vis, color, gray_weights)
    eps = 1e-7
    # −(t·max(log p, −100) + (1−t)·max(log(1−p), −100)) in place on float32 copies (the
    # same operations; image-size temporaries cost more than the arithmetic)
    target = (a.to(torch.float32, copy=True).sigmoid_()
              .add_(b.to(torch.float32, copy=True).sigmoid_()).div_(2).clamp_(eps, 1 - eps))
    p = f.to(torch.float32, copy=True).sigmoid_().clamp_(eps, 1 - eps)
    loss = torch.log(p).clamp_min_(-100).mul_(target)
    loss.add_(p.neg_().log1p_().clamp_min_(-100).mul_(target.neg_().add_(1)))
    return unfold_values(loss.flatten(1).mean(1, dtype=torch.float64).neg_(), ch)


def _pair_terms(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Entropies in bits (H(X), H(Y), H(X,Y)) of two integer-level planes."""
    joint = joint_histogram(x, y)
    return (entropy_of_counts(joint.sum(2)), entropy_of_counts(joint.sum(1)),
            entropy_of_counts(joint))


@register_metric('NMI', convention=(
    '2·(MI(F;IR)+MI(F;{vis}))/(H(IR)+H({vis})), bits (IVIF_ZOO)'))
def normalized_mutual_information(fused: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor,
                                  color: str = 'gray', gray_weights: str = 'matlab'
                                  ) -> torch.Tensor:
    """IVIF_ZOO's NMI = 2·(I(A;F) + I(B;F)) / (H(A) + H(B)), shape (B,)."""
    planes, ch = _planes(fused, ir, vis, color, gray_weights)
    planes, ok = guard_nonfinite(planes)
    f, a, b = (gray_levels(p) for p in planes)
    h_a, h_fa, h_af = _pair_terms(a, f)
    h_b, h_fb, h_bf = _pair_terms(b, f)
    mi = (h_a + h_fa - h_af) + (h_b + h_fb - h_bf)
    return unfold_values(mask_values(2 * mi / (h_a + h_b), ok), ch)


def _tsallis_entropy(counts: torch.Tensor, q: float) -> torch.Tensor:
    if q == 1:
        return entropy_of_counts(counts)
    p = _probabilities(counts)
    return (1 - (p ** q).sum(1)) / (q - 1)


@register_metric('TE', convention=lambda o: (
    f"T(IR)+T({o['vis']})−T(F), "
    + ('Shannon entropies in bits (q=1)' if o['q'] == 1 else f"Tsallis entropies q={o['q']:g}")
    + ' of 256-bin histograms (IVIF_ZOO)'))
def tsallis_entropy(fused: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor, q: float = 1.0,
                    color: str = 'gray', gray_weights: str = 'matlab') -> torch.Tensor:
    """IVIF_ZOO's TE = T_q(A) + T_q(B) − T_q(F), T_q(X) = (1 − Σ p^q)/(q − 1) (q = 1: the
    Shannon entropy in bits, which ``eval_torch.py`` uses), shape (B,)."""
    planes, ch = _planes(fused, ir, vis, color, gray_weights)
    planes, ok = guard_nonfinite(planes)
    f, a, b = (_tsallis_entropy(level_histogram(gray_levels(p)), float(q)) for p in planes)
    return unfold_values(mask_values(a + b - f, ok), ch)


@register_metric('Q_MI', convention=(
    "2·[MI(IR;F)/(H(IR)+H(F)) + MI({vis};F)/(H({vis})+H(F))], images min-max stretched to "
    "0..255 (Hossny; Z. Liu's metricMI sw=1)"))
def normalized_mi_hossny(fused: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor,
                         color: str = 'gray', gray_weights: str = 'matlab') -> torch.Tensor:
    """Q_MI = 2·[I(A;F)/(H(A)+H(F)) + I(B;F)/(H(B)+H(F))] (Hossny et al. 2008), shape (B,)."""
    planes, ch = _planes(fused, ir, vis, color, gray_weights)
    planes, ok = guard_nonfinite(planes)
    f, a, b = (minmax_levels(p.double()).long() for p in planes)
    total = torch.zeros(f.shape[0], dtype=torch.float64, device=f.device)
    for s in (a, b):
        h_s, h_f, h_sf = _pair_terms(s, f)
        total = total + (h_s + h_f - h_sf) / (h_s + h_f)
    return unfold_values(mask_values(2 * total, ok), ch)


def _liu_tsallis(x: torch.Tensor, y: torch.Tensor, q: float) -> torch.Tensor:
    """Z. Liu's ``tsallis.m``: (1 − Σ h_ij^q / (m_i n_j)^(q−1)) / (1 − q) over the joint
    histogram h (rows x, columns y), as written: m = the column sums (y's marginal) and
    n = the row sums (x's marginal), indexed by row and column respectively, so the
    marginals are transposed against the textbook p_x(i)·p_y(j); terms with m_i·n_j = 0 skipped.
    """
    h = _probabilities(joint_histogram(x, y))
    m = h.sum(1)  # column sums
    n = h.sum(2)  # row sums
    outer = m[:, :, None] * n[:, None, :]
    used = outer != 0
    safe = torch.where(used, outer, torch.ones_like(outer))
    terms = torch.where(used, h ** q / safe ** (q - 1), torch.zeros_like(h))
    return (1 - terms.flatten(1).sum(1)) / (1 - q)


@register_metric('Q_TE', convention=lambda o: (
    "Nava: (T(IR;F)+T({vis};F))/(H(IR)^q+H({vis})^q+T(IR;{vis})), q=0.43137"
    if o['form'] == 'nava' else 'Cvejic: T(IR;F)+T({vis};F), q=1.85').format(**o)
    + ", Tsallis MI as Z. Liu's tsallis.m, images min-max stretched to 0..255")
def tsallis_mi(fused: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor, form: str = 'nava',
               color: str = 'gray', gray_weights: str = 'matlab') -> torch.Tensor:
    """Q_TE of Liu et al. 2012 (``metricMI.m``): ``form='nava'`` (sw 3, ``fusionAssess.m``'s
    Q_TE) or ``'cvejic'`` (sw 2), on min-max stretched images, shape (B,)."""
    if form not in TSALLIS_FORMS:
        raise ValueError(f'Q_TE form must be one of {TSALLIS_FORMS}, got {form!r}')
    planes, ch = _planes(fused, ir, vis, color, gray_weights)
    planes, ok = guard_nonfinite(planes)
    f, a, b = (minmax_levels(p.double()).long() for p in planes)
    if form == 'cvejic':
        values = _liu_tsallis(a, f, CVEJIC_Q) + _liu_tsallis(b, f, CVEJIC_Q)
    else:
        q = NAVA_Q
        h_a, h_b, _ = _pair_terms(a, b)
        values = ((_liu_tsallis(a, f, q) + _liu_tsallis(b, f, q))
                  / (h_a ** q + h_b ** q + _liu_tsallis(a, b, q)))
    return unfold_values(mask_values(values, ok), ch)


def _nonlinear_correlation(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Z. Liu's ``NCC.m``: H(X) + H(Y) − H(X,Y) in log base 256 of the 256×256 joint histogram."""
    h_x, h_y, h_xy = _pair_terms(x, y)
    return (h_x + h_y - h_xy) / math.log2(256)


def _pearson_correlation(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return correlations([x, y], [(0, 1)], constant_as_zero=False)[0]  # constant: 0/0 = NaN


@register_metric('Q_NCIE', convention=lambda o: (
    "1 + Σ (λ/3)·log256(λ/3), λ the eigenvalues of the 3×3 matrix of "
    + ("nonlinear correlation coefficients (Z. Liu's metricWang/NCC.m, images min-max "
       "stretched to 0..255)" if o['correlation'] == 'nonlinear'
       else "Pearson correlations (IVIF_ZOO's QNCIE)")))
def ncie(fused: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor,
         correlation: str = 'nonlinear', color: str = 'gray', gray_weights: str = 'matlab'
         ) -> torch.Tensor:
    """Q_NCIE (Wang, Shen & Zhang): 1 − H_R with H_R = −Σ (λ_i/3)·log_256(λ_i/3) over the
    eigenvalues of R = [[1, r_AB, r_AF], [r_AB, 1, r_BF], [r_AF, r_BF, 1]], shape (B,).

    ``correlation='nonlinear'``: r = the nonlinear correlation coefficient of Z. Liu's
    ``NCC.m``; ``'pearson'``: IVIF_ZOO's ``QNCIE_function``, which uses the linear (Pearson)
    correlation instead (its 3×3 matrix is float32 there: values agree to ~1e-7).

    Where R is singular (A = B = F under Pearson, or under NCC when the histogram is flat: r = 1,
    λ = 3, 0, 0) the terms of λ = 0 take their limit λ·log λ → 0, so Q_NCIE = 1; rounding may
    return λ ≈ −1e-16, counted as 0. The reference codes do not: IVIF_ZOO's (float32
    eigenvalues of either sign) returns NaN there, Liu's ``metricWang.m`` the complex
    1 + 1.1e-15 − 1.1e-16i (the log of a negative eigenvalue). A constant image has no Pearson
    correlation (0/0): NaN (IVIF_ZOO's code stops in the eigen-solver).
    """
    if correlation not in NCIE_CORRELATIONS:
        raise ValueError(f'Q_NCIE correlation must be one of {NCIE_CORRELATIONS}, '
                         f'got {correlation!r}')
    planes, ch = _planes(fused, ir, vis, color, gray_weights)
    planes, ok = guard_nonfinite(planes)
    if correlation == 'nonlinear':
        f, a, b = (minmax_levels(p.double()).long() for p in planes)
        pair = _nonlinear_correlation
    else:
        f, a, b = planes
        pair = _pearson_correlation
    r_ab, r_af, r_bf = pair(a, b), pair(a, f), pair(b, f)
    ok = ok & r_ab.isfinite() & r_af.isfinite() & r_bf.isfinite()
    r_ab, r_af, r_bf = (torch.nan_to_num(r) for r in (r_ab, r_af, r_bf))  # eigvalsh refuses NaN
    one = torch.ones_like(r_ab)
    matrix = torch.stack([torch.stack([one, r_ab, r_af], -1), torch.stack([r_ab, one, r_bf], -1),
                          torch.stack([r_af, r_bf, one], -1)], -2)
    lam = torch.linalg.eigvalsh(matrix).clamp_min(0) / 3
    h_r = -torch.special.xlogy(lam, lam).sum(1) / math.log(256)  # 0·log 0 = 0
    return unfold_values(mask_values(1 - h_r, ok), ch)
