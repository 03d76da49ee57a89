"""Release protocols of fusion networks, applied to the model's own predictions.

A published fusion method's numbers come from its network *and* from how its test script read
the sources (gray or Y conversion, 8-bit values, scaling) and saved the result (min–max
stretch, rounding or truncation to 8 bits). mmhaze reproduces a method's published outputs only
when it applies the same steps, so they are objects selected by config, not code in a test
script: ``TwoStageDehazeFuse(protocol='release')`` looks ``'release'`` up in the fuser's
``protocols`` (a class attribute: name → protocol config), and a dict config builds any
registered protocol.

A protocol is used only outside training (prediction, validation, ``mode='tensor'``); training
sees the plain network. Its hooks, all on batched tensors in [0, 1]:

- :meth:`FusionProtocol.split_luma` / :meth:`~FusionProtocol.merge_luma` /
  :meth:`~FusionProtocol.to_gray`: the colour conversion of ``color_mode='ycbcr'`` (fuse Y,
  restore CbCr);
- :meth:`~FusionProtocol.prepare`: the sources as the release's test script fed them;
- :meth:`~FusionProtocol.finish`: the output as the release saved it, per image over its valid
  (un-padded) region, either on the network's output (``apply_to='network'``, before the colour
  is restored) or on the RGB image (``apply_to='rgb'``).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Optional, Union

import kornia
import torch

from mmhaze.registry import MODELS

APPLY_TO = ('network', 'rgb')
STRETCHES = (None, 'minmax', 'max')
ROUNDINGS = (None, 'half_up', 'truncate')
PRECISIONS = {'float32': torch.float32, 'float64': torch.float64}


def valid_region_mask(x: torch.Tensor,
                      sizes: Optional[Sequence[tuple[int, int]]]) -> Optional[torch.Tensor]:
    """B×1×H×W mask of each sample's un-padded ``(h, w)`` top-left region (None: all valid)."""
    if sizes is None:
        return None
    h, w = x.shape[-2:]
    rows = torch.arange(h, device=x.device)[None, :, None]
    cols = torch.arange(w, device=x.device)[None, None, :]
    hs = torch.tensor([s[0] for s in sizes], device=x.device)[:, None, None]
    ws = torch.tensor([s[1] for s in sizes], device=x.device)[:, None, None]
    return ((rows < hs) & (cols < ws))[:, None]


