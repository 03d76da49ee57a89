import pytest
import torch
import torch.nn.functional as F

from mmhaze.evaluation.functional.image_ops import (
    conv2,
    correlations,
    dot_products,
    finite_mask,
    fspecial_gaussian,
    gaussian_taps,
    local_moments,
    matlab_gradient,
    pearson,
    separable_filter_valid,
)


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_local_moments_are_the_windowed_moments(dtype):
    """Five 'valid' windowed moments, the one-channel y broadcast against x's channels, equal
    to a direct 2-D float64 convolution (float32 to its rounding)."""
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 23, 30, generator=gen, dtype=torch.float64)
    y = torch.rand(2, 1, 23, 30, generator=gen, dtype=torch.float64)
    taps = gaussian_taps(7, 1.5)
    got = local_moments(x.to(dtype), y.to(dtype), lambda t: separable_filter_valid(t, taps))
    win = fspecial_gaussian(7, 1.5)[None, None]

    def filt(t):
        c = t.shape[1]
        return F.conv2d(t, win.expand(c, 1, 7, 7), groups=c)

    expected = [filt(x), filt(y), filt(x * x), filt(y * y), filt(x * y)]
    assert [tuple(g.shape) for g in got] == [(2, 3, 17, 24), (2, 1, 17, 24), (2, 3, 17, 24),
                                             (2, 1, 17, 24), (2, 3, 17, 24)]
    tol = 1e-6 if dtype == torch.float32 else 1e-13
    for g, e in zip(got, expected):
        assert g.dtype == dtype
        assert torch.allclose(g.double(), e, rtol=0, atol=tol)


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_local_moments_as_one_stack_are_the_separate_moments_bit_for_bit(dtype, monkeypatch):
    """Small images filter the five moment planes as one channel stack (fewer calls); the
    values are those of five separate passes, bit for bit, including a one-channel y against
    three-channel x and a strided window."""
    from mmhaze.evaluation.functional import image_ops
    gen = torch.Generator().manual_seed(2)
    x = (torch.rand(2, 3, 41, 57, generator=gen, dtype=torch.float64) * 255).to(dtype)
    y = (torch.rand(2, 1, 41, 57, generator=gen, dtype=torch.float64) * 255).to(dtype)
    taps = gaussian_taps(9, 1.8)
    shapes = []

    def window(t):
        shapes.append(tuple(t.shape))
        return separable_filter_valid(t, taps, step=2)

    stacked = local_moments(x, y, window)
    assert shapes == [(2, 11, 41, 57)]  # x, y, x², y², xy: 3 + 1 + 3 + 1 + 3 channels, one call
    monkeypatch.setattr(image_ops, 'STACKED_MOMENTS_MAX_BYTES', 0)
    shapes.clear()
    separate = local_moments(x, y, window)
    assert len(shapes) == 5
    for a, b in zip(stacked, separate):
        assert a.shape == b.shape
        assert torch.equal(a, b)


def test_conv2_with_a_2d_kernel_filters_every_channel_alone():
    gen = torch.Generator().manual_seed(3)
    x = torch.rand(2, 3, 20, 30, generator=gen, dtype=torch.float64)
    k = fspecial_gaussian(5, 1.0)
    got = conv2(x, k, 'valid')
    expected = torch.cat([conv2(x[:, i:i + 1], k, 'valid') for i in range(3)], 1)
    assert got.shape == (2, 3, 16, 26)
    assert torch.equal(got, expected)


@pytest.mark.parametrize('mode,padding', [('same', 'zeros'), ('same', 'replicate'),
                                          ('valid', 'zeros')])
