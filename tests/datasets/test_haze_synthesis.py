"""Haze synthesis: the measured A and transmission of synthesised haze match what was asked."""
import cv2
import numpy as np
import pytest

from mmhaze.datasets import fit_scattering_model
from mmhaze.datasets.haze_synthesis import (
    HAZE_PRESETS,
    build_haze_config,
    horizon_depth,
    ramp_depth,
    sample_haze,
    solve_beta,
)
from mmhaze.datasets.transforms import PackFusionInputs, SynthesizeHaze


def clear_image(index: int = 0, size=(64, 96)) -> np.ndarray:
    rng = np.random.default_rng(index)
    img = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
    return cv2.GaussianBlur(img, (3, 3), 1.0)


def results(index: int = 0, **extra) -> dict:
    clear = clear_image(index)
    return dict(vis=clear, gt_clear=clear, ir=clear[..., :1].copy(), img_id=f'im{index}',
                vis_path=f'im{index}.png', **extra)


def corner_means(t: np.ndarray, k: int = 8):
    return float(np.nanmean(t[:k, :k])), float(np.nanmean(t[-k:, -k:]))


def test_iassf_dense_matches_the_release_statistics():
    haze = SynthesizeHaze(preset='iassf_dense', seed=0)
    airlights, means = [], []
    for i in range(40):
        r = haze(results(i))
        meta = r['haze']
        a = meta['airlight']
        assert a[0] == a[1] == a[2] and 0.73 <= a[0] <= 0.94  # grey A in the fitted range
        assert 0.15 - 5e-3 <= meta['mean_transmission'] <= 0.44 + 5e-3
        fit = fit_scattering_model(r['gt_clear'] / 255.0, r['vis'])
        assert fit['airlight'] == pytest.approx(a[0], abs=2e-3)
        assert fit['mean_transmission'] == pytest.approx(meta['mean_transmission'], abs=2e-3)
        assert fit['rmse'] < 1e-3
        top_left, bottom_right = corner_means(fit['transmission'])
        assert top_left < bottom_right  # a ramp, hazier at the top-left
        tl, br = corner_means(r['transmission'])
        assert tl == pytest.approx(r['transmission'][0, 0], abs=0.03) and tl < br
        assert r['transmission'][0, -1] > r['transmission'][-1, 0]  # x slope > y slope
        airlights.append(a[0])
        means.append(meta['mean_transmission'])
    # Both parameters really vary over their ranges.
    assert min(airlights) < 0.78 and max(airlights) > 0.89
    assert min(means) < 0.2 and max(means) > 0.39


def test_fit_on_8bit_output_as_the_converter_writes_it():
    r = SynthesizeHaze(preset='iassf_dense', seed=7)(results(3))
    hazy8 = np.rint(r['vis'] * 255) / 255
    fit = fit_scattering_model(r['gt_clear'] / 255.0, hazy8)
    assert fit['airlight'] == pytest.approx(r['haze']['airlight'][0], abs=0.02)
    assert fit['mean_transmission'] == pytest.approx(r['haze']['mean_transmission'], abs=0.02)


@pytest.mark.parametrize('depth', ['ramp', 'horizon', 'constant'])
def test_target_mean_transmission_is_met(depth):
    cfg = build_haze_config(None, depth=depth, mean_transmission=0.3, airlight=0.8)
    haze = sample_haze(cfg, np.random.default_rng(0), (60, 80))
    assert float(haze.transmission.mean()) == pytest.approx(0.3, abs=3e-3)
    assert haze.airlight.tolist() == pytest.approx([0.8, 0.8, 0.8])


def test_solve_beta_on_constant_depth_is_minus_log_target():
    assert solve_beta(np.ones((10, 10)), 0.25) == pytest.approx(-np.log(0.25), rel=1e-6)
    assert solve_beta(np.full((10, 10), 500.0), 0.5) == pytest.approx(np.log(2) / 500, rel=1e-6)
    with pytest.raises(ValueError, match='60% of the depth map is zero'):
        solve_beta(np.r_[np.zeros(6), np.ones(4)].reshape(2, 5), 0.5)


def test_uniform_preset_is_constant_beta():
    r = SynthesizeHaze(preset='uniform', seed=1)(results(0))
    beta = r['haze']['beta']
    assert 0.3 <= beta <= 1.5
    np.testing.assert_allclose(r['transmission'], np.exp(-beta), rtol=1e-6)
    r = SynthesizeHaze(preset='uniform', seed=1, beta=0.7, airlight=0.9)(results(0))
    J = r['gt_clear'] / 255.0
    np.testing.assert_allclose(r['vis'], J * np.exp(-0.7) + 0.9 * (1 - np.exp(-0.7)), atol=1e-6)


