"""Kernels of the blocks' fast inference form (no gradients): fewer passes over the features.

The fast form (:func:`mmhaze.models.utils.set_fused_forms`, switched on by ``mmhaze.apis.speed.
prepare_for_inference``) computes what the reference form computes, in other operation orders:

- :func:`conv2d_fused` — a convolution with its ReLU and/or residual addition done by oneDNN on
  the output tile while it is in cache (``mkldnn::_convolution_pointwise``, the kernel inductor
  uses for frozen graphs), instead of separate passes over the whole map;
- :func:`reflect_conv2d` — a reflect-padded convolution with its epilogue fused;
- :func:`window_rows` / :func:`merge_window_rows` — the windows of a shifted-window attention
  gathered with one cached index (reflect padding and partition in one copy), and scattered back
  (merge and crop in one copy);
- :func:`fold_input_affine` / :func:`fold_output_affine` — a per-channel affine map before or
  after a 1×1 convolution folded into its weights (RescaleNorm's normalisation and its
  ``rescale``/``rebias``), so the normalised map is never written.
- :func:`banded` — a stack of stride-1 "same" layers on a full-resolution map computed in bands
  of rows, each from its rows plus a halo as deep as the stack's reach: of the stack's
  temporaries (padded copies, concatenations, hidden layers) only one band's exist at a time.

Outputs equal the reference form's to float rounding (different summation orders), not bit for
bit. Every kernel falls back to plain PyTorch operations off the CPU, outside float32, or where
oneDNN is missing.
"""
from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Optional, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..utils.padding import pad_amount, reflect_indices, reflect_pad

#: Smallest map (C·H·W elements of one sample) a block runs its fast form on. On smaller maps
#: the fast form's extra small operations (folding weights, per-sample loops)
#: cost more than the passes it saves (measured per DehazeFormer block, 2 threads: up to 1.7×
#: slower at 24×64×64, 0.83–0.9× at 48×240×320 and 24×240×320).
FAST_FORM_MIN_ELEMENTS = 1 << 19


def fast_form_applies(module: nn.Module, x: torch.Tensor,
                      work_channels: Optional[int] = None) -> bool:
    """Whether ``module`` (with ``fast_inference`` set) runs its fast form on ``x`` now: only
    without gradients, autocast, compilation or export (compiled graphs fuse the reference form
    themselves; the fast form folds weights per input, which would defeat frozen weights). A
    block gives the ``work_channels`` of the maps it computes: it then needs maps of at least
    :data:`FAST_FORM_MIN_ELEMENTS` per sample."""
    if work_channels is not None and \
            work_channels * x.shape[-2] * x.shape[-1] < FAST_FORM_MIN_ELEMENTS:
        return False
    return (getattr(module, 'fast_inference', False) and not torch.is_grad_enabled()
            and not torch.is_autocast_enabled(x.device.type)
            and not torch.compiler.is_compiling())


def per_sample(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """``fn`` of a batch, one sample at a time: the fast form folds per-sample statistics into
    convolution weights, so it runs on 1×C×H×W maps."""
    if x.shape[0] == 1:
        return fn(x)
    return torch.cat([fn(sample) for sample in x.split(1)])


def channels_last(x: torch.Tensor) -> torch.Tensor:
    """``x`` in the channels-last layout the fast form keeps (a copy only if it is not)."""
    return x.contiguous(memory_format=torch.channels_last)


def _onednn_fusable(x: torch.Tensor, weight: torch.Tensor) -> bool:
    return (x.device.type == 'cpu' and x.dtype == torch.float32 and weight.dtype == torch.float32
            and torch.backends.mkldnn.is_available() and x.dim() == 4)


def conv2d_fused(x: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor],
                 padding: int | tuple[int, int] = 0, groups: int = 1, relu: bool = False,
                 add: Optional[torch.Tensor] = None, stride: int = 1) -> torch.Tensor:
    """``conv(x)`` [``+ add``] [then ReLU], zero-padded, in one oneDNN kernel on the CPU."""
    pad = [padding, padding] if isinstance(padding, int) else list(padding)
    if _onednn_fusable(x, weight) and (add is None or add.dtype == x.dtype):
        args = (pad, [stride, stride], [1, 1], groups)
        if add is None:
            return torch.ops.mkldnn._convolution_pointwise(
                x, weight, bias, *args, 'relu' if relu else 'none', [], '')
        return torch.ops.mkldnn._convolution_pointwise(
            x, add, weight, bias, *args, 'add', 1.0, 'relu' if relu else None, [], '')
    out = F.conv2d(x, weight, bias, stride, pad, 1, groups)
    if add is not None:
        out = out + add
    return out.relu_() if relu else out


