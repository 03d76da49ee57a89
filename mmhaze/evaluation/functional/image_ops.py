"""Shared pieces of the metric math: input checks, MATLAB-style gray conversion and filters.

The reference tools are MATLAB (or NumPy ports of MATLAB), so the filters here reproduce MATLAB's
exactly: ``fspecial('gaussian')`` (entries below eps·max zeroed, normalised), ``conv2``/``filter2``
with zero padding (for even kernels 'same' keeps MATLAB's centre, one sample off scipy's), and
``rgb2gray`` with MATLAB's weights and round-half-away-from-zero. kornia's filters normalise,
replicate-pad and centre differently, so they are not used here.

Metric inputs are on the 8-bit scale: float tensors in [0, 255] or uint8, B×C×H×W with C = 1 or 3.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Optional

import torch
import torch.nn.functional as F

# MATLAB rgb2gray: the first row of inv([1 .956 .621; 1 -.272 -.647; 1 -1.106 1.703]).
MATLAB_GRAY_WEIGHTS = (0.298936021293775, 0.587043074451121, 0.114020904255103)
# ITU-R BT.601 luma, as OpenCV's COLOR_RGB2GRAY (the CDDFuse Evaluator reads with it).
BT601_GRAY_WEIGHTS = (0.299, 0.587, 0.114)
# Pillow's ``convert('L')`` (IVIF_ZOO reads with it): BT.601 in 16-bit fixed point, rounded.
PIL_GRAY_FIXED_POINT = (19595, 38470, 7471)
GRAY_WEIGHTS = {'matlab': MATLAB_GRAY_WEIGHTS, 'bt601': BT601_GRAY_WEIGHTS,
                'pil': tuple(w / 65536 for w in PIL_GRAY_FIXED_POINT)}
COLOR_MODES = ('gray', 'channels')


def round_half_away(x: torch.Tensor) -> torch.Tensor:
    """MATLAB ``round`` (half away from zero); ``torch.round`` rounds half to even."""
    return torch.sign(x) * torch.floor(x.abs() + 0.5)


def as_float(x: torch.Tensor, name: str, dtype: Optional[torch.dtype] = None) -> torch.Tensor:
    """A B×C×H×W float tensor on the 8-bit scale, from float or uint8 input.

    Other integer types (uint16, int32, ...) are refused: their scale is ambiguous, so the
    caller converts them first (a 16-bit image: ``x / 257``).
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f'{name}: expected a torch.Tensor, got {type(x).__name__}')
    if x.dim() != 4:
        raise ValueError(f'{name}: expected a B×C×H×W tensor, got shape {tuple(x.shape)}')
    if x.dtype == torch.uint8:
        return x.to(dtype or torch.float32)
    if not x.is_floating_point():
        raise TypeError(f'{name}: integer type {x.dtype} is not on the 8-bit scale; pass uint8 '
                        'or float in [0, 255] (a 16-bit image: divide by 257 first)')
    return x.to(dtype) if dtype is not None else x