def test_depth_preset_follows_the_depth_map():
    depth = np.repeat(np.linspace(500, 10, 64, dtype=np.float32)[:, None], 96, 1)  # far at top
    r = SynthesizeHaze(preset='depth', seed=2)(results(0, depth=depth))
    beta = r['haze']['beta']
    np.testing.assert_allclose(r['transmission'], np.exp(-beta * depth), rtol=1e-5)
    assert 0.25 - 5e-3 <= r['haze']['mean_transmission'] <= 0.7 + 5e-3
    assert r['haze']['depth_source'] == 'map'
    assert np.all(np.diff(r['transmission'][:, 0]) > 0)  # nearer rows are clearer
    a = r['haze']['airlight']
    assert max(a) - min(a) <= 0.04 + 1e-6  # the 'depth' preset tints A a little per channel
    J = r['gt_clear'] / 255.0
    t = r['transmission'][..., None]
    np.testing.assert_allclose(r['vis'], J * t + np.asarray(a) * (1 - t), atol=1e-6)
    with pytest.raises(ValueError, match="depth source 'map' needs a depth map"):
        SynthesizeHaze(preset='depth', seed=2)(results(0))


def test_depth_source_shapes():
    ramp = ramp_depth(10, 20, strength=0.5, weights=(1.0, 0.6))
    assert ramp[0, 0] == pytest.approx(1.0) and ramp[-1, -1] == pytest.approx(0.5)
    assert ramp[0, -1] < ramp[-1, 0]  # the x slope is the steeper one
    horizon = horizon_depth(11, 5, horizon=0.4, near_depth=0.1)
    assert (horizon[:5] == 1.0).all() and horizon[-1, 0] == pytest.approx(0.1)
    assert np.all(np.diff(horizon[4:, 0]) <= 0)


def test_seeded_haze_depends_only_on_seed_and_image():
    haze = SynthesizeHaze(preset='iassf_dense', seed=11)
    first = [haze(results(i))['vis'] for i in range(4)]
    again = [SynthesizeHaze(preset='iassf_dense', seed=11)(results(i))['vis']
             for i in (3, 2, 1, 0)][::-1]  # another order, another instance
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    other = SynthesizeHaze(preset='iassf_dense', seed=12)(results(0))
    assert not np.array_equal(other['vis'], first[0])
    same_image_twice = [haze(results(0))['haze']['beta'] for _ in range(2)]
    assert same_image_twice[0] == same_image_twice[1]


def test_unseeded_haze_is_new_each_time_but_follows_numpy_seed():
    haze = SynthesizeHaze(preset='iassf_dense')
    np.random.seed(5)
    a = [haze(results(0))['haze']['beta'] for _ in range(3)]
    np.random.seed(5)
    b = [haze(results(0))['haze']['beta'] for _ in range(3)]
    assert a == b and len(set(a)) == 3


def test_nir_gets_weaker_wavelength_scaled_haze():
    r = SynthesizeHaze(preset='iassf_dense', seed=4,
                       ir_haze=dict(gamma=1.0, lambda_vis=0.55, lambda_ir=0.85))(results(0))
    meta = r['haze']
    assert meta['beta_ir'] == pytest.approx(meta['beta'] * 0.55 / 0.85)
    assert meta['mean_transmission_ir'] > meta['mean_transmission']
    t_ir = r['transmission'] ** (0.55 / 0.85)  # same depth, scaled extinction
    grey = meta['airlight'][0]
    assert meta['airlight_ir'] == pytest.approx(0.7 * grey)
    J = results(0)['ir'][..., 0] / 255.0
    np.testing.assert_allclose(r['ir'][..., 0], J * t_ir + 0.7 * grey * (1 - t_ir), atol=1e-5)


def test_clear_image_stays_clear_and_meta_reaches_the_data_sample():
    before = results(0)
    clear = before['gt_clear'].copy()
    r = SynthesizeHaze(preset='iassf_dense', seed=0)(before)
    np.testing.assert_array_equal(r['gt_clear'], clear)
    assert r['vis'].dtype == np.float32 and 0 <= r['vis'].min() and r['vis'].max() <= 1
    sample = PackFusionInputs()(r)['data_samples']
    assert sample.haze['preset'] == 'iassf_dense' and sample.haze['seed'] == 0
    assert sample.haze['mean_transmission'] == pytest.approx(float(r['transmission'].mean()))


def test_bad_haze_configs_are_named():
    with pytest.raises(KeyError, match='needs the clear image gt_clear'):
        SynthesizeHaze(preset='uniform')(dict(vis=clear_image(), ir=clear_image()[..., :1]))
    with pytest.raises(ValueError, match="did you mean 'iassf_dense'"):
        SynthesizeHaze(preset='iassf_dens')
    with pytest.raises(ValueError, match="did you mean 'airlight'"):
        SynthesizeHaze(preset='uniform', airlite=0.8)
    with pytest.raises(ValueError, match=r"'airlight' must lie in \[0.0, 1.0\]"):
        SynthesizeHaze(preset='uniform', airlight=(0.5, 1.5))
    with pytest.raises(ValueError, match="did you mean 'ramp'"):
        SynthesizeHaze(preset=None, depth='rampe')
    with pytest.raises(ValueError, match=r'strictly inside \(0, 1\)'):
        SynthesizeHaze(preset='iassf_dense', mean_transmission=(0.0, 0.5))
    assert set(HAZE_PRESETS) == {'iassf_dense', 'depth', 'uniform'}
