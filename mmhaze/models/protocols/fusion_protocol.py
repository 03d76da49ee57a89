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
- :meth:`~FusionProtocol.read`: the whole reading step — the sources (RGB VIS, IR) as the
  network gets them for a ``color_mode`` plus the visible chroma to restore; by default
  ``split_luma``/``to_gray`` then ``prepare``;
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

from .reading import (
    GRAY_READS,
    numpy_uint8_cast,
    opencv_ycrcb_chroma,
    opencv_ycrcb_to_rgb,
    quantize,
    read_gray,
    seafusion_rgb_to_ycrcb,
    seafusion_ycrcb_to_rgb,
)

APPLY_TO = ('network', 'rgb')
STRETCHES = (None, 'minmax', 'max')
#: ``'uint8_cast'``: NumPy's float → uint8 cast, no clipping (negative values wrap to 255 …).
ROUNDINGS = (None, 'half_up', 'truncate', 'uint8_cast')
#: The stretch's float arithmetic: ``'divide'`` ``(o − min)·255 / (max − min)`` (U2Fusion's
#: release), ``'normalize'`` ``(o − min) / (max − min) · 255`` (SeAFusion's ``tensor2img``),
#: ``'bytescale'`` ``(o − min) · s`` with ``s = 255 / (max − min)`` rounded to the data's
#: float type first (scipy's ``bytescale``/``imsave`` of the TF1 era).
STRETCH_FORMS = ('divide', 'normalize', 'bytescale')
LUMAS = ('jpeg', 'seafusion')
#: Where the restored colour comes from, if not from ``luma``'s formulas.
CHROMAS = (None, 'opencv_ycrcb')
VIS_READS = (None, 'rgb') + GRAY_READS
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

    def read(self, vis: torch.Tensor, ir: torch.Tensor, color_mode: str = 'ycbcr'
             ) -> tuple[torch.Tensor, torch.Tensor, Optional[torch.Tensor]]:
        """(visible input, IR input, visible chroma or None) of the fuser, from the RGB (or
        1-channel) visible image and the IR in [0, 1]. ``'ycbcr'``: the visible Y and a gray
        IR; ``'rgb'``: both as images with the visible image's channels."""
        chroma = None
        if color_mode == 'ycbcr':
            vis_in = vis
            if vis.shape[1] == 3:
                vis_in, chroma = self.split_luma(vis)
            ir_in = self.to_gray(ir)
        else:
            vis_in, ir_in = vis, match_channels(ir, vis.shape[1])
        vis_in, ir_in = self.prepare(vis_in, ir_in)
        return vis_in, ir_in, chroma

    def finish(self, fused: torch.Tensor,
               sizes: Optional[Sequence[tuple[int, int]]] = None) -> torch.Tensor:
        return fused.clamp(0.0, 1.0)

    def __repr__(self) -> str:
        return f'{type(self).__name__}()'


