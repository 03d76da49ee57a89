"""Small layers shared by the ports of released fusion networks (U2Fusion, DenseFuse, SDNet,
SeAFusion, TarDAL, SAGE, DIDFuse, STDFusionNet, PMGI, CSF, CUFD): TF-style padding and
activations, TF1's batch normalisation, dense concatenation in either order, and the
conv–batch-norm–activation unit of the PyTorch releases."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Optional

import torch
import torch.nn as nn


def reflect_conv(in_channels: int, out_channels: int, kernel_size: int = 3) -> nn.Conv2d:
    """k×k conv, stride 1, every side reflect-padded by k // 2 (TF's ``tf.pad(..., 'REFLECT')``
    then a VALID conv)."""
    return nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2,
                     padding_mode='reflect')


def same_conv(in_channels: int, out_channels: int, kernel_size: int = 3) -> nn.Conv2d:
    """k×k conv, stride 1, zero padding k // 2 (TF's ``padding='SAME'`` for odd k)."""
    return nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2)


def tf_leaky_relu(x: torch.Tensor, negative_slope: float = 0.2) -> torch.Tensor:
    """``max(x, a·x)``: the TF releases' leaky ReLU (equal to PyTorch's for 0 < a < 1)."""
    return torch.maximum(x, negative_slope * x)


def dense_forward(x: torch.Tensor, convs: Iterable[nn.Module],
                  act: Callable[[torch.Tensor], torch.Tensor],
                  new_first: bool) -> torch.Tensor:
    """A dense block: each conv sees everything so far, its activated output is concatenated
    in front of (``new_first``: U2Fusion, DenseFuse) or behind (SeAFusion, SDNet) it."""
    for conv in convs:
        new = act(conv(x))
        x = torch.cat([new, x] if new_first else [x, new], dim=1)
    return x


class ConvNormAct(nn.Module):
    """k×k conv (stride 1, output the input's size), then an optional batch norm, then an
    optional activation module (its parameters, e.g. PReLU's slope, are part of the unit).

    ``padding_mode``: ``'zeros'`` (PyTorch's ``padding=k // 2``) or ``'reflect'`` (a
    ``ReflectionPad2d(k // 2)`` in front of an unpadded conv).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3,
                 norm: bool = True, act: Optional[nn.Module] = None,
                 padding_mode: str = 'zeros'):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2,
                              padding_mode=padding_mode)
        self.norm = nn.BatchNorm2d(out_channels) if norm else nn.Identity()
        self.act = act if act is not None else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.norm(self.conv(x)))


#: ``tf.layers.batch_normalization``'s defaults: ε = 1e-3, moving averages with decay 0.99.
TF_BN_EPS = 1e-3
TF_BN_MOMENTUM = 0.01


class ConvBN(nn.Module):
    """A conv followed by TF1's ``tf.layers.batch_normalization`` (ε = 1e-3; in eval mode the
    moving statistics, as the releases' ``training=False`` test graphs)."""

    def __init__(self, conv: nn.Conv2d):
        super().__init__()
        self.conv = conv
        self.bn = nn.BatchNorm2d(conv.out_channels, eps=TF_BN_EPS, momentum=TF_BN_MOMENTUM)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))
