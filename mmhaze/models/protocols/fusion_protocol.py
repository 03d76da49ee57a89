"""Release protocols of fusion (and dehazing) networks, applied to the model's own predictions.

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

Dehazers declare protocols the same way; ``DehazeFuseModel(dehazer_protocol=...)`` applies one to
the dehazing step outside training: ``prepare`` (the hazy image as the release read it) and
``finish`` on the dehazer's output in the network's own ``value_range`` (e.g. GCANet's 0–255
values rounded as its release rounded them).
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
    opencv_rgb_to_ycrcb,
    opencv_ycrcb_to_rgb,
    quantize,
    read_gray,
    seafusion_rgb_to_ycrcb,
    seafusion_ycrcb_to_rgb,
)

APPLY_TO = ('network', 'rgb')
STRETCHES = (None, 'minmax', 'max')
#: ``'half_even'``: ties to even, NumPy's ``rint`` (skimage's ``img_as_ubyte``) or
#: ``torch.round`` (GCANet's release); ``'half_up'``: ``uint8(y + 0.5)``; ``'truncate'``:
#: ``uint8(y)``; ``'uint8_cast'``: NumPy's float → uint8 cast without clipping (truncation;
#: negative values wrap to 255 …).
ROUNDINGS = (None, 'half_up', 'half_even', 'truncate', 'uint8_cast')
#: The stretch's float arithmetic: ``'divide'`` ``(o − min)·255 / (max − min)`` (U2Fusion's
#: release), ``'normalize'`` ``(o − min) / (max − min) · 255`` (SeAFusion's ``tensor2img``),
#: ``'bytescale'`` ``(o − min) · s`` with ``s = 255 / (max − min)`` rounded to the data's
#: float type first (scipy's ``bytescale``/``imsave`` of the TF1 era).
STRETCH_FORMS = ('divide', 'normalize', 'bytescale')
#: Y/chroma formulas: full-range JPEG YCbCr (kornia), SeAFusion's Y/Cr/Cb formulas and inverse
#: matrix, or OpenCV's 8-bit ``RGB2YCrCb`` / ``YCrCb2RGB`` (the library itself, on 8-bit values).
LUMAS = ('jpeg', 'seafusion', 'opencv')
#: Per-source normalisation before the network: ``'minmax'``, (x − min)/(max − min + ε) of
#: each source's 0–255 values (LRRNet's ``normalize_tensor``).
SOURCE_NORMS = (None, 'minmax')
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

    def finish(self, fused: torch.Tensor, sizes: Optional[Sequence[tuple[int, int]]] = None,
               value_range: Sequence[float] = (0.0, 1.0)) -> torch.Tensor:
        """The output as the release saved it, in [0, 1]; ``value_range``: the range of
        ``fused`` (a network's own, e.g. 0–255: the release's arithmetic on its values)."""
        return to_unit_range(fused, value_range).clamp(0.0, 1.0)

    def __repr__(self) -> str:
        return f'{type(self).__name__}()'


def to_unit_range(x: torch.Tensor, value_range: Sequence[float]) -> torch.Tensor:
    """Values of ``value_range`` mapped linearly to [0, 1] (unchanged for (0, 1))."""
    lo, hi = (float(v) for v in value_range)
    return x if (lo, hi) == (0.0, 1.0) else (x - lo) / (hi - lo)


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
        rounding: ``'half_up'`` (``uint8(y + 0.5)``), ``'half_even'`` (ties to even:
            ``rint``, ``torch.round``), ``'truncate'`` (``uint8(y)``) or None (no 8-bit
            quantisation) of the stretched 0–255 values, after clipping; or ``'uint8_cast'``:
            NumPy's ``astype(np.uint8)`` without clipping (truncation toward zero, out-of-range
            values wrapped modulo 256, :func:`~.reading.numpy_uint8_cast`).
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
            JPEG YCbCr), ``'seafusion'`` (SeAFusion's Y/Cr/Cb formulas and inverse matrix,
            each clamped) or ``'opencv'`` (OpenCV's 8-bit YCrCb: chroma [Cr, Cb]; merging
            rounds Y to 8 bits first, as a release that writes its uint8 output into the
            YCrCb image does).
        merge: the formulas of ``merge_luma`` when they are not ``luma``'s own (SAGE splits
            with OpenCV and merges with SeAFusion's matrix on [Y, Cr, Cb]); one of ``LUMAS``.
        stretch_form: the stretch's arithmetic, one of ``STRETCH_FORMS``.
        stretch_eps: added to the stretch's span (max − min), in the output's units
            (LRRNet's ``save_image``: + 1e-5, so the maximum maps just below 255 and truncates
            to 254).
        source_norm: None or ``'minmax'``: each source, after it was read, normalised to
            (x − min)/(max − min + ``source_norm_eps``) on its 0–255 values in float32 (LRRNet).
            The preprocessor's reflect padding repeats image values, so min and max are the
            un-padded image's.
        source_norm_eps: ε of ``source_norm``, in 0–255 units.
        output_gray: convert the quantised multi-channel output to gray by this reading
            (IFCNN saves ``cvtColor(out, …2GRAY)``); None keeps the channels.
        chroma: the formulas of the chroma ``split_luma`` keeps when they are not ``luma``'s
            own; one of ``LUMAS``. CAF fuses kornia's (``'jpeg'``) Y but keeps OpenCV's 8-bit
            [Cr, Cb] (``'opencv'``), into which it writes its output as 8-bit Y and converts
            back with OpenCV; ``merge`` then defaults to ``chroma``.
    """

    def __init__(self, source_bits: Optional[int] = 8, stretch: Optional[str] = 'minmax',
                 rounding: Optional[str] = 'half_up', precision: str = 'float64',
                 apply_to: str = 'network', vis_read: Optional[str] = None,
                 ir_read: Optional[str] = None, luma: str = 'jpeg',
                 stretch_form: str = 'divide', output_gray: Optional[str] = None,
                 merge: Optional[str] = None, stretch_eps: float = 0.0,
                 source_norm: Optional[str] = None, source_norm_eps: float = 0.0,
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
        if merge not in (None,) + LUMAS:
            raise ValueError(f'merge must be one of {(None,) + LUMAS}, got {merge!r}')
        if chroma not in (None,) + LUMAS:
            raise ValueError(f'chroma must be one of {(None,) + LUMAS}, got {chroma!r}')
        if source_norm not in SOURCE_NORMS:
            raise ValueError(f'source_norm must be one of {SOURCE_NORMS}, got {source_norm!r}')
        if stretch_eps < 0 or source_norm_eps < 0:
            raise ValueError(f'stretch_eps and source_norm_eps must be >= 0, got '
                             f'{stretch_eps}, {source_norm_eps}')
        if stretch_form not in STRETCH_FORMS:
            raise ValueError(f'stretch_form must be one of {STRETCH_FORMS}, got '
                             f'{stretch_form!r}')
        if output_gray not in (None,) + GRAY_READS:
            raise ValueError(f'output_gray must be one of {(None,) + GRAY_READS}, got '
                             f'{output_gray!r}')
        if output_gray is not None and rounding is None:
            raise ValueError('output_gray converts an 8-bit output: set rounding')
        self.source_bits = None if source_bits is None else int(source_bits)
        self.stretch, self.rounding = stretch, rounding
        self.precision, self.apply_to = precision, apply_to
        self.vis_read, self.ir_read, self.luma = vis_read, ir_read, luma
        self.stretch_form, self.output_gray = stretch_form, output_gray
        self.chroma = chroma or luma
        self.merge = merge or self.chroma
        self.stretch_eps = float(stretch_eps)
        self.source_norm, self.source_norm_eps = source_norm, float(source_norm_eps)
        self.whole_image = stretch is not None or source_norm is not None

    def split_luma(self, rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y, chroma = self._split(rgb, self.luma)
        if self.chroma != self.luma:
            chroma = self._split(rgb, self.chroma)[1]
        return y, chroma

    def _split(self, rgb: torch.Tensor, formulas: str) -> tuple[torch.Tensor, torch.Tensor]:
        if formulas == 'seafusion':
            return seafusion_rgb_to_ycrcb(rgb)
        if formulas == 'opencv':
            return opencv_rgb_to_ycrcb(rgb)
        return super().split_luma(rgb)

    def merge_luma(self, y: torch.Tensor, chroma: torch.Tensor) -> torch.Tensor:
        if self.merge == 'seafusion':
            return seafusion_ycrcb_to_rgb(y, chroma)
        if self.merge == 'opencv':
            return opencv_ycrcb_to_rgb(y, chroma)
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
        return self._normalize_source(vis_in), self._normalize_source(ir_in), chroma

    @property
    def library_steps(self) -> list[str]:
        """The steps that run Pillow or OpenCV on 8-bit values in NumPy (read by the ONNX
        exporter, which refuses them: no graph op reproduces them bit for bit)."""
        steps = {r for r in (self.vis_read, self.ir_read, self.output_gray)
                 if r not in (None, 'rgb')}
        if 'opencv' in (self.luma, self.merge, self.chroma):
            steps.add('opencv_ycrcb')
        return sorted(steps)

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

    def _normalize_source(self, x: torch.Tensor) -> torch.Tensor:
        if self.source_norm is None:
            return x
        # On the 0–255 values, as the release (x·255 of an 8-bit value /255 is exact in float32).
        v = x.float() * 255.0
        lo = v.flatten(1).amin(dim=1)[:, None, None, None]
        hi = v.flatten(1).amax(dim=1)[:, None, None, None]
        return ((v - lo) / (hi - lo + self.source_norm_eps)).to(x.dtype)

    def prepare(self, vis: torch.Tensor, ir: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return (self._normalize_source(self._quantize_source(vis)),
                self._normalize_source(self._quantize_source(ir)))

    def finish(self, fused: torch.Tensor, sizes: Optional[Sequence[tuple[int, int]]] = None,
               value_range: Sequence[float] = (0.0, 1.0)) -> torch.Tensor:
        x = fused.to(PRECISIONS[self.precision])
        lo_value, hi_value = (float(v) for v in value_range)
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
            if self.stretch_eps:
                # NumPy 1.x adds a Python float to a float32 scalar in float64.
                span = (span.double() + self.stretch_eps).to(span.dtype)
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
            # ×255 for [0, 1]; ×1, exactly the network's values, for a 0–255 network.
            x = (x - lo_value) * (255.0 / (hi_value - lo_value))
        if self.rounding == 'uint8_cast':
            x = numpy_uint8_cast(x)  # no clipping: the release cast out-of-range values as is
        else:
            x = x.clamp(0.0, 255.0)
        if self.rounding == 'half_up':
            x = torch.floor(x + 0.5)
        elif self.rounding == 'half_even':
            x = torch.round(x)
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
                f'merge={self.merge!r}, stretch_eps={self.stretch_eps}, '
                f'source_norm={self.source_norm!r}, source_norm_eps={self.source_norm_eps}, '
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
