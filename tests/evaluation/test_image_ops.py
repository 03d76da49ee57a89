import pytest
import torch
import torch.nn.functional as F

from mmhaze.evaluation.functional.image_ops import (
    conv2,
    fspecial_gaussian,
    gaussian_taps,
    local_moments,
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
