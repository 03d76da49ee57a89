"""Physics and determinism of the embedded procedural scenes."""
import numpy as np
import pytest
import torch

from mmhaze.datasets import CLASSES, SyntheticFusionDataset, render_scene
from mmhaze.datasets.synthetic_scene import CAR, PERSON, SKY, VEGETATION, HazeParams


def _dark_channel(img, k=7):
    from scipy.ndimage import minimum_filter
    return minimum_filter(img.min(axis=2), size=k)


@pytest.fixture(scope='module')
def scenes():
    return [render_scene(i, seed=3, size=(96, 128)) for i in range(8)]


def test_shapes_ranges_and_determinism(scenes):
    s = scenes[0]
    assert s.clear_vis.shape == (96, 128, 3) and s.thermal.shape == (96, 128)
    for img in (s.clear_vis, s.hazy_vis, s.nir, s.thermal):
        assert img.dtype == np.float32 and img.min() >= 0 and img.max() <= 1
    assert s.labels.max() < len(CLASSES) and s.depth.min() > 0
    again = render_scene(0, seed=3, size=(96, 128))
    np.testing.assert_array_equal(again.hazy_vis, s.hazy_vis)
    np.testing.assert_array_equal(again.labels, s.labels)
    assert not np.array_equal(scenes[1].clear_vis, s.clear_vis)
    assert not np.array_equal(render_scene(0, seed=4, size=(96, 128)).clear_vis, s.clear_vis)


def test_hazy_renders_follow_the_scattering_model(scenes):
    for s in scenes:
        a = np.asarray(s.haze['airlight'], np.float32)
        t = s.transmission[..., None]
        np.testing.assert_allclose(s.hazy_vis, np.clip(s.clear_vis * t + a * (1 - t), 0, 1),
                                   atol=1e-5)
        assert np.allclose(s.transmission, np.exp(-s.haze['beta'] * s.depth), atol=1e-5)
        assert s.haze['mean_transmission'] == pytest.approx(float(s.transmission.mean()))
        # far things (sky) are veiled by the airlight, near things keep their contrast
        sky = s.labels == SKY
        assert np.abs(s.hazy_vis[sky] - a).mean() < 0.02


def test_dark_channel_of_hazy_is_brighter(scenes):
    for s in scenes:
        assert _dark_channel(s.hazy_vis).mean() > _dark_channel(s.clear_vis).mean() + 0.05


def test_thermal_is_brightest_on_warm_objects(scenes):
    for s in scenes:
        warm = np.isin(s.labels, [PERSON, CAR])
        if warm.sum() < 10:
            continue
        others = ~warm & (s.labels != SKY)
        assert s.thermal[warm].mean() > s.thermal[others].mean() + 0.1
        assert s.thermal[s.labels == SKY].mean() < s.thermal[others].mean()


def test_nir_brighter_than_visible_on_vegetation_and_darker_sky(scenes):
    for s in scenes:
        veg = s.labels == VEGETATION
        vis_lum = s.clear_vis @ np.array([0.299, 0.587, 0.114], np.float32)
        assert s.clear_nir[veg].mean() > vis_lum[veg].mean() + 0.2
        sky = s.labels == SKY
        if sky.sum() > 10:
            assert s.clear_nir[sky].mean() < vis_lum[sky].mean()


def test_nir_penetrates_haze_better_than_visible(scenes):
    for s in scenes:
        assert s.haze['beta_nir'] < s.haze['beta']


def test_haze_parameters_are_respected():
    s = render_scene(0, size=(32, 48), haze=HazeParams(beta_range=(0.0, 0.0)))
    np.testing.assert_allclose(s.hazy_vis, s.clear_vis, atol=1e-6)  # β = 0: no haze
    with pytest.raises(ValueError, match='at least 16'):
        render_scene(0, size=(8, 8))


def test_dataset_items_and_pipeline():
    ds = SyntheticFusionDataset(num_samples=3, img_size=(40, 56), seed=7, modality='nir',
                                pipeline=[dict(type='PackFusionInputs')])
    assert len(ds) == 3 and ds.metainfo['classes'] == CLASSES
    item = ds[1]
    vis, ir = item['inputs']['vis'], item['inputs']['ir']
    assert vis.shape == (3, 40, 56) and ir.shape == (1, 40, 56)
    assert vis.dtype == torch.float32 and 0 <= vis.min() and vis.max() <= 1
    sample = item['data_samples']
    assert sample.img_id == 'synthetic_s7_00001' and sample.modality == 'nir'
    assert sample.gt_clear.shape == (40, 56) and sample.gt_sem_seg.data.dtype == torch.int64
    assert 0 < sample.haze['mean_transmission'] < 1
    assert torch.equal(ds[1]['inputs']['vis'], vis)  # rendered again, identically
    with pytest.raises(ValueError, match='modality'):
        SyntheticFusionDataset(modality='radar')
