"""Speed of every registered metric: mmhaze's torch functions (eager float64, eager float32,
compiled float32) against a per-image NumPy/SciPy baseline, and of whole evaluator sets through
the metric wrappers (the path ``tools/test.py`` and ``eval_folder.py`` take), in one run.

    python tools/analysis_tools/benchmark_metrics.py [--num-images 4] [--size 480 640]
        [--batch-size 1] [--rounds 3] [--sets iassf demo fusion] [--out FILE.json]

The baseline stands in for the Python ``Evaluator`` the IR-VIS fusion repos copy (numpy,
``scipy.signal.convolve2d`` for Sobel and VIF's Gaussian windows, a contingency table for MI,
skimage SSIM, one image at a time): its nine metrics (EN SD SF AG MI SCD VIF Qabf SSIM) are
the "Evaluator suite" whose total the speed-up is quoted on. Qcv, CC, PSNR_ref and SSIM_ref
have NumPy/SciPy/skimage references too; VIFF, FADE, NIQE, PI and mIoU are timed alone.

Rounds are interleaved (baseline, then every torch run, per round) and the median round is
kept, so the ratios hold under a varying load; the load average is printed with the tables.
Compile time (first call minus a steady call) is reported apart from the steady-state times.
The pairs are mmhaze's synthetic scenes (thermal IR + hazy visible), fused as their mean.
"""
import argparse
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from scipy.signal import convolve2d

# The fusion repos' Evaluator computes these nine; the speed-up is quoted on their total.
EVALUATOR_SUITE = ('EN', 'SD', 'SF', 'AG', 'MI', 'SCD', 'VIF', 'Qabf', 'SSIM')
FUSION_KEYS = EVALUATOR_SUITE + ('Qcv', 'VIFF', 'CC')
REFERENCE_KEYS = ('PSNR_ref', 'SSIM_ref')
# name -> (dtype, compile switch)
TORCH_RUNS = {'eager float64': ('float64', '0'), 'eager float32': ('float32', '0'),
              'compiled float32': ('float32', '1')}


# ---------------------------------------------------------------------------------------------
# Per-image NumPy/SciPy baseline (the Evaluator's algorithms, mmhaze's default conventions)
# ---------------------------------------------------------------------------------------------

def np_en(f):
    h = np.bincount(np.uint8(np.round(f)).ravel(), minlength=256) / f.size
    return -np.sum(h * np.log2(h + (h == 0)))


def np_sd(f):
    return np.std(f)


def np_sf(f):
    return np.sqrt(np.mean((f[:, 1:] - f[:, :-1]) ** 2) + np.mean((f[1:, :] - f[:-1, :]) ** 2))


def np_ag(f):
    gy, gx = np.gradient(f)
    return np.sum(np.sqrt((gx ** 2 + gy ** 2) / 2)) / ((f.shape[0] - 1) * (f.shape[1] - 1))


def _np_entropy(p):
    p = p[p > 0]
    return -np.sum(p * np.log2(p))


def _np_mi_pair(x, y):
    # The Evaluator's sklearn.mutual_info_score builds the same contingency table (a sparse
    # matrix of the pairs); bincount of the pair index is the vectorised NumPy equivalent.
    pairs = np.uint8(x).ravel().astype(np.int64) * 256 + np.uint8(y).ravel()
    joint = np.bincount(pairs, minlength=65536).reshape(256, 256) / x.size
    return _np_entropy(joint.sum(1)) + _np_entropy(joint.sum(0)) - _np_entropy(joint)


def np_mi(f, a, b):
    return _np_mi_pair(f, a) + _np_mi_pair(f, b)


def _np_sobel(img):
    sx = convolve2d(img, np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]), mode='same')
    sy = convolve2d(img, np.array([[1, 2, 1], [0, 0, 0], [-1, -2, -1]]), mode='same')
    g = np.sqrt(sx ** 2 + sy ** 2)
    with np.errstate(divide='ignore', invalid='ignore'):
        alpha = np.where(sx == 0, math.pi / 2, np.arctan(sy / np.where(sx == 0, 1, sx)))
    return g, alpha