def test_conv2_with_a_1d_kernel_is_the_2d_convolution(mode, padding):
    """1-D kernels take shifted multiply-adds (FADE's contrast energy); the result is MATLAB's
    conv2 all the same: flipped (true convolution), padded as asked, to float64 rounding."""
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(2, 1, 19, 26, generator=gen, dtype=torch.float64) * 255
    kernel = torch.tensor([1.0, -2.0, 0.5, 3.0, 0.25], dtype=torch.float64)  # asymmetric
    for k in (kernel[None, :], kernel[:, None]):
        ref = x
        if mode == 'same':
            kh, kw = k.shape
            pads = (kw - 1 - kw // 2, kw // 2, kh - 1 - kh // 2, kh // 2)
            ref = F.pad(x, pads, mode='constant' if padding == 'zeros' else 'replicate')
        expected = F.conv2d(ref, k.flip(-1, -2)[None, None])
        got = conv2(x, k, mode, padding)
        assert got.shape == expected.shape
        assert torch.allclose(got, expected, rtol=0, atol=1e-11)


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_strided_filter_keeps_every_second_output_of_the_full_filter(dtype):
    """step=2 (VIF's down-sampling) computes only the kept outputs, and they are bit-equal to
    the full filter's."""
    gen = torch.Generator().manual_seed(2)
    x = torch.rand(1, 2, 33, 46, generator=gen, dtype=dtype) * 255
    taps = gaussian_taps(9, 1.8)
    full = separable_filter_valid(x, taps)
    strided = separable_filter_valid(x, taps, step=2)
    assert strided.shape == (1, 2, 13, 19)
    assert torch.equal(strided, full[..., ::2, ::2])


@pytest.mark.parametrize('shape', [(2, 1, 17, 23), (1, 1, 2, 5), (1, 3, 9, 2)])
def test_matlab_gradient_is_torch_gradient_bit_for_bit(shape):
    """Central differences inside, one-sided at the borders, exactly torch.gradient's values;
    doubled=True is exactly twice them."""
    gen = torch.Generator().manual_seed(3)
    x = torch.rand(shape, generator=gen, dtype=torch.float64) * 255
    expected = torch.gradient(x, dim=(-2, -1))
    got = matlab_gradient(x)
    doubled = matlab_gradient(x, doubled=True)
    for g, d, e in zip(got, doubled, expected):
        assert torch.equal(g, e)
        assert torch.equal(d, 2 * e)


def _two_pass_correlation(x, y):
    x, y = x.flatten(1), y.flatten(1)
    xc, yc = x - x.mean(1, keepdim=True), y - y.mean(1, keepdim=True)
    return (xc * yc).sum(1) / torch.sqrt((xc * xc).sum(1) * (yc * yc).sum(1))


def test_correlations_from_raw_moments_are_exact_on_8bit_levels():
    """On integer levels the dot products are exact integers: the correlation equals exact
    rational arithmetic (here within one rounding, 2e-16), and the two-pass form within its own
    rounding."""
    from fractions import Fraction
    gen = torch.Generator().manual_seed(4)
    x = torch.randint(0, 256, (1, 1, 40, 50), generator=gen).double()
    y = torch.floor((x + torch.randint(0, 256, (1, 1, 40, 50), generator=gen)) / 2)
    assert dot_products([x, y], [(0, 1)])[1, 0].item() == (x * y).sum().item()
    xs, ys = [int(v) for v in x.flatten()], [int(v) for v in y.flatten()]
    n = len(xs)

    def centred(u, v):
        return Fraction(n * sum(p * q for p, q in zip(u, v)) - sum(u) * sum(v))
    exact = float(centred(xs, ys) / (centred(xs, xs) * centred(ys, ys)) ** 0.5)
    got = pearson(x, y).item()
    assert abs(got - exact) <= 2e-16 * abs(exact)
    assert abs(got - _two_pass_correlation(x, y).item()) <= 1e-14 * abs(exact)


def test_ill_conditioned_correlations_fall_back_to_two_passes():
    """A low-contrast non-integer image (mean 200, std 1e-3: the raw moments would cancel 10¹⁰
    times) takes the two-pass form, bit for bit; a constant image gives 0, or NaN on request."""
    gen = torch.Generator().manual_seed(5)
    x = 200 + 1e-3 * torch.randn(1, 1, 30, 40, generator=gen, dtype=torch.float64)
    y = x + 1e-3 * torch.randn(1, 1, 30, 40, generator=gen, dtype=torch.float64)
    assert torch.equal(pearson(x, y), _two_pass_correlation(x, y))
    flat = torch.full_like(x, 7.0)
    assert correlations([x, flat], [(0, 1)])[0].item() == 0.0
    assert torch.isnan(correlations([x, flat], [(0, 1)], constant_as_zero=False)[0]).item()


def test_finite_mask_finds_nan_inf_and_survives_overflowing_sums():
    x = torch.zeros(4, 1, 6, 7, dtype=torch.float64)
    x[1, 0, 2, 3] = float('nan')
    x[2, 0, 5, 6] = -float('inf')
    x[3] = 1e308  # finite pixels whose sum overflows: the per-pixel test decides
    assert finite_mask(x).tolist() == [True, False, False, True]
