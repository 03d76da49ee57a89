"""The switch between a block's training form and its fused inference form.

A block with a fused form declares a boolean class attribute ``fused`` (False: the training
form, which keeps the reference code's operation order bit for bit). Its fused form computes
the same function with fewer passes over memory (PyTorch's fused attention kernel, merged
convolutions, fused multiply-adds): equal to float rounding, not bit for bit. Inference paths
switch whole models with :func:`set_fused_forms`.
"""
from __future__ import annotations

import torch.nn as nn


def has_fused_form(module: nn.Module) -> bool:
    """Whether ``module``'s class declares a fused form (a boolean class attribute ``fused``)."""
    return isinstance(getattr(type(module), 'fused', None), bool)


def set_fused_forms(model: nn.Module, enabled: bool = True) -> int:
    """Switch every block of ``model`` that has a fused form to it (or back to the training
    form); returns how many blocks were switched."""
    count = 0
    for module in model.modules():
        if has_fused_form(module):
            module.fused = enabled
            count += 1
    return count