def rgb_to_gray(x: torch.Tensor, weights: str = 'matlab', rounding: bool = True) -> torch.Tensor:
    """B×3×H×W → B×1×H×W luma on the same scale; ``rounding`` = what a uint8 conversion keeps.

    ``weights='pil'`` with rounding is Pillow's integer formula
    ``(19595 R + 38470 G + 7471 B + 2¹⁵) >> 16`` on the 8-bit levels (exact).
    """
    if weights not in GRAY_WEIGHTS:
        raise ValueError(f'gray weights must be one of {sorted(GRAY_WEIGHTS)}, got {weights!r}')
    if not rounding:
        w = torch.tensor(GRAY_WEIGHTS[weights], dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        return (x * w).sum(1, keepdim=True)
    if weights == 'pil':
        levels = torch.floor(x.double() + 0.5).clamp(0, 255).long()
        wr, wg, wb = PIL_GRAY_FIXED_POINT
        gray = (levels[:, 0:1] * wr + levels[:, 1:2] * wg + levels[:, 2:3] * wb + 32768) >> 16
        return gray.to(x.dtype)
    # Rounded: weigh in float64, so a float32 image gets the same levels as a float64 one
    # (a sum over the 3-channel dim is a slow strided reduction: add the planes instead).
    wr, wg, wb = GRAY_WEIGHTS[weights]
    x64 = x.double()
    gray = x64[:, 0:1] * wr + x64[:, 1:2] * wg + x64[:, 2:3] * wb
    return round_half_away(gray).to(x.dtype)


def rescale(x: torch.Tensor, scale: float) -> torch.Tensor:
    """``x·scale``, with a scale 1/n computed as ``x / n`` (MATLAB's ``im2double`` of uint8 is
    ``double(x)/255``: the same last bit)."""
    if scale == 1:
        return x
    inverse = 1 / scale
    if inverse > 1 and abs(inverse - round(inverse)) < 1e-9:
        return x / round(inverse)
    return x * scale


def fold_images(images: Sequence[torch.Tensor], names: Sequence[str], color: str = 'gray',
                gray_weights: str = 'matlab', dtype: Optional[torch.dtype] = None
                ) -> tuple[list[torch.Tensor], int]:
    """Check a set of same-size images and turn them into B'×1×H×W gray planes.

    ``color='gray'``: colour images go through :func:`rgb_to_gray` (rounded), so B' = B.
    ``color='channels'`` (VIFB): each channel of a colour image is evaluated on its own, paired
    with the same channel of the other images (1-channel images are repeated), so B' = B·3;
    the caller averages the channels back with :func:`unfold_values`.
    Returns the planes and the number of channels folded into the batch.
    """
    if color not in COLOR_MODES:
        raise ValueError(f'color must be one of {COLOR_MODES}, got {color!r}')
    imgs = [as_float(x, n, dtype) for x, n in zip(images, names)]
    ref_shape = imgs[0].shape
    for x, n in zip(imgs, names):
        if x.shape[0] != ref_shape[0] or x.shape[-2:] != ref_shape[-2:]:
            raise ValueError(f'{names[0]} {tuple(ref_shape)} and {n} {tuple(x.shape)} differ in '
                             'batch or image size; metrics need pixel-registered images')
        if x.shape[1] not in (1, 3):
            raise ValueError(f'{n}: expected 1 or 3 channels, got {x.shape[1]}')
    common = imgs[0].dtype
    for x in imgs[1:]:
        common = torch.promote_types(common, x.dtype)
    imgs = [x.to(common) for x in imgs]
    if color == 'gray' or all(x.shape[1] == 1 for x in imgs):
        return [rgb_to_gray(x, gray_weights) if x.shape[1] == 3 else x for x in imgs], 1
    b, _, h, w = ref_shape
    return [x.expand(b, 3, h, w).reshape(b * 3, 1, h, w) for x in imgs], 3


def minmax_levels(x: torch.Tensor) -> torch.Tensor:
    """Each B×1×H×W plane stretched to 0..255 and rounded: ``round((x − min)/(max − min)·255)``,
    Z. Liu's ``normalize1.m`` (Q_CV, Q_CB, Q_MI, Q_TE, Q_NCIE). A constant plane becomes 0
    (the MATLAB code divides by zero there)."""
    flat = x.flatten(1)
    lo = flat.min(1).values.view(-1, 1, 1, 1)
    hi = flat.max(1).values.view(-1, 1, 1, 1)
    span = hi - lo
    scaled = (x - lo) / torch.where(span > 0, span, torch.ones_like(span))
    return round_half_away(scaled * 255)


def unfold_values(values: torch.Tensor, channels: int) -> torch.Tensor:
    """Per-plane values (B·channels,) → per-image means (B,)."""
    return values.view(-1, channels).mean(1) if channels > 1 else values


def finite_mask(*images: torch.Tensor) -> torch.Tensor:
    """(B,) True where every image of the pair/triplet is free of NaN and inf."""
    ok = torch.ones(images[0].shape[0], dtype=torch.bool, device=images[0].device)
    for x in images:
        # A NaN or inf pixel makes the image's sum NaN or inf, so a finite sum proves the
        # image finite; only a non-finite sum (or an overflow of finite pixels) needs the
        # per-pixel test, which costs ten times the sum (1 ms at 480×640).
        finite = torch.isfinite(x.flatten(1).sum(1))
        if not bool(finite.all()):
            finite = torch.isfinite(x).flatten(1).all(1)
        ok &= finite
    return ok


def guard_nonfinite(images: Sequence[torch.Tensor]) -> tuple[list[torch.Tensor], torch.Tensor]:
    """Zero the images that hold NaN/inf (so the batch computes) and return the (B,) mask of
    the good ones; the caller sets the bad images' values to NaN with :func:`mask_values`."""
    ok = finite_mask(*images)
    if bool(ok.all()):
        return list(images), ok
    keep = ok.view(-1, 1, 1, 1)
    return [torch.where(keep, x, torch.zeros((), dtype=x.dtype, device=x.device))
            for x in images], ok


def mask_values(values: torch.Tensor, ok: torch.Tensor) -> torch.Tensor:
    return torch.where(ok, values, torch.full_like(values, float('nan')))


def require_size(x: torch.Tensor, min_h: int, min_w: int, metric: str) -> None:
    h, w = x.shape[-2:]
    if h < min_h or w < min_w:
        raise ValueError(f'{metric} needs images of at least {min_h}×{min_w} pixels, got {h}×{w}')


# ---------------------------------------------------------------------------------------------
# MATLAB filters
# ---------------------------------------------------------------------------------------------

def fspecial_gaussian(size: int, sigma: float, dtype: torch.dtype = torch.float64,
                      device=None) -> torch.Tensor:
    """MATLAB ``fspecial('gaussian', size, sigma)``: entries < eps·max zeroed, sums to 1."""
    ax = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(ax[:, None] ** 2 + ax[None, :] ** 2) / (2 * sigma ** 2))
    g[g < torch.finfo(torch.float64).eps * g.max()] = 0
    return (g / g.sum()).to(dtype=dtype, device=device)


