"""The speed tools run and report consistent numbers (no timing is asserted: speed targets
live in the benchmarks, not in tests)."""
import json

import pytest

BASELINE = 'configs/conv_dehaze_fuser/conv_dehaze_fuser_synthetic-thermal.py'


def test_profile_test_splits_the_run(repo_root, tool, tmp_path, capsys):
    out = tmp_path / 'profile.json'
    rc = tool('analysis_tools/profile_test').main([
        str(repo_root / BASELINE), '--synthetic', '48', '64', '2', '--work-dir',
        str(tmp_path / 'work'), '--out', str(out), '--cfg-options', 'model.network.channels=8',
        'model.network.dilations=[1,2]'])
    assert rc == 0
    result = json.loads(out.read_text())
    assert result['images'] == 2
    parts = result['seconds']
    assert set(parts) == {'data', 'forward', 'metrics', 'hooks', 'writing', 'other'}
    assert all(v >= 0 for v in parts.values()) and parts['forward'] > 0 and parts['metrics'] > 0
    assert sum(parts.values()) == pytest.approx(result['total_seconds'], rel=1e-6)
    assert 'synthetic/PSNR_ref' in result['metrics']  # the swapped-in test set names the keys
    assert 'overhead beyond forward + metrics' in capsys.readouterr().out


def test_benchmark_metrics_baseline_agrees_with_torch(tool):
    bench = tool('analysis_tools/benchmark_metrics')
    data = bench.make_scenes(1, (64, 80))
    runs = {'eager float64': ('float64', '0'), 'eager float32': ('float32', '0')}
    keys = bench.FUSION_KEYS + bench.REFERENCE_KEYS
    report = bench.benchmark_functions(data, keys, batch_size=1, rounds=1, runs=runs)
    f64, f32 = report['runs']['eager float64'], report['runs']['eager float32']
    # the NumPy/SciPy baseline computes the same conventions: float64 agrees to rounding;
    # SSIM_ref's baseline is skimage's Gaussian SSIM (reflect-filtered, then cropped)
    for key in bench.BASELINE:
        limit = 1e-5 if key == 'SSIM_ref' else 1e-9
        assert f64['max_rel_diff'][key] < limit, key
    assert f32['max_rel_diff']['VIF'] < 1e-3 and f32['max_rel_diff']['Qabf'] < 1e-6
    assert set(f64['seconds_per_image']) == set(keys)
    text = bench.format_report(dict(report_base(bench), fusion=report))
    assert '**Evaluator suite (9)**' in text


def report_base(bench):
    return dict(num_images=1, size=[64, 80], batch_size=1, torch_threads=1, rounds=1,
                load_before=0.0, load_after=0.0)
