"""Pure-PyTorch stand-ins for the few ``mmcv.ops`` names mmsegmentation imports unguarded.

``mmcv-lite`` ships the Python files of ``mmcv.ops`` but not the compiled ``mmcv._ext``, and
importing ``mmcv.ops`` then fails. mmsegmentation 1.2.x imports ``point_sample`` and
``sigmoid_focal_loss`` at module level, and ``CrissCrossAttention``, ``PSAMask`` and the deformable
convolutions behind ``try/except ModuleNotFoundError``. :func:`install_fallback_ops` puts a module
in ``sys.modules['mmcv.ops']`` that provides the first two in PyTorch and raises
``ModuleNotFoundError`` for every other name, so mmseg's own guards keep working.
"""
from __future__ import annotations

import importlib.util
import sys
import types
from typing import Optional

import torch
import torch.nn.functional as F

FALLBACK_OPS_NAME = 'mmhaze.utils.compat.mmcv_ops'


def compiled_mmcv_available() -> bool:
    """True when the compiled extension of full mmcv can be found."""
    try:
        return importlib.util.find_spec('mmcv._ext') is not None
    except (ImportError, ValueError):
        return False


def point_sample(input: torch.Tensor, points: torch.Tensor, align_corners: bool = False,
                 **kwargs) -> torch.Tensor:
    """Bilinearly sample ``input`` (N, C, H, W) at ``points`` given in [0, 1] coordinates.

    ``points`` is (N, P, 2) or (N, Hg, Wg, 2), (x, y) order; the result is (N, C, P) or
    (N, C, Hg, Wg). Same contract as ``mmcv.ops.point_sample``.
    """
    squeeze = points.dim() == 3
    if squeeze:
        points = points.unsqueeze(2)
    out = F.grid_sample(input, points * 2.0 - 1.0, align_corners=align_corners, **kwargs)
    return out.squeeze(3) if squeeze else out


def sigmoid_focal_loss(input: torch.Tensor, target: torch.Tensor, gamma: float = 2.0,
                       alpha: float = 0.25, weight: Optional[torch.Tensor] = None,
                       reduction: str = 'mean') -> torch.Tensor:
    """Sigmoid focal loss with mmcv's contract: logits (N, C), class ids (N,) in [0, C].

    A target equal to C (the background id) makes every class a negative. ``weight`` (C,) scales
    each sample's loss by the weight of its target class, as mmcv's kernel does. ``'mean'``
    divides the sum by N (not N·C), also as mmcv does.
    """
    if input.dim() != 2 or target.dim() != 1 or input.size(0) != target.size(0):
        raise ValueError('sigmoid_focal_loss expects input (N, C) and target (N,), got '
                         f'{tuple(input.shape)} and {tuple(target.shape)}')
    if reduction not in ('none', 'mean', 'sum'):
        raise ValueError(f"reduction must be 'none', 'mean' or 'sum', got {reduction!r}")
    num_classes = input.size(1)
    one_hot = F.one_hot(target.long().clamp(0, num_classes), num_classes + 1)[:, :num_classes]
    one_hot = one_hot.to(input.dtype)
    prob = input.sigmoid()
    # Positives: -alpha (1-p)^g log p ; negatives: -(1-alpha) p^g log(1-p).
    pt_complement = one_hot * (1 - prob) + (1 - one_hot) * prob
    alpha_t = one_hot * alpha + (1 - one_hot) * (1 - alpha)
    bce = F.binary_cross_entropy_with_logits(input, one_hot, reduction='none')
    loss = alpha_t * pt_complement.pow(gamma) * bce
    if weight is not None:
        if weight.dim() != 1 or weight.numel() != num_classes:
            raise ValueError(f'weight must have shape ({num_classes},), got {tuple(weight.shape)}')
        padded = torch.cat([weight, weight.new_ones(1)])
        loss = loss * padded[target.long().clamp(0, num_classes)].unsqueeze(1)
    if reduction == 'mean':
        return loss.sum() / input.size(0)
    if reduction == 'sum':
        return loss.sum()
    return loss


_PROVIDED = {'point_sample': point_sample, 'sigmoid_focal_loss': sigmoid_focal_loss}


class _FallbackOpsModule(types.ModuleType):
    """``mmcv.ops`` without compiled ops: two PyTorch ops, a clear error for the rest."""

    def __getattr__(self, name: str):
        if name.startswith('__'):
            raise AttributeError(name)
        # ModuleNotFoundError (not AttributeError) so that `try: from mmcv.ops import X
        # except ModuleNotFoundError` guards in mmseg and mmdet take their fallback path.
        raise ModuleNotFoundError(
            f"mmcv.ops.{name} needs the compiled ops of full mmcv (mmcv._ext), which mmcv-lite "
            f"does not have. mmhaze provides only {sorted(_PROVIDED)} in pure PyTorch. Install "
            f"a full mmcv build matching your torch/CUDA to use {name}.",
            name='mmcv._ext')


def fallback_ops_module() -> Optional[types.ModuleType]:
    """A fresh fallback ``mmcv.ops`` module, or None when compiled mmcv is installed."""
    if compiled_mmcv_available():
        return None
    module = _FallbackOpsModule('mmcv.ops', __doc__)
    module.__dict__.update(_PROVIDED)
    module.__dict__['__all__'] = sorted(_PROVIDED)
    module.__dict__['__mmhaze_fallback__'] = True
    return module


def install_fallback_ops() -> bool:
    """Install the fallback ``mmcv.ops`` now if compiled mmcv is missing. Returns True if it is.

    With full mmcv installed this does nothing: its own ``mmcv.ops`` is used untouched.
    (``import mmhaze`` does not call this: it provides the same module lazily, the first time
    ``mmcv.ops`` is imported.)
    """
    if compiled_mmcv_available():
        return False
    existing = sys.modules.get('mmcv.ops')
    if existing is not None and not isinstance(existing, _FallbackOpsModule):
        return False  # something already imported a working mmcv.ops; leave it alone
    if isinstance(existing, _FallbackOpsModule):
        return True
    import mmcv
    module = fallback_ops_module()
    sys.modules['mmcv.ops'] = module
    mmcv.ops = module
    return True