def gaussian_taps(size: int, sigma: float) -> Optional[tuple[float, ...]]:
    """The 1-D factor ``g`` (Python floats) with ``outer(g, g) == fspecial_gaussian`` (to
    rounding), or None when the eps-zeroing made the 2-D window non-separable.

    Plain floats, so a compiled kernel sees the taps as constants of its graph.
    """
    g = normalised_gaussian(size, sigma)
    if min(g) * min(g) < torch.finfo(torch.float64).eps * max(g) * max(g):
        return None
    return g


def normalised_gaussian(size: int, sigma: float) -> tuple[float, ...]:
    """The sampled 1-D Gaussian of ``size`` taps, summing to 1 (Python floats)."""
    g = []
    for i in range(size):
        a = i - (size - 1) / 2  # products, not **: dynamo cannot trace pow of a negative float
        g.append(math.exp(-(a * a) / (2 * sigma * sigma)))
    total = sum(g)
    return tuple(v / total for v in g)


def uniform_taps(size: int) -> tuple[float, ...]:
    """The 1-D factor of the size×size mean filter."""
    return (1.0 / size,) * size


def _same_padding(k: int) -> tuple[int, int]:
    # MATLAB's conv2 'same' keeps rows floor(k/2) .. floor(k/2)+H-1 of the full result.
    return k - 1 - k // 2, k // 2


def conv2(x: torch.Tensor, kernel: torch.Tensor, mode: str = 'same',
          padding: str = 'zeros') -> torch.Tensor:
    """MATLAB ``conv2(x, kernel, mode)`` on every plane of B×C×H×W (true convolution).

    ``mode``: 'same' or 'valid'; ``padding``: 'zeros' (MATLAB conv2/filter2) or 'replicate'
    (``imfilter(..., 'replicate')``), for 'same' only.
    """
    k = kernel.to(dtype=x.dtype, device=x.device)
    k = (k[None] if k.dim() == 1 else k).flip(-1, -2)
    kh, kw = k.shape
    if mode == 'same':
        top, bottom = _same_padding(kh)
        left, right = _same_padding(kw)
        pad_mode = 'constant' if padding == 'zeros' else 'replicate'
        x = F.pad(x, (left, right, top, bottom), mode=pad_mode)
    elif mode != 'valid':
        raise ValueError(f"mode must be 'same' or 'valid', got {mode!r}")
    if (kh == 1 or kw == 1) and not torch.compiler.is_compiling():
        # A 1-D kernel: shifted multiply-adds (float64 conv2d has no vectorised CPU kernel;
        # FADE's filters took 80 % of its time through it).
        return _inplace_shifted_sum(x, k.flatten().tolist(), -1 if kh == 1 else -2, 1)
    b, c = x.shape[:2]
    out = F.conv2d(x.reshape(b * c, 1, *x.shape[-2:]), k[None, None])
    return out.view(b, c, *out.shape[-2:])