def conv1x1_rows(rows: torch.Tensor, weight: torch.Tensor,
                 bias: Optional[torch.Tensor]) -> torch.Tensor:
    """A 1×1 convolution of the rows of a ... × C tensor (e.g. window tokens) → ... × C_out.
    Run as a convolution of the rows seen as a channels-last image: oneDNN adds the bias
    inside the kernel, where ``F.linear`` first writes the broadcast bias into its output."""
    c = rows.shape[-1]
    image = rows.reshape(1, -1, 1, c).permute(0, 3, 1, 2)  # 1×C×rows×1, channels-last view
    out = conv2d_fused(image, weight, bias)
    return out.permute(0, 2, 3, 1).reshape(*rows.shape[:-1], weight.shape[0])


def reflect_conv2d(x: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor],
                   groups: int = 1, relu: bool = False,
                   add: Optional[torch.Tensor] = None) -> torch.Tensor:
    """A stride-1, odd-kernel, "same" convolution of the reflect-padded ``x`` (the layers'
    ``padding_mode='reflect'``) [``+ add``] [then ReLU] with the epilogue in the convolution.

    (Running it zero-padded and recomputing the border rows and columns from thin
    reflect-padded strips, without the padded copy, measured no faster on IASSF's head at
    480×640 with freed memory retained: 2.84 s against 2.82 s.)
    """
    kh, kw = weight.shape[-2:]
    padded = reflect_pad(x, (kw // 2, kw // 2, kh // 2, kh // 2))
    return conv2d_fused(padded, weight, bias, 0, groups, relu, add)


def reflect_conv_layer(x: torch.Tensor, conv: nn.Conv2d, relu: bool = False,
                       add: Optional[torch.Tensor] = None) -> torch.Tensor:
    """:func:`reflect_conv2d` (or :func:`conv2d_fused`) with the weights of layer ``conv``."""
    if conv.padding_mode == 'reflect' and conv.stride == (1, 1) and conv.dilation == (1, 1):
        return reflect_conv2d(x, conv.weight, conv.bias, conv.groups, relu, add)
    if conv.padding_mode != 'zeros' or conv.dilation != (1, 1) or conv.stride[0] != conv.stride[1]:
        out = conv(x)
        if add is not None:
            out = out + add
        return out.relu_() if relu else out
    return conv2d_fused(x, conv.weight, conv.bias, conv.padding, conv.groups, relu, add,
                        conv.stride[0])


@functools.lru_cache(maxsize=32)
def _window_indices(height: int, width: int, window_size: int, shift: int,
                    device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """(gather, scatter) row indices of one image's shifted windows, see :func:`window_rows`."""
    ws = window_size
    rows = reflect_indices(height, shift, pad_amount(height, ws, shift), torch.device('cpu'))
    cols = reflect_indices(width, shift, pad_amount(width, ws, shift), torch.device('cpu'))
    hp, wp = rows.numel(), cols.numel()
    source = rows[:, None] * width + cols[None, :]  # padded position → source pixel
    gather = source.view(hp // ws, ws, wp // ws, ws).permute(0, 2, 1, 3).reshape(-1)
    # Padded position → its row in the window-major order, read at the un-padded pixels.
    order = torch.arange(hp * wp).view(hp // ws, wp // ws, ws, ws).permute(0, 2, 1, 3)
    scatter = order.reshape(hp, wp)[shift:shift + height, shift:shift + width].reshape(-1)
    return gather.to(device), scatter.to(device)


def window_rows(x: torch.Tensor, window_size: int, shift: int = 0) -> torch.Tensor:
    """The windows of :func:`~.dehazeformer_blocks.shifted_window_attention` of a 1×C×H×W map
    as a windows × window² × C tensor: reflect padding (``shift`` before, up to a multiple of
    the window after) and partition in one gather, from a per-size cached index."""
    _, c, h, w = x.shape
    gather, _ = _window_indices(h, w, window_size, shift, x.device)
    pixels = x.permute(0, 2, 3, 1).reshape(h * w, c)  # a view of a channels-last map
    return pixels.index_select(0, gather).view(-1, window_size * window_size, c)


def merge_window_rows(windows: torch.Tensor, height: int, width: int, window_size: int,
                      shift: int = 0) -> torch.Tensor:
    """Inverse of :func:`window_rows` (merge and crop in one gather): → 1×C×H×W, channels-last."""
    c = windows.shape[-1]
    _, scatter = _window_indices(height, width, window_size, shift, windows.device)
    pixels = windows.reshape(-1, c).index_select(0, scatter)
    return pixels.view(1, height, width, c).permute(0, 3, 1, 2)


def fold_input_affine(conv: nn.Conv2d, scale: torch.Tensor,
                      shift: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Weights and bias of ``conv`` applied to ``x·scale + shift`` (per-channel 1×C×1×1 maps), as
    a convolution of ``x``. Exact for a 1×1 or reflect-padded ``conv`` (padding then holds the
    same affine map of ``x``), not for a zero-padded one."""
    weight = conv.weight * scale.view(1, -1, 1, 1)
    bias = conv.weight.sum(dim=(2, 3)) @ shift.flatten()
    return weight, bias if conv.bias is None else bias + conv.bias


def fold_output_affine(weight: torch.Tensor, bias: Optional[torch.Tensor], scale: torch.Tensor,
                       shift: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Weights and bias of ``conv(x)·scale + shift`` (per-channel 1×C×1×1 maps) as one conv."""
    scale, shift = scale.flatten(), shift.flatten()
    folded_bias = shift if bias is None else bias * scale + shift
    return weight * scale.view(-1, 1, 1, 1), folded_bias


#: Largest widest-map slice (bytes) of one band of :func:`banded` (and of a chunk of windows
#: or rows of HSVF's attention blocks). Bands of this size keep the halo's recomputation small
#: (HSVF's visual decoder at 512 px wide: 56 rows and 2 + 2 halo rows) while the stack's
#: whole-map temporaries (0.2–0.3 GB per network for one 512² tile of HSVF) are gone. HSVF at
#: 512², side by side: 8, 16 and 32 MB bands ran at 0.90–0.97× the time of one band.
BAND_BYTES = 16 << 20

BandOutput = Union[torch.Tensor, tuple[torch.Tensor, ...]]


def items_per_band(item_bytes: int) -> int:
    """How many items (rows, windows) of ``item_bytes`` each a band of
    :data:`BAND_BYTES` holds (at least 1)."""
    return max(1, BAND_BYTES // max(1, item_bytes))


def banded(fn: Callable[..., BandOutput], inputs: Sequence[torch.Tensor], halo: int,
           channels: int, divisors: Optional[Sequence[int]] = None) -> BandOutput:
    """``fn(*inputs)`` computed in bands of output rows, for an ``fn`` of stride-1 layers whose
    output rows depend on input rows at most ``halo`` output rows away (3×3 "same" convolutions:
    1 each), padded at the map's edges by its own rule.

    Each band is computed from its input rows plus ``halo`` rows on each inner side, so every
    row an inner edge's padding reaches is cut off again; at the map's top and bottom ``fn``
    pads the band as it pads the whole map. The outputs equal ``fn(*inputs)``'s to float
    rounding (the same arithmetic per pixel, but convolution kernels may block a band
    differently).

    ``channels``: the widest map ``fn`` computes (what :data:`BAND_BYTES` sizes bands by);
    ``divisors``: output rows per row of each input (default 1; 2 for a half-resolution input
    ``fn`` upsamples ×2 — bands then start at multiples of every divisor). ``fn`` may return a
    tuple of maps; each comes back whole, in the memory format of its bands. A map that fits in
    one band is ``fn(*inputs)`` itself.
    """
    divisors = list(divisors or [1] * len(inputs))
    heights = {x.shape[-2] * d for x, d in zip(inputs, divisors)}
    if len(heights) != 1:
        raise ValueError(f'banded: inputs of {[tuple(x.shape) for x in inputs]} at divisors '
                         f'{divisors} do not give one output height')
    height, width = heights.pop(), inputs[0].shape[-1] * divisors[0]
    unit = math.lcm(*divisors)
    halo = -(-halo // unit) * unit
    rows = items_per_band(width * channels * inputs[0].element_size())
    rows = -(-max(rows, 8 * halo, unit) // unit) * unit
    if rows >= height:
        return fn(*inputs)
    outputs: Optional[list[torch.Tensor]] = None
    for top in range(0, height, rows):
        bottom = min(height, top + rows)
        first, last = max(0, top - halo), min(height, bottom + halo)
        band = fn(*[x[..., first // d:last // d, :] for x, d in zip(inputs, divisors)])
        parts = band if isinstance(band, tuple) else (band,)
        if outputs is None:
            outputs = [_empty_like_rows(p, height) for p in parts]
        for whole, part in zip(outputs, parts):
            whole[..., top:bottom, :] = part[..., top - first:bottom - first, :]
    return tuple(outputs) if isinstance(band, tuple) else outputs[0]


def _empty_like_rows(part: torch.Tensor, height: int) -> torch.Tensor:
    """An uninitialised map like band ``part`` with ``height`` rows (channels-last if it is)."""
    shape = (*part.shape[:-2], height, part.shape[-1])
    layout = (torch.channels_last if part.dim() == 4 and part.shape[1] > 1
              and part.is_contiguous(memory_format=torch.channels_last)
              else torch.contiguous_format)
    return torch.empty(shape, dtype=part.dtype, device=part.device, memory_format=layout)