def match_channels(x: torch.Tensor, channels: int) -> torch.Tensor:
    """A 1-channel image broadcast to ``channels`` (others unchanged)."""
    return x.expand(-1, channels, -1, -1) if x.shape[1] == 1 and channels != 1 else x


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
            (no 8-bit quantisation) of the stretched 0–255 values, after clipping; or
            ``'uint8_cast'``: NumPy's ``astype(np.uint8)`` without clipping (truncation toward
            zero, out-of-range values wrapped modulo 256, :func:`~.reading.numpy_uint8_cast`).
        precision: dtype of the stretch arithmetic (``'float64'``: NumPy/MATLAB on a float32
            network output; ``'float32'``: NumPy or PyTorch on float32 throughout).
        apply_to: ``'network'`` (the fuser's output, before colour is restored) or ``'rgb'``.
        vis_read / ir_read: how the release read each source file (after ``source_bits``):
            None (as given: the visible Y from ``split_luma``, the IR as is), ``'rgb'`` (the
            visible image in colour; its Y is fused in ``'ycbcr'`` mode), or a gray reading by
            the release's own library call: ``'pillow_l'`` (``Image.convert('L')``),
            ``'opencv_gray'`` (OpenCV's RGB2GRAY), ``'pillow_ycbcr_f'`` (scipy's
            ``imread(flatten=True, mode='YCbCr')``). A gray-read visible image keeps its chroma
            for ``'ycbcr'`` mode (the benchmark recolours gray outputs with it); in ``'rgb'``
            mode the gray sources are replicated to 3 channels (IFCNN's ``GRAY2BGR``).
        luma: the Y/chroma formulas of ``split_luma``/``merge_luma``: ``'jpeg'`` (full-range
            JPEG YCbCr) or ``'seafusion'`` (SeAFusion's Y/Cr/Cb formulas and inverse matrix,
            each clamped).
        stretch_form: the stretch's arithmetic, one of ``STRETCH_FORMS``.
        output_gray: convert the quantised multi-channel output to gray by this reading
            (IFCNN saves ``cvtColor(out, …2GRAY)``); None keeps the channels.
        chroma: None (``split_luma``/``merge_luma`` follow ``luma``) or ``'opencv_ycrcb'``: the
            chroma kept is OpenCV's 8-bit YCrCb of the visible image, and the output (its Y as
            8-bit values) is put back into it and converted by OpenCV's ``YCrCb2RGB`` (CAF);
            the fused Y itself still comes from ``luma``.
    """

    def __init__(self, source_bits: Optional[int] = 8, stretch: Optional[str] = 'minmax',
                 rounding: Optional[str] = 'half_up', precision: str = 'float64',
                 apply_to: str = 'network', vis_read: Optional[str] = None,
                 ir_read: Optional[str] = None, luma: str = 'jpeg',
                 stretch_form: str = 'divide', output_gray: Optional[str] = None,
                 chroma: Optional[str] = None):
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
        if vis_read not in VIS_READS:
            raise ValueError(f'vis_read must be one of {VIS_READS}, got {vis_read!r}')
        if ir_read not in (None,) + GRAY_READS:
            raise ValueError(f'ir_read must be one of {(None,) + GRAY_READS}, got {ir_read!r}')
        if luma not in LUMAS:
            raise ValueError(f'luma must be one of {LUMAS}, got {luma!r}')
        if stretch_form not in STRETCH_FORMS:
            raise ValueError(f'stretch_form must be one of {STRETCH_FORMS}, got '
                             f'{stretch_form!r}')
        if output_gray not in (None,) + GRAY_READS:
            raise ValueError(f'output_gray must be one of {(None,) + GRAY_READS}, got '
                             f'{output_gray!r}')
        if output_gray is not None and rounding is None:
            raise ValueError('output_gray converts an 8-bit output: set rounding')
        if chroma not in CHROMAS:
            raise ValueError(f'chroma must be one of {CHROMAS}, got {chroma!r}')
        self.source_bits = None if source_bits is None else int(source_bits)
        self.stretch, self.rounding = stretch, rounding
        self.precision, self.apply_to = precision, apply_to
        self.vis_read, self.ir_read, self.luma = vis_read, ir_read, luma
        self.stretch_form, self.output_gray = stretch_form, output_gray
        self.chroma = chroma
        self.whole_image = stretch is not None

    def split_luma(self, rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.luma == 'seafusion':
            y, crcb = seafusion_rgb_to_ycrcb(rgb)
        else:
            y, crcb = super().split_luma(rgb)
        if self.chroma == 'opencv_ycrcb':
            crcb = opencv_ycrcb_chroma(rgb)
        return y, crcb

    def merge_luma(self, y: torch.Tensor, chroma: torch.Tensor) -> torch.Tensor:
        if self.chroma == 'opencv_ycrcb':
            return opencv_ycrcb_to_rgb(y, chroma)
        if self.luma == 'seafusion':
            return seafusion_ycrcb_to_rgb(y, chroma)
        return super().merge_luma(y, chroma)

    def read(self, vis: torch.Tensor, ir: torch.Tensor, color_mode: str = 'ycbcr'
             ) -> tuple[torch.Tensor, torch.Tensor, Optional[torch.Tensor]]:
        if self.vis_read is None and self.ir_read is None:
            return super().read(vis, ir, color_mode)
        # The files as 8-bit values, then each source as the release's script read it.
        vis, ir = self._quantize_source(vis), self._quantize_source(ir)
        chroma = None
        if self.vis_read in (None, 'rgb'):
            vis_in = vis
            if color_mode == 'ycbcr' and vis.shape[1] == 3:
                vis_in, chroma = self.split_luma(vis)
        else:
            vis_in = read_gray(vis, self.vis_read)
            if color_mode == 'ycbcr' and vis.shape[1] == 3:
                chroma = self.split_luma(vis)[1]
        if self.ir_read is not None:
            ir_in = read_gray(ir, self.ir_read)
        else:
            ir_in = self.to_gray(ir) if color_mode == 'ycbcr' else ir
        if color_mode == 'rgb':
            channels = max(vis.shape[1], ir.shape[1])
            vis_in, ir_in = match_channels(vis_in, channels), match_channels(ir_in, channels)
        return vis_in, ir_in, chroma

    @property
    def export_tolerance(self) -> Optional[float]:
        """Max |Δ| an ONNX export may show against PyTorch (read by
        :func:`mmhaze.apis.export.model_tolerance`): one 8-bit output level when the output is
        rounded — the stretch runs on the network's float32 output, which onnxruntime computes
        ~1e-7 apart, so a value on a rounding boundary lands one level apart (a few pixels in
        10⁴, reported by the export) — else None (the default 1e-4)."""
        return None if self.rounding is None else 1 / 255 + 1e-6

    def _quantize_source(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.source_bits is None else quantize(x, self.source_bits)

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
            lo, span = lo[:, None, None, None], span[:, None, None, None]
            # The order of the release's arithmetic decides the ties: the published files were
            # made so (U2Fusion: ((o − min)·255)/(max − min)).
            if self.stretch_form == 'divide':
                x = (x - lo) * 255.0 / span
            elif self.stretch_form == 'normalize':
                x = (x - lo) / span * 255.0
            else:  # scipy's bytescale: the scale 255/(max − min) in float64, then data dtype
                x = (x - lo) * (255.0 / span.double()).to(x.dtype)
        else:
            x = x * 255.0
        if self.rounding == 'uint8_cast':
            x = numpy_uint8_cast(x)  # no clipping: the release cast out-of-range values as is
        else:
            x = x.clamp(0.0, 255.0)
        if self.rounding == 'half_up':
            x = torch.floor(x + 0.5)
        elif self.rounding == 'truncate':
            x = torch.floor(x)
        x = (x / 255.0).to(fused.dtype)
        if self.output_gray is not None and x.shape[1] == 3:
            x = read_gray(x, self.output_gray)
        return x

    def __repr__(self) -> str:
        return (f'ReleaseProtocol(source_bits={self.source_bits}, stretch={self.stretch!r}, '
                f'rounding={self.rounding!r}, precision={self.precision!r}, '
                f'apply_to={self.apply_to!r}, vis_read={self.vis_read!r}, '
                f'ir_read={self.ir_read!r}, luma={self.luma!r}, '
                f'stretch_form={self.stretch_form!r}, output_gray={self.output_gray!r}, '
                f'chroma={self.chroma!r})')


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
