"""Dark-channel-prior dehazing against a NumPy transcription of He et al.'s algorithm."""
import numpy as np
import pytest
import torch
from scipy.ndimage import minimum_filter

from mmhaze.datasets import SyntheticFusionDataset
from mmhaze.evaluation.functional import psnr
from mmhaze.models.dehazers import DarkChannelPriorDehazer
from mmhaze.models.haze import atmospheric_light, dark_channel


def box_mean(x, radius):
    """Mean over a (2r+1)² window, borders mirrored without repeating the edge pixel."""
    k = 2 * radius + 1
    p = np.pad(x, radius, mode='reflect')
    c = np.pad(p.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    return (c[k:, k:] - c[:-k, k:] - c[k:, :-k] + c[:-k, :-k]) / (k * k)


def guided_filter_np(guide, src, radius, eps):
    """He, Sun, Tang (ECCV 2010), Algorithm 1."""
    mean_i, mean_p = box_mean(guide, radius), box_mean(src, radius)
    var_i = box_mean(guide * guide, radius) - mean_i ** 2
    cov_ip = box_mean(guide * src, radius) - mean_i * mean_p
    a = cov_ip / (var_i + eps)
    b = mean_p - a * mean_i
    return box_mean(a, radius) * guide + box_mean(b, radius)


def dehaze_np(image, patch=15, omega=0.95, top=0.001, t0=0.1, radius=60, eps=1e-4):
    """He, Sun, Tang (TPAMI 2011) on an H×W×3 image in [0, 1]."""
    dark = minimum_filter(image.min(axis=2), size=patch, mode='nearest')
    count = max(int(np.floor(dark.size * top)), 1)
    brightest_dark = np.argsort(dark.ravel(), kind='stable')[::-1][:count]
    candidates = image.reshape(-1, 3)[brightest_dark]
    airlight = candidates[np.argmax(candidates.mean(axis=1))]  # the most intense of them
    raw = 1 - omega * minimum_filter((image / airlight).min(axis=2), size=patch, mode='nearest')
    gray = image @ np.array([0.299, 0.587, 0.114])
    t = guided_filter_np(gray, raw, radius, eps)
    return (image - airlight) / np.maximum(t, t0)[..., None] + airlight, airlight, t


def hazy_scene(seed=0, size=64):
    """Texture behind uniform-colour haze thickening upwards, and an opaque sky band."""
    rng = np.random.default_rng(seed)
    clear = np.clip(rng.uniform(0.05, 0.7, (size, size, 3)) *
                    np.linspace(0.6, 1.0, size)[None, :, None], 0, 1)
    t = np.linspace(0.2, 0.9, size)[:, None, None] * np.ones((size, size, 1))
    t[:8] = 0.0  # sky: the hazy image is the airlight there
    airlight = np.array([0.85, 0.88, 0.92])
    return clear, clear * t + airlight * (1 - t), airlight


def test_equals_a_numpy_transcription_of_he_et_al():
    _, hazy, true_airlight = hazy_scene()
    expected, airlight, t = dehaze_np(hazy)
    assert np.allclose(airlight, true_airlight, atol=1e-6)
    net = DarkChannelPriorDehazer()
    x = torch.from_numpy(hazy).permute(2, 0, 1)[None]
    est = net.estimate(x.double())
    assert torch.allclose(est['airlight'].flatten(), torch.from_numpy(airlight), atol=1e-12)
    assert np.allclose(est['transmission'][0, 0].numpy(), t, atol=1e-9)
    out = net(x.float())[0].permute(1, 2, 0).double().numpy()
    assert np.abs(out - expected).max() < 1e-4  # float32 vs float64, amplified by 1/t ≤ 10


def test_atmospheric_light_rules():
    # dark channel values 0.9, 0.8, 0.7, …: with top_fraction 2/9 the candidates are pixels 0
    # and 1; pixel 1 is the more intense (its mean 0.9 > 0.8).
    image = torch.zeros(1, 3, 3, 3)
    image[0, :, 0, 0] = torch.tensor([0.9, 0.9, 0.6])    # mean 0.8
    image[0, :, 0, 1] = torch.tensor([0.8, 0.9, 1.0])    # mean 0.9
    image[0, :, 0, 2] = torch.tensor([0.7, 1.0, 1.0])
    dark = torch.tensor([[0.9, 0.8, 0.7], [0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])[None, None]
    brightest = atmospheric_light(image, dark, 2 / 9, rule='brightest').flatten()
    mean = atmospheric_light(image, dark, 2 / 9, rule='mean').flatten()
    assert torch.allclose(brightest, torch.tensor([0.8, 0.9, 1.0]))
    assert torch.allclose(mean, torch.tensor([0.85, 0.9, 0.8]))
    with pytest.raises(ValueError, match='rule'):
        atmospheric_light(image, dark, rule='max')


def test_recovers_the_clear_image_and_improves_psnr_on_synthetic_haze():
    clear, hazy, _ = hazy_scene(seed=1)
    x = torch.from_numpy(hazy).float().permute(2, 0, 1)[None]
    ref = torch.from_numpy(clear).float().permute(2, 0, 1)[None]
    out = DarkChannelPriorDehazer()(x).clamp(0, 1)
    gain = (psnr(out, ref) - psnr(x, ref)).item()
    assert gain > 2.0  # the opaque sky band cannot be recovered
    # mmhaze's own synthetic scenes (haze by the scattering model on a depth map)
    dataset = SyntheticFusionDataset(num_samples=4, img_size=64, seed=1000,
                                     pipeline=[dict(type='PackFusionInputs')])
    gains = []
    for i in range(len(dataset)):
        item = dataset[i]
        vis = item['inputs']['vis'].float()[None]
        vis = vis / 255 if vis.max() > 1 else vis
        gt = item['data_samples'].gt_clear.data.float()[None]
        gt = gt / 255 if gt.max() > 1 else gt
        dehazed = DarkChannelPriorDehazer()(vis).clamp(0, 1)
        gains.append((psnr(dehazed, gt, quantize=True) - psnr(vis, gt, quantize=True)).item())
    assert min(gains) > 0.5, gains


def test_batched_equals_one_by_one_and_has_no_parameters():
    net = DarkChannelPriorDehazer(guided_radius=8)
    assert not list(net.parameters())
    batch = torch.stack([torch.from_numpy(hazy_scene(s, 32)[1]).float().permute(2, 0, 1)
                         for s in range(3)])
    together = net(batch)
    alone = torch.cat([net(batch[i:i + 1]) for i in range(3)])
    assert torch.allclose(together, alone, atol=1e-6)
    assert dark_channel(batch).shape == (3, 1, 32, 32)
    with pytest.raises(ValueError, match='RGB'):
        net(batch[:, :1])
