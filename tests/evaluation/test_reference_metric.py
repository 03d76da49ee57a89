import numpy as np
import pytest
import torch

from mmhaze.evaluation import ReferenceMetric
from mmhaze.evaluation.functional import gaussian_window, psnr, quantize_8bit, ssim
from mmhaze.structures import FusionDataSample


def test_psnr_known_values():
    ref = torch.zeros(2, 3, 8, 8)
    pred = ref.clone()
    pred[0] += 0.1  # MSE 0.01 → 20 dB
    vals = psnr(pred, ref, quantize=False)
    assert vals[0].item() == pytest.approx(20.0, abs=1e-4)
    assert vals[1].item() == pytest.approx(100.0)  # identical images: the documented cap


def test_ssim_matches_skimage_gaussian_variant():
    from skimage.metrics import structural_similarity
    rng = np.random.default_rng(1)
    a = rng.random((40, 48, 3))
    b = np.clip(a + rng.normal(0, 0.08, a.shape), 0, 1)
    ta = torch.from_numpy(a).permute(2, 0, 1)[None]
    tb = torch.from_numpy(b).permute(2, 0, 1)[None]
    expected = np.mean([structural_similarity(b[..., c], a[..., c], data_range=1.0,
                                              gaussian_weights=True, sigma=1.5,
                                              use_sample_covariance=False) for c in range(3)])
    assert ssim(tb, ta, quantize=False).item() == pytest.approx(expected, abs=1e-10)
    assert ssim(ta, ta).item() == pytest.approx(1.0)
    with pytest.raises(ValueError, match='at least 11'):
        ssim(ta[..., :8, :8], ta[..., :8, :8])


def test_gaussian_window_is_matlab_fspecial():
    w = gaussian_window(11, 1.5)
    assert w.sum().item() == pytest.approx(1.0) and w[5, 5] == w.max()
    assert w[0, 0].item() == pytest.approx(1.0576e-06, rel=1e-3)  # fspecial('gaussian',11,1.5)


def test_quantization_matches_png_storage():
    x = torch.tensor([0.5, 0.50196, 1.2, -0.1])
    assert torch.allclose(quantize_8bit(x) * 255, torch.tensor([128., 128., 255., 0.]))


def _sample(img_id, pred, clear, hazy):
    s = FusionDataSample(metainfo=dict(img_id=img_id))
    s.pred_dehazed, s.gt_clear, s.vis, s.ir = pred, clear, hazy, hazy[:1]
    return s.to_dict()


def test_metric_reports_model_and_hazy_input_rows():
    torch.manual_seed(0)
    clear = torch.rand(3, 16, 16)
    metric = ReferenceMetric(include_input=True, prefix='toy')
    metric.process({}, [_sample('a', clear, clear, clear * 0.5 + 0.4),
                        _sample('b', (clear + 0.05).clamp(0, 1), clear, clear * 0.5 + 0.4)])
    res = metric.evaluate(2)
    assert res['toy/PSNR_ref'] > res['toy/hazy input/PSNR_ref']
    assert res['toy/SSIM_ref'] > res['toy/hazy input/SSIM_ref']
    rows = metric.per_image_rows
    assert len(rows) == 4 and {r['method'] for r in rows} == {'model', 'hazy input'}
    assert rows[0]['PSNR_ref'] == pytest.approx(100.0)


def test_a_missing_reference_is_one_error_or_a_counted_skip():
    """Without gt_clear the metric used to drop the image, and the table its columns, silently
    (issue 11, item 3)."""
    clear = torch.rand(3, 16, 16)
    bad = FusionDataSample(metainfo=dict(img_id='broken', vis_path='hazy/broken.png'))
    bad.pred_dehazed = clear
    with pytest.raises(KeyError) as err:
        ReferenceMetric().process({}, [bad.to_dict()])
    assert str(err.value) == ("ReferenceMetric: image 'broken' (hazy/broken.png) has no "
                              "'gt_clear' (the reference to compare with: does the dataset "
                              'provide clear images?)')
    metric = ReferenceMetric(skip_errors=True)
    metric.process({}, [bad.to_dict(), _sample('ok', clear, clear, clear)])
    res = metric.evaluate(2)
    assert [r['image'] for r in metric.per_image_rows] == ['ok']
    assert [s['image'] for s in metric.skipped] == ['broken']
    assert res['PSNR_ref'] == pytest.approx(100.0)
    with pytest.raises(ValueError, match="'PSNR' is a fusion metric; ReferenceMetric computes"):
        ReferenceMetric(metrics=['PSNR'])


def _ssim_first_implementation(pred, ref):
    """The first SSIM_ref (one 11×11 float64 conv2d per moment): the values to keep."""
    x, y = quantize_8bit(pred).double(), quantize_8bit(ref).double()
    c = x.shape[1]
    win = gaussian_window(11, 1.5)[None, None].expand(c, 1, 11, 11)
    filt = lambda t: torch.nn.functional.conv2d(t, win, groups=c)  # noqa: E731
    mu_x, mu_y = filt(x), filt(y)
    sxx, syy, sxy = filt(x * x) - mu_x ** 2, filt(y * y) - mu_y ** 2, filt(x * y) - mu_x * mu_y
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    m = ((2 * mu_x * mu_y + c1) * (2 * sxy + c2)) / (
        (mu_x ** 2 + mu_y ** 2 + c1) * (sxx + syy + c2))
    return m.flatten(1).mean(1)


def _scene_pair(size, seed):
    from mmhaze.datasets.synthetic_scene import render_scene
    scene = render_scene(seed, 3, size)
    to = lambda a: torch.from_numpy(a).permute(2, 0, 1)[None].float()  # noqa: E731
    return to(scene.hazy_vis), to(scene.clear_vis)


@pytest.mark.parametrize('case', ['scene_rgb_odd', 'scene_gray_odd', 'random_rgb', 'flat'])
def test_ssim_and_psnr_equal_the_first_implementation(case):
    gen = torch.Generator().manual_seed(3)
    if case.startswith('scene'):
        pred, ref = _scene_pair((121, 163), 5)  # flat sky + structure, odd sizes
        if case == 'scene_gray_odd':
            pred, ref = pred.mean(1, keepdim=True), ref.mean(1, keepdim=True)
    elif case == 'random_rgb':
        ref = torch.rand(2, 3, 37, 53, generator=gen)
        pred = (ref + 0.1 * torch.randn(2, 3, 37, 53, generator=gen)).clamp(0, 1)
    else:
        ref = torch.full((1, 3, 23, 29), 0.5)
        pred = ref + 0.01
    expected = _ssim_first_implementation(pred, ref)
    got = ssim(pred, ref)
    assert got.dtype == torch.float64
    assert torch.allclose(got, expected, rtol=0, atol=1e-6)
    assert torch.allclose(got, expected, rtol=0, atol=1e-12)  # float64 moments: exact
    mse = (quantize_8bit(pred).double() - quantize_8bit(ref).double()).pow(2).flatten(1).mean(1)
    assert torch.allclose(psnr(pred, ref), 10 * torch.log10(1 / mse), rtol=0, atol=1e-9)
