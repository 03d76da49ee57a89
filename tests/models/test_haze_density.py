"""Dark-channel haze density: hand-computed cases, an OpenCV reference, presets and gradients."""
import math

import cv2
import kornia
import numpy as np
import pytest
import torch

from mmhaze.models.haze import (
    HazeDensityEstimator,
    atmospheric_light,
    box_filter,
    dark_channel,
    guided_filter,
    raw_transmission,
)


def test_dark_channel_by_hand():
    img = torch.ones(1, 3, 5, 7)
    img[0, 1, 2, 3] = 0.2  # one dark pixel in one channel
    img[0, 0, 0, 0] = 0.5
    dark = dark_channel(img, patch_size=3)
    expected = torch.ones(1, 1, 5, 7)
    expected[0, 0, 1:4, 2:5] = 0.2  # the 3×3 neighbourhood of (2, 3)
    expected[0, 0, 0:2, 0:2] = 0.5  # clipped at the border, not padded with zeros
    assert torch.equal(dark, expected)
    with pytest.raises(ValueError, match='odd'):
        dark_channel(img, patch_size=4)


def test_atmospheric_light_and_transmission_by_hand():
    img = torch.full((2, 3, 10, 100), 0.1)  # 1000 pixels: the top 0.1 % is one pixel
    img[0, :, 4, 50] = torch.tensor([0.9, 0.8, 0.7])
    img[1, :, 0, 0] = torch.tensor([0.3, 0.6, 0.9])
    dark = img.amin(dim=1, keepdim=True)  # patch 1: the dark channel is the channel min
    a = atmospheric_light(img, dark)
    assert a.shape == (2, 3, 1, 1)
    assert torch.allclose(a[0].flatten(), torch.tensor([0.9, 0.8, 0.7]))
    assert torch.allclose(a[1].flatten(), torch.tensor([0.3, 0.6, 0.9]))
    # t = 1 − ω·min_c(I_c / A_c) at patch 1: a flat pixel gives min(0.1/0.9, 0.1/0.8, 0.1/0.7).
    t = raw_transmission(img, omega=0.95, patch_size=1, airlight=a)
    assert math.isclose(t[0, 0, 0, 0].item(), 1 - 0.95 * 0.1 / 0.9, rel_tol=1e-6)
    assert math.isclose(t[0, 0, 4, 50].item(), 1 - 0.95, rel_tol=1e-6)
    assert math.isclose(t[1, 0, 5, 5].item(), 1 - 0.95 * 0.1 / 0.9, rel_tol=1e-6)
    # 2000 pixels → the two brightest dark-channel pixels are averaged.
    img2 = torch.zeros(1, 1, 20, 100)
    img2[0, 0, 0, :2] = torch.tensor([1.0, 0.5])
    assert math.isclose(atmospheric_light(img2, img2).item(), 0.75)


def test_density_by_hand_with_a_one_pixel_box():
    # A 1×1 guided-filter box returns its input (a = 0, b = p), so D = 0.95·dark exactly.
    feat = torch.zeros(1, 4, 12, 20)
    feat[..., 10:] = 2.0  # channel mean: 0 on the left, 2 on the right → normalised 0 / 1
    est = HazeDensityEstimator('official', patch_size=5, box_size=1)
    d = est(feat)
    expected = torch.zeros(1, 1, 12, 20)
    expected[..., 12:] = 0.95  # the 5×5 min reaches the dark half up to two columns away
    assert d.shape == (1, 1, 12, 20) and d.dtype == torch.float32
    assert torch.allclose(d, expected, atol=1e-7)


def _opencv_guided_filter(guide, src, r, eps):
    """He et al.'s guided filter with OpenCV box means (the reference code's formulation)."""
    def box(x):
        return cv2.boxFilter(x, cv2.CV_64F, (r, r))
    mean_i, mean_p = box(guide), box(src)
    cov = box(guide * src) - mean_i * mean_p
    var = box(guide * guide) - mean_i * mean_i
    a = cov / (var + eps)
    b = mean_p - a * mean_i
    return box(a) * guide + box(b)


def _opencv_official_density(feat: torch.Tensor) -> np.ndarray:
    """IASSF's released density, written here with NumPy/OpenCV from its description."""
    out = []
    for f in feat.mean(dim=1).numpy():  # float32 channel mean
        norm = (f - f.min()) / (f.max() - f.min() + np.float32(1e-8))
        q = (norm * 255).astype(np.uint8).astype(np.float64) / 255
        dark = cv2.erode(q, cv2.getStructuringElement(cv2.MORPH_RECT, (15, 15)))
        t = _opencv_guided_filter(q, 1 - 0.95 * dark, 60, 1e-4)
        out.append((1 - t).astype(np.float32))
    return np.stack(out)[:, None]


