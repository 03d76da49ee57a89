"""MI (Qu, Zhang & Yan 2002): MI(F;A) + MI(F;B) from 256×256 joint histograms of 8-bit levels.

Conventions (explicit arguments): ``base`` 2 = bits (the MATLAB toolboxes, default) or e = nats
(the CDDFuse-family Python Evaluator, ``sklearn.mutual_info_score``); ``saturate_255``
reproduces Tang's MATLAB toolbox (``Hab.m`` indexes its joint histogram with ``uint8 + 1``, which
saturates, so levels 254 and 255 share a joint bin while the marginals keep them apart);
``minmax`` reproduces VIFB's ``metricsMutinf.m``, which stretches every image to 0..255 first
(``int16((x − min)/(max − min)·255)``) and reports nats.
"""
from __future__ import annotations

import math

import torch

from .image_ops import fold_images, guard_nonfinite, mask_values, minmax_levels, unfold_values
from .metric_registry import register_metric
from .statistics import batched_counts, entropy_of_counts, gray_levels, level_histogram


def joint_histogram(a: torch.Tensor, b: torch.Tensor, bins: int = 256) -> torch.Tensor:
    """(B, bins, bins) joint counts of two B×1×H×W integer-level planes."""
    return batched_counts(a.flatten(1) * bins + b.flatten(1), bins * bins).view(-1, bins, bins)


def _mi_of_levels(f: torch.Tensor, a: torch.Tensor, b: torch.Tensor, base: float,
                  saturate_255: bool) -> torch.Tensor:
    # eager: histograms are faster as bincount than compiled (see batched_counts)
    f, a, b = gray_levels(f), gray_levels(a), gray_levels(b)
    if saturate_255:  # the marginals keep 254 and 255 apart, the joint histograms do not
        joints = [joint_histogram(f.clamp_max(254), s.clamp_max(254)) for s in (a, b)]
        marginals = [level_histogram(x) for x in (f, a, b)]
    else:  # every marginal is a sum of a joint histogram (exact counts): two bincounts, not three
        joints = [joint_histogram(f, s) for s in (a, b)]
        marginals = [joints[0].sum(2), joints[0].sum(1), joints[1].sum(1)]
    h_f, h_a, h_b = (entropy_of_counts(m, base) for m in marginals)
    return ((h_f + h_a - entropy_of_counts(joints[0], base))
            + (h_f + h_b - entropy_of_counts(joints[1], base)))


def log_unit(base: float) -> str:
    """How the tables name the unit of an information measure in log ``base``."""
    if base == 2:
        return 'bits'
    return 'nats' if math.isclose(base, math.e) else f'log base {base:g}'


@register_metric('MI', convention=lambda o: (
    f"MI(F;IR)+MI(F;{o['vis']}) in {log_unit(o['base'])}, 256×256 joint histograms"
    + (', each image min-max stretched to 0..255 (VIFB)' if o['minmax'] else '')
    + (", Tang's uint8 saturation quirk" if o['saturate_255'] else '')))
def mutual_information(fused: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor,
                       base: float = 2.0, saturate_255: bool = False, minmax: bool = False,
                       color: str = 'gray', gray_weights: str = 'matlab') -> torch.Tensor:
    """MI = I(F;IR) + I(F;VIS), I(X;Y) = H(X) + H(Y) − H(X,Y), in log ``base``; shape (B,).

    Inputs are rounded to 8-bit levels first (``minmax``: stretched to 0..255 and rounded).
    MI(A; A, A) = 2·H(A) (without the quirk).
    """
    if base <= 0 or base == 1:
        raise ValueError(f'MI base must be positive and not 1, got {base}')
    planes, ch = fold_images([fused, ir, vis], ['fused', 'ir', 'vis'], color, gray_weights)
    planes, ok = guard_nonfinite(planes)
    if minmax:
        planes = [minmax_levels(p.double()) for p in planes]
    values = _mi_of_levels(*planes, float(base), bool(saturate_255))
    return unfold_values(mask_values(values, ok), ch)


NATS_PER_BIT = math.log(2.0)
