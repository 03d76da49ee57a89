"""Known values of the suites' metrics: identities (an image fused with itself), hand-computed
cases and bounds. The values against the suites' own code are in test_suite_metrics.py."""
import math

import pytest
import torch

from mmhaze.evaluation.functional import metric_spec

H, W = 48, 56


def _metric(key: str, *images, **options) -> float:
    return metric_spec(key).function(*images, **options).item()


@pytest.fixture(scope='module')
def images():
    """A smooth-with-noise 'IR' a, a noise 'VIS' b and their rounded mean f (0–255 levels)."""
    gen = torch.Generator().manual_seed(0)
    smooth = torch.nn.functional.avg_pool2d(torch.rand(1, 1, H + 4, W + 4, generator=gen), 5, 1)
    a = torch.round(smooth * 200 + torch.rand(1, 1, H, W, generator=gen) * 40).double()
    b = torch.round(torch.rand(1, 1, H, W, generator=gen) * 255).double()
    return a, b, torch.round((a + b) / 2)


def test_information_identities(images):
    a, b, f = images
    # VIFB's CE is a relative entropy: 0 for equal histograms
    assert _metric('CE', a, a, a) == 0.0
    assert _metric('CE', f, a, b) > 0.1
    # I(A;A) = H(A): NMI = 2·2H / 2H = 2 and Q_MI = 2·(H/2H + H/2H) = 2, their upper bounds
    assert _metric('NMI', a, a, a) == pytest.approx(2.0, abs=1e-12)
    assert 0.0 < _metric('NMI', f, a, b) < 2.0
    assert _metric('Q_MI', a, a, a) == pytest.approx(2.0, abs=1e-12)
    assert 0.0 < _metric('Q_MI', f, a, b) < 2.0
    # TE = T(A) + T(B) − T(F): with A = B = F it is T(A); Shannon (q = 1) in bits = EN
    assert _metric('TE', a, a, a) == pytest.approx(_metric('EN', a), rel=1e-12)
    counts = torch.bincount(a.flatten().long(), minlength=256).double()
    p = counts / counts.sum()
    assert _metric('TE', a, a, a, q=2.0) == pytest.approx(1 - (p * p).sum().item(), rel=1e-12)
    for correlation in ('nonlinear', 'pearson'):
        assert 0.0 < _metric('Q_NCIE', f, a, b, correlation=correlation) < 1.0


def _ncie_of_eigenvalues(*lam: float) -> float:
    return 1 + sum(x / 3 * math.log(x / 3, 256) for x in lam if x > 0)


def test_ncie_of_identical_and_constant_images(images):
    """Q_NCIE where R is singular takes the limit 0·log 0 = 0 (IVIF_ZOO's code returns NaN
    there, Liu's metricWang.m under Octave a complex number of real part 1 + 1.1e-15)."""
    a, _, _ = images
    # Pearson: r = 1, R = ones(3): λ = 3, 0, 0 → 1
    assert _metric('Q_NCIE', a, a, a, correlation='pearson') == pytest.approx(1.0, abs=1e-12)
    # NCC(x, x) = H(x)/8 after Liu's min-max stretch: 1 for a flat histogram (R = ones(3) again;
    # Octave: 1.0000000000000011 − 1.06e-16i), else R has λ = 1 + 2r, 1 − r, 1 − r
    ramp = torch.arange(256.).repeat(16).view(1, 1, 64, 64).double()
    assert _metric('Q_NCIE', ramp, ramp, ramp) == pytest.approx(1.0, abs=1e-12)
    stretched = torch.round((a - a.min()) / (a.max() - a.min()) * 255)
    r = _metric('EN', stretched) / 8
    assert _metric('Q_NCIE', a, a, a) == pytest.approx(
        _ncie_of_eigenvalues(1 + 2 * r, 1 - r, 1 - r), rel=1e-12)
    # constant images: Liu stretches them to 0, NCC = 0, R = I → 1 − log2(3)/8 (Octave:
    # 0.80187968740985549); a constant image has no Pearson correlation: NaN, not an error
    flat = torch.full((2, 1, 8, 8), 7.0, dtype=torch.float64)
    assert metric_spec('Q_NCIE').function(flat, flat, flat).tolist() == pytest.approx(
        [1 - math.log2(3) / 8] * 2, rel=1e-14)
    assert _ncie_of_eigenvalues(1, 1, 1) == pytest.approx(0.80187968740985549, rel=1e-15)
    pearson = metric_spec('Q_NCIE').function(
        torch.cat([flat[:1], a[..., :8, :8]]), torch.cat([flat[:1], a[..., :8, :8]]),
        torch.cat([flat[:1], a[..., 8:16, :8]]), correlation='pearson')
    assert math.isnan(pearson[0]) and 0 < pearson[1] < 1


def test_sigmoid_cross_entropy_of_zeros_is_ln2():
    # sigmoid(0) = 1/2 for F and both sources: BCE(1/2, 1/2) = ln 2 (float32 arithmetic)
    zeros = torch.zeros(1, 1, 8, 8, dtype=torch.float64)
    assert _metric('CE_sigmoid', zeros, zeros, zeros) == pytest.approx(math.log(2), rel=1e-7)


