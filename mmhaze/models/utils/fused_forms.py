"""The switch between a block's training form and its fused inference form.

A block with a fused form declares a boolean class attribute (False: the training form, which
keeps the reference code's operation order bit for bit): ``fused`` for a form that also trains
(PyTorch's fused attention kernel, SPADE's merged convolutions), ``fast_inference`` for one
that runs only without gradients (the folded norms and fused epilogues of
:mod:`mmhaze.models.backbones.inference_kernels`). Either computes the same function with
fewer passes over memory: equal to float rounding, not bit for bit. Inference paths switch
whole models with :func:`set_fused_forms`.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

import torch
import torch.nn as nn

FUSED_FORM_SWITCHES = ('fused', 'fast_inference')


def has_fused_form(module: nn.Module, switches: Sequence[str] = FUSED_FORM_SWITCHES) -> bool:
    """Whether ``module``'s class declares one of ``switches`` (a boolean class attribute)."""
    return any(isinstance(getattr(type(module), s, None), bool) for s in switches)


def set_fused_forms(model: nn.Module, enabled: bool = True,
                    switches: Sequence[str] = FUSED_FORM_SWITCHES) -> int:
    """Switch every block of ``model`` that has a fused form (of the kinds ``switches`` names)
    to it, or back to the training form; returns how many blocks were switched."""
    count = 0
    for module in model.modules():
        declared = [s for s in switches if isinstance(getattr(type(module), s, None), bool)]
        for switch in declared:
            setattr(module, switch, enabled)
        count += bool(declared)
    return count


# ------------------------------------------------------------------ batch norm folded into conv
def _folding_active(norm: nn.BatchNorm2d) -> bool:
    # Folding uses the running statistics: only an eval-mode norm without gradients qualifies.
    return not norm.training and not torch.is_grad_enabled()


class BatchNormFoldedIntoConv(nn.BatchNorm2d):
    """A batch norm whose eval-mode map is applied by the convolution before it (identity then);
    in training or with gradients, a plain batch norm. Same parameters, buffers and keys."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x if _folding_active(self) else super().forward(x)


class ConvWithFoldedBatchNorm(nn.Conv2d):
    """A convolution that, while its following batch norm is folded, computes ``norm(conv(x))``
    as one convolution: weights scaled by γ/√(σ²+ε), bias ``(b − μ)·γ/√(σ²+ε) + β``. The folded
    weights are cached until a weight or statistic changes (loading a checkpoint copies into the
    tensors in place, which bumps their versions), so keys and loading are unchanged."""

    folded_norm: BatchNormFoldedIntoConv
    _folded_cache: Optional[tuple[tuple, torch.Tensor, torch.Tensor]]

    def _folded_weights(self) -> tuple[torch.Tensor, torch.Tensor]:
        norm = self.folded_norm
        tensors = [self.weight, self.bias, norm.weight, norm.bias, norm.running_mean,
                   norm.running_var]
        # Compiled graphs fold the weights themselves (no Python-side cache inside a graph).
        key = None if torch.compiler.is_compiling() else tuple(
            (t.data_ptr(), t._version) if t is not None else None for t in tensors)
        if key is None or self._folded_cache is None or self._folded_cache[0] != key:
            scale = (norm.weight if norm.affine else torch.ones_like(norm.running_var)) \
                * torch.rsqrt(norm.running_var + norm.eps)
            weight = self.weight * scale.reshape(-1, 1, 1, 1)
            if self.weight.is_contiguous(memory_format=torch.channels_last):
                weight = weight.contiguous(memory_format=torch.channels_last)
            bias = -norm.running_mean if self.bias is None else self.bias - norm.running_mean
            bias = bias * scale + (norm.bias if norm.affine else 0)
            if key is None:
                return weight, bias
            self._folded_cache = (key, weight, bias)
        return self._folded_cache[1], self._folded_cache[2]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not _folding_active(self.folded_norm):
            return super().forward(x)
        return self._conv_forward(x, *self._folded_weights())


def _conv_norm_pairs(model: nn.Module) -> list[tuple[nn.Conv2d, nn.BatchNorm2d]]:
    """(conv, batch norm) pairs where the norm directly follows the conv in the forward pass:
    neighbours in an ``nn.Sequential``, and the ``conv{k}`` → ``norm{k}`` attributes of
    OpenMMLab's residual blocks and stems (mmseg's ResNet blocks and HRNet, whose forward passes
    apply ``norm{k}`` to the output of ``conv{k}``)."""
    pairs = []
    for module in model.modules():
        if isinstance(module, nn.Sequential):
            children = list(module.children())
            pairs += list(zip(children, children[1:]))
        elif type(module).__module__.startswith(('mmseg.', 'mmcv.', 'mmdet.', 'mmpretrain.')):
            for k in (1, 2, 3):
                norm_name = getattr(module, f'norm{k}_name', None)
                if isinstance(norm_name, str):
                    pairs.append((getattr(module, f'conv{k}', None),
                                  getattr(module, norm_name, None)))
    # Exact types only: a subclass may do more in its forward than the folded form knows.
    return [(c, n) for c, n in pairs
            if type(c) is nn.Conv2d and type(n) is nn.BatchNorm2d and n.track_running_stats
            and c.out_channels == n.num_features and c.padding_mode == 'zeros']


def fold_batch_norms(model: nn.Module) -> int:
    """Fold every batch norm that directly follows a convolution into it for eval-mode,
    no-gradient forwards (see :class:`ConvWithFoldedBatchNorm`); returns how many. Training and
    forwards with gradients are unchanged, as are the state-dict keys."""
    pairs = _conv_norm_pairs(model)
    for conv, norm in pairs:
        conv.__class__ = ConvWithFoldedBatchNorm
        norm.__class__ = BatchNormFoldedIntoConv
        # Not a submodule: the norm keeps its place (and its keys) in the model.
        object.__setattr__(conv, 'folded_norm', norm)
        object.__setattr__(conv, '_folded_cache', None)
    return len(pairs)


def bake_folded_batch_norms(model: nn.Module) -> int:
    """Write each folded (conv, batch norm) pair of :func:`fold_batch_norms` into the
    convolution for good and replace the norm with an identity; returns how many.

    For a model that will only predict from now on (an inferencer that built it from a
    config): the folded weights then replace the convolution's own instead of being kept
    beside them (HSVF's HRNet encoders: 77 MB). The forward computes the same numbers as the
    cached folded form; training, ``load_state_dict`` and state-dict keys no longer match the
    config's model.
    """
    convs = [m for m in model.modules() if isinstance(m, ConvWithFoldedBatchNorm)]
    norms = {id(conv.folded_norm) for conv in convs}
    with torch.no_grad():
        for conv in convs:
            weight, bias = conv._folded_weights()  # the running statistics, as in eval
            conv.weight.data = weight
            if conv.bias is None:
                conv.bias = nn.Parameter(bias, requires_grad=conv.weight.requires_grad)
            else:
                conv.bias.data = bias
            del conv.folded_norm, conv._folded_cache
            conv.__class__ = nn.Conv2d
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if id(child) in norms:
                setattr(module, name, nn.Identity())
    return len(convs)