@pytest.mark.parametrize('size', [(64, 80), (31, 45), (20, 26), (16, 22)])
def test_official_density_matches_an_opencv_implementation(size):
    torch.manual_seed(0)
    feat = torch.randn(2, 6, *size).cumsum(-1)  # smooth-ish, like features
    ours = HazeDensityEstimator('official')(feat)
    ref = torch.from_numpy(_opencv_official_density(feat))
    assert ours.shape == ref.shape
    # float64 maths with the same 8-bit input: equal up to float32 rounding of the result,
    # also on sides shorter than the 60-px box, which both mirror periodically.
    assert (ours - ref).abs().max().item() < 1e-6
    assert 0.0 < ours.min() and ours.max() < 1.0


@pytest.mark.parametrize('box', [1, 2, 3, 8, 15, 31, 60])
def test_integral_box_filter_equals_kornia_box_blur(box):
    torch.manual_seed(0)
    x = torch.rand(2, 3, 67, 81, dtype=torch.float64)
    ours = box_filter(x, box)
    # kornia anchors an even window at (k − 1) // 2, OpenCV (and box_filter) at k // 2:
    # filtering the flipped image and flipping back moves kornia's anchor to OpenCV's.
    flip = box % 2 == 0
    ref = kornia.filters.box_blur(x.flip(-2, -1) if flip else x, box, 'reflect')
    ref = ref.flip(-2, -1) if flip else ref
    assert ours.dtype == torch.float64 and ours.shape == x.shape
    assert (ours - ref).abs().max().item() < 1e-13
    # The borders, where the mirroring matters, agree on their own.
    for edge in (ours[..., 0, :] - ref[..., 0, :], ours[..., -1] - ref[..., -1]):
        assert edge.abs().max().item() < 1e-13
    # A corner by hand: the mean of the mirrored window around pixel (0, 0).
    r0, r1 = box // 2, (box - 1) // 2
    rows = [abs(i) for i in range(-r0, r1 + 1)]
    window = x[0, 0][rows][:, rows]
    assert ours[0, 0, 0, 0].item() == pytest.approx(window.mean().item(), abs=1e-13)


@pytest.mark.parametrize('size,box', [((5, 9), 15), ((1, 7), 4), ((12, 3), 60), ((40, 48), 60)])
def test_integral_box_filter_equals_opencv_on_short_sides(size, box):
    # Sides up to half the window: mirrored periodically (torch and kornia refuse to pad).
    x = np.random.default_rng(2).random(size)
    ref = cv2.boxFilter(x, cv2.CV_64F, (box, box))
    ours = box_filter(torch.from_numpy(x)[None, None], box)[0, 0].numpy()
    assert np.abs(ours - ref).max() < 1e-13
    f32 = box_filter(torch.from_numpy(x).float()[None, None], box)
    assert f32.dtype == torch.float32
    assert np.abs(f32[0, 0].numpy() - ref).max() < 1e-7


def test_guided_filter_even_box_uses_opencv_anchor_and_odd_sizes():
    rng = np.random.default_rng(1)
    guide, src = rng.random((33, 47)), rng.random((33, 47))
    for r in (4, 7):
        ref = _opencv_guided_filter(guide, src, r, 1e-3)
        ours = guided_filter(torch.from_numpy(guide)[None, None], torch.from_numpy(src)[None, None],
                             r, 1e-3)
        assert np.abs(ours[0, 0].numpy() - ref).max() < 1e-12


def test_official_preset_has_no_gradient_and_paper_preset_has_one():
    feat = torch.randn(1, 4, 40, 40, requires_grad=True)
    d = HazeDensityEstimator('official')(feat)
    assert not d.requires_grad
    d = HazeDensityEstimator('paper')(feat)
    assert d.requires_grad and 0.0 <= d.min() and d.max() <= 1.0
    d.sum().backward()
    assert feat.grad is not None and feat.grad.abs().sum() > 0


def test_presets_differ_and_switches_override():
    torch.manual_seed(3)
    feat = torch.randn(1, 4, 48, 48).cumsum(-2)
    official = HazeDensityEstimator('official')(feat)
    paper = HazeDensityEstimator('paper')(feat)
    assert (official - paper).abs().max() > 1e-3  # A divides the image in the paper preset
    # The paper preset without A and without clamping, in float64 and quantised, is the official.
    same = HazeDensityEstimator('paper', use_atmospheric_light=False, quantize=True,
                                clamp=False, precision='float64')(feat)
    assert torch.allclose(same, official, atol=1e-7)
    with pytest.raises(ValueError, match='preset'):
        HazeDensityEstimator('papper')