def test_error_metrics_of_a_constant_offset(images):
    a = images[0]
    assert _metric('MSE', a, a, a) == 0.0 and _metric('RMSE', a, a, a) == 0.0
    f = a + 3
    assert _metric('MSE', f, a, a) == pytest.approx(9.0, rel=1e-12)
    assert _metric('MSE', f, a, a, scale=1 / 255) == pytest.approx(9 / 255 ** 2, rel=1e-12)
    assert _metric('PSNR', f, a, a) == pytest.approx(10 * math.log10(255 ** 2 / 9), rel=1e-12)
    # VIFB's "RMSE" is sqrt(Σ d²) / (H·W), not sqrt(Σ d² / (H·W)): 3 / sqrt(H·W) here
    vifb_error = 3 / math.sqrt(H * W)
    assert _metric('RMSE', f, a, a, error='vifb') == pytest.approx(vifb_error, rel=1e-12)
    assert _metric('PSNR', f, a, a, error='vifb') == pytest.approx(
        20 * math.log10(255 / math.sqrt(vifb_error)), rel=1e-12)


def test_structural_identities(images):
    a, b, f = images
    # SSIM(A, A) = 1 in every window, so every weighting of it gives 1
    for key, options in (('Q_S', {}), ('Q_C', {}), ('Q_Y', {}), ('Q_Y', dict(form='ivif_zoo')),
                         ('Q_CB', dict(form='vifb'))):
        assert _metric(key, a, a, a, **options) == pytest.approx(1.0, abs=1e-12), (key, options)
    for key in ('Q_S', 'Q_C', 'Q_Y', 'Q_CB'):
        assert 0.0 < _metric(key, f, a, b) < 1.0, key
    # IVIF_ZOO's Qy window is a 1×7 Gaussian expanded to 7×7 (it sums to 7, not 1): its SSIM
    # maps, and Qy, are not bounded by 1
    assert _metric('Q_Y', f, a, b, form='ivif_zoo') == pytest.approx(1.0044, abs=1e-4)
    # Liu's Q_G (metricXydeas) is not Qabf: other sigmoid constants, another value
    assert _metric('Q_G', a, a, a) == pytest.approx(0.98666, abs=1e-5)
    assert _metric('Qabf', a, a, a) == pytest.approx(0.97533, abs=1e-5)
    # no gradient added to the sources: no artefacts; Zheng's ratio to the best source SF: 0
    assert _metric('Nabf', a, a, a) == 0.0
    assert _metric('Q_SF', a, a, a) == pytest.approx(0.0, abs=1e-12)
    big = torch.round(torch.nn.functional.interpolate(a, size=(176, 176), mode='bilinear'))
    assert _metric('MS_SSIM', big, big, big) == pytest.approx(2.0, abs=1e-12)


def test_ivif_zoo_qy_window_is_filtered_separably():
    """IVIF_ZOO's Qy window (its 1×7 Gaussian row expanded to 7×7) has rank one: two 1-D
    passes (a 7-row box, then the Gaussian) equal its zero-padded 7×7 conv2d."""
    import numpy as np

    from mmhaze.evaluation.functional.structural import _zoo_window_sum
    row = torch.tensor([np.exp(-(x - 3) ** 2 / (2 * 1.5 ** 2)) for x in range(7)])
    window = (row / row.sum()).expand(1, 1, 7, 7)
    assert torch.linalg.matrix_rank(window[0, 0]).item() == 1
    x = torch.rand(2, 1, 37, 53, generator=torch.Generator().manual_seed(1),
                   dtype=torch.float64) * 255
    expected = torch.nn.functional.conv2d(x, window, padding=3)
    got = _zoo_window_sum(x)
    assert got.shape == expected.shape
    assert torch.allclose(got, expected, rtol=1e-14, atol=0)


def test_edge_intensity_of_a_ramp():
    # horizontal ramp of slope 1: Sobel gx = 8 inside, 4 in the first and last columns
    # (replicate padding), gy = 0
    ramp = torch.arange(W, dtype=torch.float64).repeat(H, 1)[None, None]
    expected = (8 * (W - 2) + 2 * 4) / W
    assert _metric('EI', ramp) == pytest.approx(expected, rel=1e-12)
    assert _metric('EI', torch.full((1, 1, H, W), 9.0)) == 0.0


@pytest.mark.parametrize('key', ['FMI_pixel', 'FMI_dct', 'FMI_edge'])
def test_fmi_of_an_image_fused_with_itself_is_one(images, key):
    a, b, f = images
    assert _metric(key, a, a, a) == 1.0  # every window pair equal: fmi.m's FMI = 1 per window
    assert 0.0 < _metric(key, f, a, b) < 1.0


def test_fmi_features_dct_and_edges():
    from scipy.fft import dctn

    from mmhaze.evaluation.functional.feature_mutual_information import dct2, sobel_edges
    gen = torch.Generator().manual_seed(1)
    x = torch.round(torch.rand(2, 1, 9, 14, generator=gen, dtype=torch.float64) * 255)
    expected = torch.from_numpy(dctn(x.numpy(), axes=(-2, -1), norm='ortho'))
    assert torch.allclose(dct2(x), expected, rtol=0, atol=1e-10)  # MATLAB dct2 = orthonormal
    # a vertical step 0 | 100 at column 8 of 8×16: bx = 50 on columns 7 and 8 (interior rows),
    # threshold 4·mean(b) over the 6×14 interior = 4·12·2500/84 ≈ 1429 < 2500; thinning keeps
    # the pixel whose left neighbour is ≤ and right neighbour < it: column 8, rows 1–6
    step = torch.zeros(1, 1, 8, 16, dtype=torch.float64)
    step[..., 8:] = 100
    edges = sobel_edges(step)[0, 0]
    expected = torch.zeros(8, 16, dtype=torch.float64)
    expected[1:7, 8] = 1
    assert torch.equal(edges, expected)
