"""SPADE: spatially-adaptive normalisation and a generator conditioned on a semantic map.

Written from the SPADE paper (Park et al., CVPR 2019) and the reference notes
(``shared/reference/hsvf.md`` §3b): a parameter-free normalisation whose per-pixel scale and
shift are predicted from the semantic map, residual blocks of two such normalisations with
spectrally normalised convs, and a generator that starts small and upsamples ×2 between blocks.
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from mmhaze.registry import MODELS

from ..backbones.inference_kernels import banded, fast_form_applies
from ..utils import crop_to

NORMS = ('instance', 'batch')
INTERPOLATIONS = ('bilinear', 'nearest')


class SPADE(nn.Module):
    """``norm(x) · (1 + γ(m)) + β(m)``: γ and β are 3×3 convs of a shared hidden layer (3×3 conv
    + ReLU) of the semantic map ``m`` resized to x; ``norm`` is instance or batch norm without
    affine parameters.

    Args:
        channels: channels of x.
        label_channels: channels of the semantic map (classes, soft or one-hot).
        hidden_channels: width of the shared hidden layer (SPADE: 128).
        norm: ``'instance'`` | ``'batch'``.
        interpolation: how the map is resized: ``'bilinear'`` (soft maps) | ``'nearest'``.
        padding_mode: of the convs (SPADE: ``'zeros'``; ``'reflect'`` avoids dark borders).

    ``fused`` (off by default; inference switches it on with
    :func:`mmhaze.models.utils.set_fused_forms`): γ and β come from one convolution (their
    weights stacked, 1 folded into γ's bias) and the modulation is one fused multiply-add;
    instance norm is computed from the per-channel mean and variance in the input's memory
    format. The same function to float rounding.
    """

    fused = False

    def __init__(self, channels: int, label_channels: int, hidden_channels: int = 128,
                 norm: str = 'instance', interpolation: str = 'bilinear',
                 padding_mode: str = 'zeros'):
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f'norm must be one of {NORMS}, got {norm!r}')
        if interpolation not in INTERPOLATIONS:
            raise ValueError(f'interpolation must be one of {INTERPOLATIONS}, got '
                             f'{interpolation!r}')
        self.norm = (nn.InstanceNorm2d(channels, affine=False) if norm == 'instance'
                     else nn.BatchNorm2d(channels, affine=False))
        conv = dict(kernel_size=3, padding=1, padding_mode=padding_mode)
        self.shared = nn.Sequential(nn.Conv2d(label_channels, hidden_channels, **conv),
                                    nn.ReLU(inplace=True))
        self.gamma = nn.Conv2d(hidden_channels, channels, **conv)
        self.beta = nn.Conv2d(hidden_channels, channels, **conv)
        self.interpolation = interpolation

    def resize_label(self, label: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """The semantic map at ``size`` (as this block resizes it)."""
        if label.shape[-2:] == size:
            return label
        kw = dict(align_corners=False) if self.interpolation == 'bilinear' else {}
        return F.interpolate(label, size=size, mode=self.interpolation, **kw)

    def _gamma_beta_weights(self) -> tuple[torch.Tensor, torch.Tensor]:
        """γ's and β's convolutions as one: stacked weights, γ's bias plus 1."""
        weight = torch.cat([self.gamma.weight, self.beta.weight])
        bias = torch.cat([self.gamma.bias + 1, self.beta.bias])
        if weight.device.type == 'cpu':
            weight = weight.contiguous(memory_format=torch.channels_last)
        return weight, bias

    def _fused_norm(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(self.norm, nn.InstanceNorm2d) or x.dim() != 4:
            return self.norm(x)
        if x.is_contiguous(memory_format=torch.channels_last):
            # A channels-last sample is an (H·W)×C matrix: its column means are one vectorised
            # pass, where var_mean over dims (2, 3) strides (2× slower for the whole norm, same
            # rounding); instance_norm would reorder the map to contiguous and back.
            b, c, h, w = x.shape
            rows = x.permute(0, 2, 3, 1).reshape(b, h * w, c)
            centred = rows - rows.mean(1, keepdim=True)
            rstd = torch.rsqrt((centred * centred).mean(1, keepdim=True) + self.norm.eps)
            # In place only without gradients (autograd keeps `centred` for the variance).
            normed = centred * rstd if torch.is_grad_enabled() else centred.mul_(rstd)
            return normed.view(b, h, w, c).permute(0, 3, 1, 2)
        var, mean = torch.var_mean(x, dim=(2, 3), keepdim=True, correction=0)
        return (x - mean) * torch.rsqrt(var + self.norm.eps)

    def norm_statistics(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Instance norm's per-sample, per-channel mean and 1/std of ``x`` (B×C×1×1 each)."""
        var, mean = torch.var_mean(x, dim=(2, 3), keepdim=True, correction=0)
        return mean, torch.rsqrt(var + self.norm.eps)

    def modulate(self, x: torch.Tensor, label: torch.Tensor, mean: torch.Tensor,
                 rstd: torch.Tensor) -> torch.Tensor:
        """The block's output for instance-norm statistics given (:meth:`norm_statistics` of
        the whole map), so that it can run on a band of ``x``'s rows; ``label`` at x's size."""
        weight, bias = self._gamma_beta_weights()
        gamma, beta = self.gamma._conv_forward(self.shared(label), weight, bias).chunk(2, dim=1)
        return torch.addcmul(beta, (x - mean) * rstd, gamma)

    def forward(self, x: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        hidden = self.shared(self.resize_label(label, x.shape[-2:]))
        if not self.fused:
            return self.norm(x) * (1 + self.gamma(hidden)) + self.beta(hidden)
        weight, bias = self._gamma_beta_weights()
        gamma, beta = self.gamma._conv_forward(hidden, weight, bias).chunk(2, dim=1)
        return torch.addcmul(beta, self._fused_norm(x), gamma)


class SPADEResBlock(nn.Module):
    """SPADE → leaky ReLU → 3×3 conv, twice, plus a shortcut (SPADE → 1×1 conv when the width
    changes); the convs are spectrally normalised (``spectral_norm=True``, as SPADE).

    ``fast_inference`` (off by default; ``set_fused_forms``): without gradients and with
    instance norms, the block runs in two passes over bands of rows
    (:func:`~mmhaze.models.backbones.inference_kernels.banded`), each after the statistics of
    the map it normalises: γ, β and the hidden layers exist one band at a time (HSVF at 512²:
    the generator's peak above the model fell from 589 to 327 MB). The same function to float
    rounding.
    """

    fast_inference = False

    def __init__(self, in_channels: int, out_channels: int, label_channels: int,
                 hidden_channels: int = 128, norm: str = 'instance',
                 interpolation: str = 'bilinear', spectral_norm: bool = True,
                 padding_mode: str = 'zeros'):
        super().__init__()
        sn = nn.utils.spectral_norm if spectral_norm else (lambda m: m)
        middle = min(in_channels, out_channels)
        spade = dict(label_channels=label_channels, hidden_channels=hidden_channels, norm=norm,
                     interpolation=interpolation, padding_mode=padding_mode)
        self.norm_0 = SPADE(in_channels, **spade)
        self.conv_0 = sn(nn.Conv2d(in_channels, middle, 3, padding=1, padding_mode=padding_mode))
        self.norm_1 = SPADE(middle, **spade)
        self.conv_1 = sn(nn.Conv2d(middle, out_channels, 3, padding=1,
                                   padding_mode=padding_mode))
        self.learned_shortcut = in_channels != out_channels
        if self.learned_shortcut:
            self.norm_s = SPADE(in_channels, **spade)
            self.conv_s = sn(nn.Conv2d(in_channels, out_channels, 1, bias=False))

    def forward(self, x: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        # Every SPADE of the block works at x's size: resize the map once for all of them
        # (the same numbers as resizing it in each).
        label = self.norm_0.resize_label(label, x.shape[-2:])
        if fast_form_applies(self, x) and all(  # per-image statistics only
                isinstance(spade.norm, nn.InstanceNorm2d) and not spade.norm.track_running_stats
                for spade in self._spades()):
            return self._forward_banded(x, label)
        shortcut = self.conv_s(self.norm_s(x, label)) if self.learned_shortcut else x
        dx = self.conv_0(F.leaky_relu(self.norm_0(x, label), 0.2))
        dx = self.conv_1(F.leaky_relu(self.norm_1(dx, label), 0.2))
        return shortcut + dx

    def _spades(self) -> list[SPADE]:
        return [self.norm_0, self.norm_1] + ([self.norm_s] if self.learned_shortcut else [])

    def _forward_banded(self, x: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        # Reach of a pass: SPADE's two 3×3 convolutions of the map, then the block's 3×3 one.
        halo = 3
        widest = max(2 * x.shape[1], self.norm_0.shared[0].out_channels)
        x_stats = self.norm_0.norm_statistics(x)

        def first(x: torch.Tensor, label: torch.Tensor) -> tuple[torch.Tensor, ...]:
            dx = self.conv_0(F.leaky_relu(self.norm_0.modulate(x, label, *x_stats), 0.2))
            if not self.learned_shortcut:
                return (dx,)
            return dx, self.conv_s(self.norm_s.modulate(x, label, *x_stats))

        dx, *shortcut = banded(first, [x, label], halo, widest)
        shortcut = shortcut[0] if shortcut else x
        dx_stats = self.norm_1.norm_statistics(dx)

        def second(dx: torch.Tensor, label: torch.Tensor, shortcut: torch.Tensor
                   ) -> torch.Tensor:
            return shortcut + self.conv_1(
                F.leaky_relu(self.norm_1.modulate(dx, label, *dx_stats), 0.2))

        return banded(second, [dx, label, shortcut], halo, widest)


@MODELS.register_module()
class SPADEGenerator(BaseModule):
    """A SPADE generator: a semantic map (and optionally a feature map) → an image in [-1, 1].

    With ``U = num_upsamples``, the generator starts at 1/2^U of the output size: a 3×3 conv of
    the input features (``in_channels > 0``, e.g. a content code) or, as SPADE itself, of the
    semantic map resized there; a head block at ``base·2^(U−1)`` channels; ×2 upsampling;
    ``num_middle_blocks`` blocks; then ``U − 1`` times ×2 upsampling and a block halving the
    width; leaky ReLU, a 3×3 conv to ``out_channels`` and tanh. Every block is a
    :class:`SPADEResBlock` modulated by the semantic map. SPADE's own generator is ``U = 5``,
    ``base_channels = 64`` (16·64 = 1024 channels at the start, about 90 M parameters).

    Args:
        label_channels: channels of the semantic map (HSVF fills in its number of classes).
        in_channels: channels of the input features (0: start from the semantic map).
        out_channels: image channels.
        base_channels: width of the last block (SPADE's ngf).
        num_upsamples: U.
        num_middle_blocks: blocks after the first upsampling (SPADE: 2).
        hidden_channels: SPADE hidden width (SPADE: 128).
        max_channels: width cap.
        norm / interpolation / spectral_norm / padding_mode: see :class:`SPADE` and
            :class:`SPADEResBlock`.
    """

    fast_inference = False  # the last convolution in bands of rows (see SPADEResBlock)
    tile_exact = False
    tile_inexact_reason = 'instance normalisation (feature mean and std per image)'

    def __init__(self, label_channels: Optional[int] = None, in_channels: int = 0,
                 out_channels: int = 3, base_channels: int = 64, num_upsamples: int = 2,
                 num_middle_blocks: int = 2, hidden_channels: int = 128,
                 max_channels: int = 1024, norm: str = 'instance',
                 interpolation: str = 'bilinear', spectral_norm: bool = True,
                 padding_mode: str = 'zeros', init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if label_channels is None:
            raise ValueError('SPADEGenerator needs label_channels (HSVF sets it from '
                             'model.classes)')
        if num_upsamples < 1:
            raise ValueError(f'num_upsamples must be >= 1, got {num_upsamples}')
        self.num_upsamples = num_upsamples
        self.in_channels = in_channels

        def width(level: int) -> int:  # level 0: the last (full-resolution) block
            return min(base_channels * 2 ** level, max_channels)

        block = dict(label_channels=label_channels, hidden_channels=hidden_channels, norm=norm,
                     interpolation=interpolation, spectral_norm=spectral_norm,
                     padding_mode=padding_mode)
        top = width(num_upsamples - 1)
        conv = dict(kernel_size=3, padding=1, padding_mode=padding_mode)
        self.fc = nn.Conv2d(in_channels if in_channels > 0 else label_channels, top, **conv)
        self.head = SPADEResBlock(top, top, **block)
        self.middle = nn.ModuleList(SPADEResBlock(top, top, **block)
                                    for _ in range(num_middle_blocks))
        self.ups = nn.ModuleList(
            SPADEResBlock(width(level + 1), width(level), **block)
            for level in reversed(range(num_upsamples - 1)))
        self.conv_img = nn.Conv2d(width(0), out_channels, **conv)

    def forward(self, label: torch.Tensor, features: Optional[torch.Tensor] = None,
                size: Optional[tuple[int, int]] = None) -> torch.Tensor:
        """``label``: B×K×h×w semantic map (any size); ``features``: B×C×h'×w' input features
        (required when ``in_channels > 0``); ``size``: output size (default: the label's)."""
        size = tuple(size or label.shape[-2:])
        scale = 2 ** self.num_upsamples
        start = (-(-size[0] // scale), -(-size[1] // scale))
        source = features if self.in_channels > 0 else label
        if source is None:
            raise ValueError('SPADEGenerator with in_channels > 0 needs input features')
        if source.shape[-2:] != start:
            source = F.interpolate(source, size=start, mode='bilinear', align_corners=False)
        x = self.head(self.fc(source), label)
        x = F.interpolate(x, scale_factor=2, mode='nearest')
        for block in self.middle:
            x = block(x, label)
        for block in self.ups:
            x = block(F.interpolate(x, scale_factor=2, mode='nearest'), label)
        if fast_form_applies(self, x):
            out = banded(self._to_image, [x], 1, x.shape[1])
        else:
            out = self._to_image(x)
        return crop_to(torch.tanh(out), size)

    def _to_image(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_img(F.leaky_relu(x, 0.2))