def _np_q(gs, as_, gf, af):
    with np.errstate(divide='ignore', invalid='ignore'):
        ratio = np.where(gs > gf, gf / gs, gs / gf)
    ratio = np.where(gs == gf, gf, ratio)
    orient = 1 - np.abs(as_ - af) / (math.pi / 2)
    q_g = 0.9994 / (1 + np.exp(-15 * (ratio - 0.5)))
    return q_g * 0.9879 / (1 + np.exp(-22 * (orient - 0.8)))


def np_qabf(f, a, b):
    (ga, aa), (gb, ab), (gf, af) = _np_sobel(a), _np_sobel(b), _np_sobel(f)
    return np.sum(_np_q(ga, aa, gf, af) * ga + _np_q(gb, ab, gf, af) * gb) / np.sum(ga + gb)


def _np_blocks(x, mean):
    h, w = x.shape
    x = np.pad(x, ((0, (-h) % 16), (0, (-w) % 16)))
    s = x.reshape(x.shape[0] // 16, 16, x.shape[1] // 16, 16).sum((1, 3))
    return s / 256 if mean else s


def np_qcv(f, a, b):
    def norm(x):
        lo, hi = x.min(), x.max()
        return np.floor((x - lo) / (hi - lo if hi > lo else 1) * 255 + 0.5)
    f, a, b = norm(f), norm(a), norm(b)
    h, w = f.shape
    u, v = np.meshgrid((np.arange(w) - w // 2) * 2 / w * w / 8,
                       (np.arange(h) - h // 2) * 2 / h * h / 8)
    r = np.sqrt(u ** 2 + v ** 2)
    csf = 2.6 * (0.0192 + 0.144 * r) * np.exp(-(0.144 * r) ** 1.1)
    num = den = 0.0
    kx = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], float)
    for s in (a, b):
        sx = convolve2d(s, np.rot90(kx, 2), mode='same')
        sy = convolve2d(s, np.rot90(kx.T, 2), mode='same')
        lam = _np_blocks(np.sqrt(sx ** 2 + sy ** 2) ** 5, mean=False)
        filt = np.real(np.fft.ifft2(np.fft.ifftshift(np.fft.fftshift(np.fft.fft2(s - f)) * csf)))
        num += np.sum(lam * _np_blocks(filt ** 2, mean=True))
        den += np.sum(lam)
    return num / den


def np_scd(f, a, b):
    return (np.corrcoef((f - b).ravel(), a.ravel())[0, 1]
            + np.corrcoef((f - a).ravel(), b.ravel())[0, 1])


def _np_gauss(n, sigma):
    ax = np.arange(n) - (n - 1) / 2
    g = np.exp(-(ax[:, None] ** 2 + ax[None] ** 2) / (2 * sigma ** 2))
    g[g < np.finfo(float).eps * g.max()] = 0
    return g / g.sum()


def np_vifp(ref, dist):
    num = den = 0.0
    for scale in range(1, 5):
        n = 2 ** (5 - scale) + 1
        win = np.rot90(_np_gauss(n, n / 5), 2)
        if scale > 1:
            ref = convolve2d(ref, win, mode='valid')[::2, ::2]
            dist = convolve2d(dist, win, mode='valid')[::2, ::2]
        mu1, mu2 = convolve2d(ref, win, mode='valid'), convolve2d(dist, win, mode='valid')
        s11 = convolve2d(ref * ref, win, mode='valid') - mu1 * mu1
        s22 = convolve2d(dist * dist, win, mode='valid') - mu2 * mu2
        s12 = convolve2d(ref * dist, win, mode='valid') - mu1 * mu2
        s11[s11 < 0] = 0
        s22[s22 < 0] = 0
        g = s12 / (s11 + 1e-10)
        sv = s22 - g * s12
        g[s11 < 1e-10] = 0
        sv[s11 < 1e-10] = s22[s11 < 1e-10]
        s11[s11 < 1e-10] = 0
        g[s22 < 1e-10] = 0
        sv[s22 < 1e-10] = 0
        sv[g < 0] = s22[g < 0]
        g[g < 0] = 0
        sv[sv <= 1e-10] = 1e-10
        num += np.sum(np.log10(1 + g ** 2 * s11 / (sv + 2)))
        den += np.sum(np.log10(1 + s11 / 2))
    return 1.0 if np.isnan(num / den) else num / den


def np_vif(f, a, b):
    return np_vifp(a, f) + np_vifp(b, f)


def np_ssim(f, a, b):
    from skimage.metrics import structural_similarity
    return (structural_similarity(f, a, data_range=255)
            + structural_similarity(f, b, data_range=255))


def np_cc(f, a, b):
    return (np.corrcoef(a.ravel(), f.ravel())[0, 1] + np.corrcoef(b.ravel(), f.ravel())[0, 1]) / 2


def np_psnr_ref(pred, ref):
    return 10 * np.log10(1.0 / max(np.mean((pred - ref) ** 2), 1e-10))


def np_ssim_ref(pred, ref):
    from skimage.metrics import structural_similarity
    return np.mean([structural_similarity(pred[c], ref[c], data_range=1.0, gaussian_weights=True,
                                          sigma=1.5, use_sample_covariance=False)
                    for c in range(pred.shape[0])])


BASELINE = dict(EN=np_en, SD=np_sd, SF=np_sf, AG=np_ag, MI=np_mi, Qabf=np_qabf, Qcv=np_qcv,
                SCD=np_scd, VIF=np_vif, SSIM=np_ssim, CC=np_cc, PSNR_ref=np_psnr_ref,
                SSIM_ref=np_ssim_ref)


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------

def make_scenes(num: int, size) -> dict:
    """Synthetic scenes as 8-bit-valued arrays: gray ir/vis/fused N×H×W (0–255) for the fusion
    metrics; RGB clear/hazy/dehazed N×3×H×W in [0, 1] for the full-reference ones."""
    from mmhaze.datasets.synthetic_scene import render_scene
    from mmhaze.evaluation.functional.image_ops import MATLAB_GRAY_WEIGHTS
    out = {k: [] for k in ('ir', 'vis', 'clear', 'hazy')}
    for i in range(num):
        scene = render_scene(i, 7, tuple(size))
        levels = {k: np.rint(np.clip(getattr(scene, k).astype(np.float64), 0, 1) * 255)
                  for k in ('hazy_vis', 'clear_vis', 'thermal')}
        out['vis'].append(np.floor(levels['hazy_vis'] @ np.asarray(MATLAB_GRAY_WEIGHTS) + 0.5))
        out['ir'].append(levels['thermal'].reshape(size))
        out['hazy'].append(levels['hazy_vis'].transpose(2, 0, 1) / 255)
        out['clear'].append(levels['clear_vis'].transpose(2, 0, 1) / 255)
    data = {k: np.stack(v) for k, v in out.items()}
    data['fused'] = np.floor((data['ir'] + data['vis']) / 2 + 0.5)
    data['dehazed'] = np.rint((data['clear'] + data['hazy']) / 2 * 255) / 255
    return data


def make_pairs(num: int, size) -> tuple:
    """(ir, vis, fused) gray N×H×W arrays on the 0–255 scale."""
    data = make_scenes(num, size)
    return data['ir'], data['vis'], data['fused']


def _arguments(key: str, data: dict, index, torch_dtype=None):
    """The arguments of a metric for the images ``index`` (NumPy, or torch N×C×H×W)."""
    from mmhaze.evaluation.functional import metric_spec
    spec = metric_spec(key)
    names = (('dehazed', 'clear') if spec.kind == 'reference'
             else ('fused', 'ir', 'vis') if spec.needs_sources else ('fused',))
    if torch_dtype is None:
        return [data[n][index] for n in names]
    import torch
    out = []
    for n in names:
        x = torch.from_numpy(data[n][index])
        out.append((x if x.dim() == 4 else x[:, None]).to(torch_dtype))
    return out


# ---------------------------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------------------------

def torch_function(key: str):
    from mmhaze.evaluation.functional import metric_spec
    return metric_spec(key).function


def time_baseline(keys, data: dict) -> tuple[dict, dict]:
    seconds, values = dict.fromkeys(keys, 0.0), {k: [] for k in keys}
    for i in range(len(data['ir'])):
        for key in keys:
            args = _arguments(key, data, i)
            t0 = time.perf_counter()
            out = BASELINE[key](*args)
            seconds[key] += time.perf_counter() - t0
            values[key].append(float(out))
    return seconds, values


def time_torch(keys, data: dict, dtype: str, batch_size: int) -> tuple[dict, dict]:
    import torch
    seconds, values = dict.fromkeys(keys, 0.0), {k: [] for k in keys}
    n = len(data['ir'])
    for start in range(0, n, batch_size):
        index = slice(start, min(start + batch_size, n))
        for key in keys:
            args = _arguments(key, data, index, getattr(torch, dtype))
            fn = torch_function(key)
            t0 = time.perf_counter()
            out = fn(*args)
            seconds[key] += time.perf_counter() - t0
            values[key] += out.double().tolist()
    return seconds, values


def max_relative_difference(values: list, reference: list) -> float:
    v, r = np.asarray(values), np.asarray(reference)
    return float(np.max(np.abs(v - r) / np.maximum(np.abs(r), 1e-12)))


def _median_rounds(rounds: list[dict]) -> dict:
    return {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}


def benchmark_functions(data: dict, keys, batch_size: int, rounds: int, runs=TORCH_RUNS
                        ) -> dict:
    """Per-metric seconds per image of the baseline and every torch run (interleaved rounds,
    median), compile seconds of the compiled runs, and each run's largest relative difference
    from the baseline's values (from the float64 eager run where no baseline exists)."""
    from mmhaze.evaluation.functional.compiled import set_metric_compile
    num = len(data['ir'])
    base_keys = [k for k in keys if k in BASELINE]
    report: dict = {'runs': {}}
    warm = {}
    for name, (dtype, mode) in runs.items():  # warm-up: imports, first compile
        set_metric_compile(mode)
        first = time_torch(keys, {k: v[:batch_size] for k, v in data.items()}, dtype, batch_size)
        warm[name] = first[0]
    timed: dict = {name: [] for name in ['NumPy/SciPy baseline', *runs]}
    values: dict = {}
    for _ in range(rounds):
        s, values['NumPy/SciPy baseline'] = time_baseline(base_keys, data)
        timed['NumPy/SciPy baseline'].append(s)
        for name, (dtype, mode) in runs.items():
            set_metric_compile(mode)
            s, values[name] = time_torch(keys, data, dtype, batch_size)
            timed[name].append(s)
    set_metric_compile(None)
    reference = {k: values['NumPy/SciPy baseline'].get(k) or values['eager float64'][k]
                 for k in keys}
    for name, samples in timed.items():
        per_image = {k: v / num for k, v in _median_rounds(samples).items()}
        run = dict(seconds_per_image=per_image)
        if name in runs:
            run['max_rel_diff'] = {k: max_relative_difference(values[name][k], reference[k])
                                   for k in keys}
            if runs[name][1] == '1':
                steady = per_image
                run['compile_seconds'] = {
                    k: max(0.0, warm[name][k] - steady[k] * min(batch_size, num)) for k in keys}
        report['runs'][name] = run
    return report


def _make_samples(data: dict) -> list:
    import torch
    from mmengine.structures import PixelData

    from mmhaze.structures import FusionDataSample
    samples = []
    for i in range(len(data['ir'])):
        s = FusionDataSample(metainfo=dict(img_id=f'scene_{i}', dataset_name='synthetic'))
        ir = torch.from_numpy(data['ir'][i][None] / 255).float()
        clear = torch.from_numpy(data['clear'][i]).float()
        s.vis = torch.from_numpy(data['hazy'][i]).float()
        s.ir, s.gt_clear = ir, clear
        s.pred_dehazed = torch.from_numpy(data['dehazed'][i]).float()
        s.pred_fused = ((clear + ir) / 2).clamp(0, 1)
        labels = torch.from_numpy((data['ir'][i] // 32).astype(np.int64))
        s.gt_sem_seg = PixelData(data=labels[None])
        s.pred_sem_seg = PixelData(data=((labels + (data['vis'][i] > 128)) % 8)[None])
        samples.append(s.to_dict())
    return samples


def evaluator_sets(names) -> dict:
    """name -> list of metric configs: the evaluators configs use (PI left out when its NRQM
    parameter file is missing)."""
    from mmengine.config import Config

    from mmhaze.evaluation.functional.no_reference import NRQM_FILE, find_parameter_file
    root = Path(__file__).resolve().parents[2] / 'configs'
    sets = {
        'iassf': Config.fromfile(str(root / 'iassf' / '_iassf_evaluation.py')).iassf_evaluator,
        'demo': Config.fromfile(
            str(root / '_base_' / 'datasets' / 'synthetic_thermal_demo.py')).test_evaluator,
        'fusion': [dict(type='FusionMetric')],
        'mIoU': [dict(type='SegMetric')],
    }
    try:
        find_parameter_file(NRQM_FILE)
    except FileNotFoundError:
        for cfg in sets['iassf']:
            if 'PI' in cfg.get('metrics', ()):
                cfg['metrics'] = [m for m in cfg['metrics'] if m != 'PI']
    return {n: [dict(c) for c in sets[n]] for n in names}


def benchmark_sets(data: dict, names, rounds: int) -> dict:
    """Seconds per image of whole evaluator sets through the wrappers, eager and compiled."""
    from mmhaze.evaluation.functional.compiled import set_metric_compile
    from mmhaze.registry import METRICS
    from mmhaze.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    samples = _make_samples(data)
    out = {}
    for name, cfgs in evaluator_sets(names).items():
        result = {'metrics': [f"{c['type']}({', '.join(c.get('metrics', []))})" for c in cfgs]}
        for mode, label in (('0', 'eager'), ('1', 'compiled')):
            set_metric_compile(mode)
            metrics = [METRICS.build(dict(c)) for c in cfgs]
            for m in metrics:
                m.dataset_meta = dict(classes=[str(i) for i in range(8)])
            t0 = time.perf_counter()
            for m in metrics:
                m.process({}, samples[:1])
            first = time.perf_counter() - t0
            per_round = []
            for _ in range(rounds):
                t0 = time.perf_counter()
                for sample in samples:
                    for m in metrics:
                        m.process({}, [sample])
                per_round.append((time.perf_counter() - t0) / len(samples))
            result[label] = statistics.median(per_round)
            if mode == '1':
                result['compile_seconds'] = max(0.0, first - result[label])
        out[name] = result
    set_metric_compile(None)
    return out


def benchmark_no_reference(data: dict, rounds: int) -> dict:
    """Seconds per image of FADE, NIQE and PI (when its files exist) on the dehazed images."""
    import torch

    from mmhaze.evaluation.functional import fade, load_fade_models, niqe, perceptual_index
    from mmhaze.evaluation.functional.no_reference import check_pi_files
    from mmhaze.utils import shared_data_dir
    images = torch.from_numpy(np.rint(data['dehazed'] * 255)).double()
    functions = {}
    try:
        models = load_fade_models(shared_data_dir() / 'fade')
        functions['FADE'] = lambda x: fade(x, models=models)
    except FileNotFoundError as err:
        print(f'FADE skipped: {err}', file=sys.stderr)
    try:
        niqe(images[:1])
        functions['NIQE'] = niqe
    except (FileNotFoundError, ValueError) as err:
        print(f'NIQE skipped: {err}', file=sys.stderr)
    try:
        check_pi_files()
        functions['PI'] = perceptual_index
    except FileNotFoundError:
        print('PI skipped: NRQM_model.mat is not available offline', file=sys.stderr)
    out = {}
    for key, fn in functions.items():
        fn(images[:1])
        per_round = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            for i in range(len(images)):
                fn(images[i:i + 1])
            per_round.append((time.perf_counter() - t0) / len(images))
        out[key] = statistics.median(per_round)
    return out


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------

def _ms(seconds: float) -> str:
    return f'{1000 * seconds:.1f}' if seconds < 10 else f'{seconds:.0f} s'


def format_function_table(report: dict, keys, totals: dict) -> list[str]:
    runs = report['runs']
    base = runs['NumPy/SciPy baseline']['seconds_per_image']
    torch_runs = [n for n in runs if n != 'NumPy/SciPy baseline']
    lines = ['| metric | NumPy/SciPy ms | ' + ' | '.join(f'{n} ms (×)' for n in torch_runs)
             + ' | compile s | max rel. diff ' + ' / '.join(torch_runs) + ' |',
             '|---|---:|' + '---:|' * len(torch_runs) + '---:|---|']
    rows = [(k, [k]) for k in keys] + list(totals.items())
    for label, members in rows:
        b = sum(base[k] for k in members) if all(k in base for k in members) else None
        cells = []
        for n in torch_runs:
            t = sum(runs[n]['seconds_per_image'][k] for k in members)
            cells.append(_ms(t) + (f' ({b / t:.1f}×)' if b else ''))
        compile_s = sum(runs[n].get('compile_seconds', {}).get(k, 0.0)
                        for n in torch_runs for k in members)
        diffs = ' / '.join(f"{max(runs[n]['max_rel_diff'][k] for k in members):.0e}"
                           for n in torch_runs) if len(members) == 1 else ''
        name = label if len(members) == 1 else f'**{label}**'
        lines.append(f"| {name} | {_ms(b) if b else '–'} | " + ' | '.join(cells)
                     + f' | {compile_s:.0f} | {diffs} |')
    return lines


def format_report(report: dict) -> str:
    lines = [f"{report['num_images']} scenes of {report['size'][0]}×{report['size'][1]}, torch "
             f"batch {report['batch_size']}, {report['torch_threads']} torch threads, "
             f"{report['rounds']} interleaved rounds (median), load average "
             f"{report['load_before']:.2f} → {report['load_after']:.2f}", '']
    if 'fusion' in report:
        lines += ['Fusion metrics (gray 0–255), ms per image; × = speed-up over the baseline:', '']
        lines += format_function_table(report['fusion'], FUSION_KEYS, {
            'Evaluator suite (9)': list(EVALUATOR_SUITE), 'all 12': list(FUSION_KEYS)})
    if 'reference' in report:
        lines += ['', 'Full-reference dehazing metrics (RGB [0, 1]), ms per image:', '']
        lines += format_function_table(report['reference'], REFERENCE_KEYS,
                                       {'PSNR_ref + SSIM_ref': list(REFERENCE_KEYS)})
    if report.get('no_reference'):
        lines += ['', '| no-reference metric | ms per image |', '|---|---:|']
        lines += [f'| {k} | {_ms(v)} |' for k, v in report['no_reference'].items()]
    if report.get('sets'):
        lines += ['', 'Evaluator sets through the wrappers (their default dtype), ms per image:',
                  '', '| set | metrics | eager | compiled | compile s |',
                  '|---|---|---:|---:|---:|']
        for name, r in report['sets'].items():
            lines.append(f"| {name} | {'; '.join(r['metrics'])} | {_ms(r['eager'])} | "
                         f"{_ms(r['compiled'])} | {r['compile_seconds']:.0f} |")
    return '\n'.join(lines)


def benchmark(num_images: int = 4, size=(480, 640), batch_size: int = 1, rounds: int = 3,
              sets=('iassf', 'demo', 'fusion', 'mIoU'), parts=('fusion', 'reference',
                                                                'no_reference', 'sets')) -> dict:
    import torch
    data = make_scenes(num_images, size)
    report = dict(num_images=num_images, size=list(size), batch_size=batch_size, rounds=rounds,
                  torch_threads=torch.get_num_threads(), load_before=os.getloadavg()[0])
    if 'fusion' in parts:
        report['fusion'] = benchmark_functions(data, FUSION_KEYS, batch_size, rounds)
    if 'reference' in parts:
        report['reference'] = benchmark_functions(data, REFERENCE_KEYS, batch_size, rounds)
    if 'no_reference' in parts:
        report['no_reference'] = benchmark_no_reference(data, rounds)
    if 'sets' in parts and sets:
        report['sets'] = benchmark_sets(data, sets, rounds)
    report['load_after'] = os.getloadavg()[0]
    return report


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Benchmark the metrics')
    parser.add_argument('--num-images', type=int, default=4)
    parser.add_argument('--size', type=int, nargs=2, default=(480, 640), metavar=('H', 'W'))
    parser.add_argument('--batch-size', type=int, default=1,
                        help='images per call of the torch functions (the wrappers use 1)')
    parser.add_argument('--rounds', type=int, default=3, help='interleaved timed rounds')
    parser.add_argument('--sets', nargs='*', default=['iassf', 'demo', 'fusion', 'mIoU'],
                        choices=['iassf', 'demo', 'fusion', 'mIoU'],
                        help='evaluator sets timed through the wrappers')
    parser.add_argument('--parts', nargs='+', default=['fusion', 'reference', 'no_reference',
                                                       'sets'],
                        choices=['fusion', 'reference', 'no_reference', 'sets'])
    parser.add_argument('--out', help='also write the report as JSON (must not exist)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.out and os.path.exists(args.out):
        print(f'error: {args.out} exists; choose a new name', file=sys.stderr)
        return 2
    report = benchmark(args.num_images, tuple(args.size), args.batch_size, args.rounds,
                       tuple(args.sets), tuple(args.parts))
    print(format_report(report))
    if args.out:
        with open(args.out, 'x') as f:
            json.dump(report, f, indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())