def filter2(kernel: torch.Tensor, x: torch.Tensor, mode: str = 'same',
            padding: str = 'zeros') -> torch.Tensor:
    """MATLAB ``filter2(kernel, x, mode)`` (correlation) = conv2 with the kernel rotated 180°."""
    k = kernel if kernel.dim() == 2 else kernel[None]
    return conv2(x, k.flip(-1, -2), mode, padding)


def _tap_view(x: torch.Tensor, dim: int, i: int, n: int, step: int) -> torch.Tensor:
    """The input under tap ``i`` of a 'valid' 1-D filter along ``dim`` (``n`` outputs), at
    the kept outputs only (every ``step``-th): no work is spent on dropped rows or columns."""
    view = x.narrow(dim, i, n)
    if step > 1:
        view = view[..., ::step, :] if dim in (-2, x.dim() - 2) else view[..., ::step]
    return view


def _shifted_sum(x: torch.Tensor, taps: Sequence[float], dim: int, step: int) -> torch.Tensor:
    """'valid' 1-D correlation along ``dim`` as a sum of shifted slices times constant taps.

    Traced by ``torch.compile``, the unrolled sum becomes one fused loop; symmetric taps are
    paired (x[i] + x[k−1−i])·t[i], which halves the multiplications.
    """
    k = len(taps)
    n = x.shape[dim] - k + 1

    def tap(i: int) -> torch.Tensor:
        return _tap_view(x, dim, i, n, step)

    if tuple(taps) == tuple(reversed(taps)):
        out = tap(k // 2) * taps[k // 2] if k % 2 else None
        for i in range(k // 2):
            term = (tap(i) + tap(k - 1 - i)) * taps[i]
            out = term if out is None else out + term
    else:
        out = tap(0) * taps[0]
        for i in range(1, k):
            out = out + tap(i) * taps[i]
    return out


def _inplace_shifted_sum(x: torch.Tensor, taps: Sequence[float], dim: int, step: int
                         ) -> torch.Tensor:
    # Eager: in-place multiply-adds of shifted slices (memory-bound). Faster than grouped
    # conv2d in float64 (no vectorised CPU kernel) and float32 alike: fusion SSIM 4.1x, VIF
    # 1.7x (480x640, 2 threads; docs/metrics.md), with bit-identical float32 results here.
    n = x.shape[dim] - len(taps) + 1
    out = _tap_view(x, dim, 0, n, step) * taps[0]
    for i in range(1, len(taps)):
        out.add_(_tap_view(x, dim, i, n, step), alpha=taps[i])
    return out


def separable_filter_valid(x: torch.Tensor, taps: Sequence[float], step: int = 1,
                           row_taps: Optional[Sequence[float]] = None) -> torch.Tensor:
    """'valid' correlation of B×C×H×W planes with the window ``outer(taps, row_taps)``
    (``row_taps`` = ``taps`` unless given: the window's rows are ``row_taps`` scaled by
    ``taps``), as two 1-D passes, keeping every ``step``-th output row and column.

    Compiled: unrolled shifted slices with the taps as constants (one fused loop per pass).
    Eager: in-place shifted multiply-adds.
    """
    row_taps = taps if row_taps is None else row_taps
    if x.shape[-2] < len(taps) or x.shape[-1] < len(row_taps):
        raise ValueError(f'image {tuple(x.shape[-2:])} is smaller than the '
                         f'{len(taps)}×{len(row_taps)} window')
    if torch.compiler.is_compiling():
        return _shifted_sum(_shifted_sum(x, taps, -2, step), row_taps, -1, step)
    return _inplace_shifted_sum(_inplace_shifted_sum(x, taps, -2, step), row_taps, -1, step)


#: Largest stack of the five moment planes that :func:`local_moments` filters as one tensor
#: in eager mode. Below it, one call per filter tap instead of five saves per-operation
#: overhead and the stack stays in cache: 2-3x faster at 161×351 float32 (RoadScene crops);
#: up to ~4 MB it took 0.4-0.9x the time in 13 of 14 size/window settings (one 1.25x); above
#: it, five separate passes win (float64 480×640: the stack took 2.7x as long). 2 threads,
#: AVX2, side by side in one process.
STACKED_MOMENTS_MAX_BYTES = 4 * 2**20


def local_moments(x: torch.Tensor, y: torch.Tensor,
                  window: Callable[[torch.Tensor], torch.Tensor]) -> tuple[torch.Tensor, ...]:
    """Windowed E[x], E[y], E[x²], E[y²], E[xy], each ``window(plane)`` (a 'valid' filter
    acting on each channel alone). ``y`` may have one channel against the C of ``x``
    (broadcast in E[xy]).

    Compiled, each moment is filtered on its own: the products then fuse into the first pass
    and no stack of image size is written and read back (the stack made float64 SSIM
    memory-bound: 5x slower compiled). Eager, small images are filtered as one channel stack
    (:data:`STACKED_MOMENTS_MAX_BYTES`); every output value is computed by the same operations
    in the same order either way, so the results are bit-identical.
    """
    planes = (x, y, x * x, y * y, x * y)
    channels = [t.shape[1] for t in planes]
    stack_bytes = sum(t.numel() for t in planes) * x.element_size()
    if (torch.compiler.is_compiling() or x.dim() != 4 or x.shape[0] != y.shape[0]
            or x.dtype != y.dtype or stack_bytes > STACKED_MOMENTS_MAX_BYTES):
        return tuple(window(t) for t in planes)
    return tuple(window(torch.cat(planes, 1)).split(channels, 1))


def gaussian_filter_valid(x: torch.Tensor, size: int, sigma: float, step: int = 1
                          ) -> torch.Tensor:
    """``filter2(fspecial('gaussian', size, sigma), x, 'valid')`` (then ``[::step, ::step]``),
    separably when the window is separable."""
    taps = gaussian_taps(size, sigma)
    if taps is None:
        out = filter2(fspecial_gaussian(size, sigma, x.dtype, x.device), x, 'valid')
        return out[..., ::step, ::step]
    return separable_filter_valid(x, taps, step)


def matlab_gradient(x: torch.Tensor, doubled: bool = False
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """(gy, gx) of B×C×H×W planes as MATLAB ``gradient`` (and ``torch.gradient(x, dim=(-2,
    -1))``, bit for bit): central differences (x[i+1] − x[i−1])/2 inside, one-sided at the
    borders. Written into two tensors (torch.gradient makes six image-size temporaries).

    ``doubled``: twice the gradient (the central differences not halved, the one-sided ones
    doubled), exactly: scaling by 2 is exact, so a caller can halve once later (one pass over
    the image fewer per direction).
    """
    out = []
    for dim in (-2, -1):
        n = x.shape[dim]
        g = torch.empty_like(x)
        if n > 2:
            inner = torch.sub(x.narrow(dim, 2, n - 2), x.narrow(dim, 0, n - 2),
                              out=g.narrow(dim, 1, n - 2))
            if not doubled:
                inner.div_(2)
        for edge, (hi, lo) in ((0, (1, 0)), (n - 1, (n - 1, n - 2))):
            one_sided = torch.sub(x.narrow(dim, hi, 1), x.narrow(dim, lo, 1),
                                  out=g.narrow(dim, edge, 1))
            if doubled:
                one_sided.mul_(2)
        out.append(g)
    return out[0], out[1]


# Sobel kernels as the fusion toolboxes write them (x: left→right, y: top→bottom).
SOBEL_X = ((-1.0, 0.0, 1.0), (-2.0, 0.0, 2.0), (-1.0, 0.0, 1.0))
SOBEL_Y = ((1.0, 2.0, 1.0), (0.0, 0.0, 0.0), (-1.0, -2.0, -1.0))


SOBEL_PADDINGS = ('zeros', 'replicate', 'reflect')


def sobel(x: torch.Tensor, correlate: bool = False, padding: str = 'zeros'
          ) -> tuple[torch.Tensor, torch.Tensor]:
    """'same' Sobel responses (sx, sy) of B×1×H×W planes.

    ``correlate=False``: ``conv2(x, SOBEL_X/Y, 'same')`` (Q^AB/F); ``True``: ``filter2`` with
    ``SOBEL_X`` and its transpose (Q_CV's ``metricChen``). Computed from shifted slices of the
    separable [1 2 1] ⊗ [−1 0 1] factors (exact on integer images, faster than conv2d).
    ``padding``: 'zeros' (conv2/filter2), 'replicate' (``imfilter(..., 'replicate')``) or
    'reflect' (mirror without repeating the border: B. K. S. Kumar's ``per_extn_im_fn.m``).
    """
    if padding not in SOBEL_PADDINGS:
        raise ValueError(f'Sobel padding must be one of {SOBEL_PADDINGS}, got {padding!r}')
    p = F.pad(x, (1, 1, 1, 1)) if padding == 'zeros' else F.pad(x, (1, 1, 1, 1), mode=padding)
    smooth_rows = p[..., :-2, :] + 2 * p[..., 1:-1, :] + p[..., 2:, :]
    smooth_cols = p[..., :, :-2] + 2 * p[..., :, 1:-1] + p[..., :, 2:]
    right = smooth_rows[..., :, 2:] - smooth_rows[..., :, :-2]   # x[j+1] − x[j−1]
    down = smooth_cols[..., 2:, :] - smooth_cols[..., :-2, :]    # x[i+1] − x[i−1]
    if correlate:
        return right, down
    return -right, down  # conv2 flips the kernels: SOBEL_X → x[j−1] − x[j+1]


def sobel_matlab_order(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``conv2(x, SOBEL_X/Y, 'same')`` summed term by term in MATLAB's order (the kernel's
    column-major order), for images that are not integers.

    On 0–255 integers every summation order is exact (:func:`sobel`); on ``im2double``
    images the order decides the last bit, and Q^AB/F's ``sx == 0`` and ``gA == gF`` tests
    follow it: this order reproduces MATLAB's values of Tang's toolbox within 5e-6 where the
    separable one is 9e-4 away (Octave's ``conv2`` sums in yet another order, 3e-4 away).
    """
    p = F.pad(x, (1, 1, 1, 1))
    h, w = x.shape[-2:]
    out = []
    for kernel in (SOBEL_X, SOBEL_Y):
        acc = torch.zeros_like(x)
        for q in range(3):  # conv2: out(i, j) += k(p, q) · x(i − p + 1, j − q + 1)
            for r in range(3):
                if kernel[r][q]:
                    acc = acc + kernel[r][q] * p[..., 2 - r:2 - r + h, 2 - q:2 - q + w]
        out.append(acc)
    return out[0], out[1]


def window_sums_matlab_order(x: torch.Tensor, kernel: Sequence[Sequence[float]]
                             ) -> torch.Tensor:
    """``sum(sum(X .* kernel))`` over each 3×3 window of B×1×H×W planes already padded by one
    pixel (a correlation), in MATLAB's order: each column summed top to bottom, then the
    column sums left to right (what B. K. S. Kumar's ``sobel_fn.m`` loops compute)."""
    h, w = x.shape[-2] - 2, x.shape[-1] - 2
    total = None
    for q in range(3):
        column = None
        for r in range(3):
            term = x[..., r:r + h, q:q + w] * kernel[r][q]
            column = term if column is None else column + term
        total = column if total is None else total + column
    return total


# ---------------------------------------------------------------------------------------------
# Sums of products from raw moments
# ---------------------------------------------------------------------------------------------

#: A sum of products taken from raw moments (Σx and Σx·y, e.g. n·Σ(x−x̄)² = n·Σx² − (Σx)²) is
#: used only where the magnitudes of its terms are at most this many times the result: the
#: moments' rounding (BLAS dot products, ~1e-15 relative on 0–255 images) is multiplied by that
#: ratio, so the result keeps ~1e-13; beyond it the caller's two-pass centred form runs. On
#: 8-bit levels every raw sum is an integer below 2⁵³ and exact, and so is n·Σxy up to 3.7·10⁵
#: pixels (480×640).
RAW_MOMENTS_MAX_CANCELLATION = 100.0


def plane_sums(planes: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """Σx of each B×1×H×W plane, (B,) float64."""
    return [p.flatten(1).double().sum(1) for p in planes]


def dot_products(planes: Sequence[torch.Tensor], pairs: Iterable[tuple[int, int]]
                 ) -> dict[tuple[int, int], torch.Tensor]:
    """Σx_i·x_j over the pixels for the index ``pairs`` of K B×1×H×W planes (both orders as
    keys), each (B,) float64: BLAS dot products, one read of the two planes and no image-size
    temporary (at 480×640 a temporary's page faults cost more than the arithmetic)."""
    flat = [p.flatten(1).double() for p in planes]
    products: dict[tuple[int, int], torch.Tensor] = {}
    for i, j in pairs:
        if (i, j) not in products:
            products[i, j] = products[j, i] = torch.bmm(flat[i][:, None],
                                                        flat[j][:, :, None]).view(-1)
    return products


def well_conditioned(value: torch.Tensor, magnitude: torch.Tensor) -> bool:
    """Whether a quantity formed from raw moments keeps their precision on every image: the
    absolute sum of its terms, ``magnitude``, is at most RAW_MOMENTS_MAX_CANCELLATION times
    ``value`` (a variance or squared error, ≥ 0)."""
    return bool((magnitude <= RAW_MOMENTS_MAX_CANCELLATION * value).all())


def correlation_from_sums(cross: torch.Tensor, squares_x: torch.Tensor,
                          squares_y: torch.Tensor, constant_as_zero: bool = True
                          ) -> torch.Tensor:
    """Pearson correlation Σx'y' / sqrt(Σx'²·Σy'²) from centred sums (any common factor).
    ``constant_as_zero``: 0 where a plane is constant (MATLAB's ``corr2`` gives NaN: a
    constant carries no linear relation); False leaves the 0/0 = NaN."""
    den = torch.sqrt(squares_x * squares_y)
    if not constant_as_zero:
        return cross / den
    return torch.where(den > 0, cross / torch.where(den > 0, den, torch.ones_like(den)),
                       torch.zeros_like(cross))


def correlations(planes: Sequence[torch.Tensor], pairs: Sequence[tuple[int, int]],
                 constant_as_zero: bool = True) -> list[torch.Tensor]:
    """Per-image Pearson correlations (MATLAB ``corr2``) of the index ``pairs`` of B×1×H×W
    planes, in float64 (``constant_as_zero`` as :func:`correlation_from_sums`).

    Eagerly from the raw moments, n·Σx'y' = n·Σxy − ΣxΣy, where every plane's variance is well
    conditioned (RAW_MOMENTS_MAX_CANCELLATION); else, and compiled, centred in two passes.
    """
    if not torch.compiler.is_compiling():
        raw = _raw_correlations(planes, pairs, constant_as_zero)
        if raw is not None:
            return raw
    flat = [p.flatten(1).double() for p in planes]
    centred = {i: flat[i] - flat[i].mean(1, keepdim=True) for pair in pairs for i in pair}
    return [correlation_from_sums((centred[i] * centred[j]).sum(1),
                                  (centred[i] * centred[i]).sum(1),
                                  (centred[j] * centred[j]).sum(1), constant_as_zero)
            for i, j in pairs]


def _raw_correlations(planes: Sequence[torch.Tensor], pairs: Sequence[tuple[int, int]],
                      constant_as_zero: bool) -> Optional[list[torch.Tensor]]:
    n = planes[0][0].numel()
    used = sorted({i for pair in pairs for i in pair})
    sums = plane_sums(planes)
    products = dot_products(planes, [(i, i) for i in used] + list(pairs))
    variances = {}
    for i in used:
        squares, square_of_sum = n * products[i, i], sums[i] * sums[i]
        variances[i] = squares - square_of_sum
        if not well_conditioned(variances[i], squares + square_of_sum):
            return None
    return [correlation_from_sums(n * products[i, j] - sums[i] * sums[j], variances[i],
                                  variances[j], constant_as_zero) for i, j in pairs]


def pearson(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-image Pearson correlation (MATLAB ``corr2``) of B×1×H×W planes, in float64.

    Defined as 0 when either plane is constant (MATLAB gives NaN): a constant carries no
    linear relation.
    """
    return correlations([x, y], [(0, 1)])[0]