@MODELS.register_module()
class FusionProtocol:
    """The plain protocol: JPEG full-range YCbCr (kornia), sources as given, output clipped.

    Subclasses override the hooks a release does differently.
    """

    apply_to = 'network'
    #: ``finish`` depends on the whole image (a stretch): tiled inference would differ.
    whole_image = False

    def split_luma(self, rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """RGB → (Y, CbCr)."""
        ycbcr = kornia.color.rgb_to_ycbcr(rgb)
        return ycbcr[:, :1], ycbcr[:, 1:]

    def merge_luma(self, y: torch.Tensor, chroma: torch.Tensor) -> torch.Tensor:
        """(Y, CbCr) → RGB, clipped to [0, 1] (unclipped chroma gives colour fringes)."""
        return kornia.color.ycbcr_to_rgb(torch.cat([y, chroma], dim=1)).clamp(0.0, 1.0)

    def to_gray(self, x: torch.Tensor) -> torch.Tensor:
        """A 1-channel version of a source (its Y for 3 channels)."""
        return x if x.shape[1] == 1 else self.split_luma(x)[0]

    def prepare(self, vis: torch.Tensor, ir: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return vis, ir

    def finish(self, fused: torch.Tensor,
               sizes: Optional[Sequence[tuple[int, int]]] = None) -> torch.Tensor:
        return fused.clamp(0.0, 1.0)

    def __repr__(self) -> str:
        return f'{type(self).__name__}()'


@MODELS.register_module()
class PlainProtocol(FusionProtocol):
    """No release convention: the network's output, clipped to [0, 1]."""


@MODELS.register_module()
class ReleaseProtocol(FusionProtocol):
    """A release's test-time conventions, by switches.

    Args:
        source_bits: round every source to this many bits (8: what a test script reading
            8-bit files sees); None keeps the values.
        stretch: the saved image's stretch: ``'minmax'`` (min → 0, max → 255), ``'max'``
            (0 → 0, max → 255, scipy's ``toimage(cmin=0, cmax=max)``) or None.
        rounding: ``'half_up'`` (``uint8(y + 0.5)``), ``'truncate'`` (``uint8(y)``) or None
            (no 8-bit quantisation) of the stretched 0–255 values, after clipping.
        precision: dtype of the stretch arithmetic (``'float64'``: NumPy/MATLAB on a float32
            network output).
        apply_to: ``'network'`` (the fuser's output, before colour is restored) or ``'rgb'``.
    """

    def __init__(self, source_bits: Optional[int] = 8, stretch: Optional[str] = 'minmax',
                 rounding: Optional[str] = 'half_up', precision: str = 'float64',
                 apply_to: str = 'network'):
        if source_bits is not None and not 1 <= int(source_bits) <= 16:
            raise ValueError(f'source_bits must be in 1..16 or None, got {source_bits}')
        if stretch not in STRETCHES:
            raise ValueError(f'stretch must be one of {STRETCHES}, got {stretch!r}')
        if rounding not in ROUNDINGS:
            raise ValueError(f'rounding must be one of {ROUNDINGS}, got {rounding!r}')
        if precision not in PRECISIONS:
            raise ValueError(f'precision must be one of {sorted(PRECISIONS)}, got {precision!r}')
        if apply_to not in APPLY_TO:
            raise ValueError(f'apply_to must be one of {APPLY_TO}, got {apply_to!r}')
        self.source_bits = None if source_bits is None else int(source_bits)
        self.stretch, self.rounding = stretch, rounding
        self.precision, self.apply_to = precision, apply_to
        self.whole_image = stretch is not None

    @property
    def export_tolerance(self) -> Optional[float]:
        """Max |Δ| an ONNX export may show against PyTorch (read by
        :func:`mmhaze.apis.export.model_tolerance`): one 8-bit output level when the output is
        rounded — the stretch runs on the network's float32 output, which onnxruntime computes
        ~1e-7 apart, so a value on a rounding boundary lands one level apart (a few pixels in
        10⁴, reported by the export) — else None (the default 1e-4)."""
        return None if self.rounding is None else 1 / 255 + 1e-6

    def _quantize_source(self, x: torch.Tensor) -> torch.Tensor:
        if self.source_bits is None:
            return x
        levels = 2 ** self.source_bits - 1
        return torch.round(x.clamp(0.0, 1.0) * levels) / levels

    def prepare(self, vis: torch.Tensor, ir: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self._quantize_source(vis), self._quantize_source(ir)

    def finish(self, fused: torch.Tensor,
               sizes: Optional[Sequence[tuple[int, int]]] = None) -> torch.Tensor:
        x = fused.to(PRECISIONS[self.precision])
        if self.stretch is not None:
            mask = valid_region_mask(x, sizes)
            flat = x if mask is None else x.masked_fill(~mask, float('nan'))
            flat = flat.flatten(1)
            hi = flat.nan_to_num(nan=-float('inf')).amax(dim=1)
            lo = (flat.nan_to_num(nan=float('inf')).amin(dim=1) if self.stretch == 'minmax'
                  else torch.zeros_like(hi))
            span = hi - lo
            # A flat image has no range to stretch: scale 1 (255/255), as scipy's bytescale.
            span = torch.where(span > 0, span, torch.full_like(span, 255.0))
            # ((o − min)·255) / (max − min), in this order: the published files were made so.
            x = (x - lo[:, None, None, None]) * 255.0 / span[:, None, None, None]
        else:
            x = x * 255.0
        x = x.clamp(0.0, 255.0)
        if self.rounding == 'half_up':
            x = torch.floor(x + 0.5)
        elif self.rounding == 'truncate':
            x = torch.floor(x)
        return (x / 255.0).to(fused.dtype)

    def __repr__(self) -> str:
        return (f'ReleaseProtocol(source_bits={self.source_bits}, stretch={self.stretch!r}, '
                f'rounding={self.rounding!r}, precision={self.precision!r}, '
                f'apply_to={self.apply_to!r})')


def build_protocol(protocol: Union[str, Mapping, FusionProtocol, None],
                   network: Optional[object] = None,
                   where: str = 'model.protocol') -> FusionProtocol:
    """A protocol from a name the ``network`` declares (its ``protocols``), a config or itself.

    ``'plain'`` (and None) always work; other names must be one of the network's protocols.
    """
    if protocol is None or protocol == 'plain':
        return PlainProtocol()
    if isinstance(protocol, FusionProtocol):
        return protocol
    if isinstance(protocol, str):
        known = dict(getattr(network, 'protocols', None) or {})
        if protocol not in known:
            owner = type(network).__name__ if network is not None else 'the model (no fuser)'
            raise ValueError(f"{where}={protocol!r}: {owner} declares the protocols "
                             f"{sorted(known) + ['plain']}")
        protocol = known[protocol]
    if isinstance(protocol, Mapping):
        built = MODELS.build(dict(protocol))
        if not isinstance(built, FusionProtocol):
            raise TypeError(f'{where}: {type(built).__name__} is not a FusionProtocol')
        return built
    raise TypeError(f'{where} must be a name, a config dict or a FusionProtocol, '
                    f'got {type(protocol).__name__}')
