"""Speed of every registered metric: mmhaze's torch functions (eager float64, eager float32,
compiled float32) against a per-image NumPy/SciPy baseline, and of whole evaluator sets through
the metric wrappers (the path ``tools/test.py`` and ``eval_folder.py`` take), in one run.

    python tools/analysis_tools/benchmark_metrics.py [--num-images 4] [--size 480 640]
        [--batch-size 1] [--rounds 3] [--sets iassf demo fusion] [--parts ...]
        [--ivif-zoo CHECKOUT --ivif-zoo-deps DIR [--ivif-zoo-runs eager compiled]]
        [--end-to-end ROOT [--pairs 40] [--layouts same-size few-sizes as-is] [--num-sizes 4]
         [--fused DIR] [--scratch DIR] [--dry-run]]
        [--background-load N] [--out FILE.json]

The baseline stands in for the Python ``Evaluator`` the IR-VIS fusion repos copy (numpy,
``scipy.signal.convolve2d`` for Sobel and VIF's Gaussian windows, a contingency table for MI,
skimage SSIM, one image at a time): its nine metrics (EN SD SF AG MI SCD VIF Qabf SSIM) are
the "Evaluator suite" whose total the speed-up is quoted on. Qcv, CC, PSNR_ref and SSIM_ref
have NumPy/SciPy/skimage references too; VIFF, FADE, NIQE, PI and mIoU are timed alone.

Rounds are interleaved (baseline, then every torch run, per round) and the median round is
kept, so the ratios hold under a varying load; the load average is printed with the tables.
Compile time (first call minus a steady call) is reported apart from the steady-state times.
The pairs are mmhaze's synthetic scenes (thermal IR + hazy visible), fused as their mean.

``--ivif-zoo CHECKOUT``: IVIF_ZOO's ``Metric/Metric_torch.py`` (github.com/RollingPlain/IVIF_ZOO,
the 2025 TPAMI survey's suite) as a second baseline, imported from the checkout (never copied),
on the CPU: its 21 functions called as its ``eval_torch.py`` calls them, against
``FusionMetric(suite='ivif_zoo')``'s columns on the same scenes, per column and for the suite,
with the largest relative difference of mmhaze's values from IVIF_ZOO's. It needs
scikit-learn, which this environment does not hold: ``pip install --target DIR scikit-learn``
(plus joblib, threadpoolctl, narwhals, cloudpickle with ``--no-deps``) and pass
``--ivif-zoo-deps DIR``, appended to sys.path for this run only.

``--end-to-end ROOT``: whole processes, start-up and any compilation included, as a user runs
them on real pairs (ROOT's IR and visible folders, e.g. RoadScene's ``cropinfrared`` and
``crop_LR_visible``): ``eval_folder.py`` on the default path, ``eval_folder.py`` with
``MMHAZE_COMPILE_METRICS=0``, and the Evaluator loop (this file's baseline in a process of its
own: OpenCV reads, NumPy metrics, one image at a time), interleaved with the order rotating
each round; ratios per layout, and the largest per-image relative differences (default vs
eager, eager vs the Evaluator). The first ``--pairs`` pairs are written once to a scratch
folder as gray PNGs (visible converted with Pillow, fused = the rounded mean unless ``--fused``)
in three layouts: ``same-size`` (centre crops to the smallest height and width),
``few-sizes`` (``--num-sizes`` K sizes 8 px apart) and ``as-is``. ``--dry-run`` builds the
layouts and prints the commands.

``--background-load N``: N CPU-bound busy processes (``background_load.py``) run during the
whole measurement, to measure a shared machine; the load average is printed.
"""
import argparse
import contextlib
import functools
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Optional

import numpy as np
from scipy.signal import convolve2d

# The fusion repos' Evaluator computes these nine; the speed-up is quoted on their total.
EVALUATOR_SUITE = ('EN', 'SD', 'SF', 'AG', 'MI', 'SCD', 'VIF', 'Qabf', 'SSIM')
FUSION_KEYS = EVALUATOR_SUITE + ('Qcv', 'VIFF', 'CC')
REFERENCE_KEYS = ('PSNR_ref', 'SSIM_ref')
BASELINE_NAME = 'NumPy/SciPy baseline'
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


def time_per_image(keys, num: int, prepare, call) -> tuple[dict, dict]:
    """Seconds per key summed over ``num`` images and each image's value: ``prepare(i)``
    (untimed) makes image i's inputs, ``call(key, inputs)`` (timed) computes one value."""
    seconds, values = dict.fromkeys(keys, 0.0), {k: [] for k in keys}
    for i in range(num):
        inputs = prepare(i)
        for key in keys:
            t0 = time.perf_counter()
            out = call(key, inputs)
            seconds[key] += time.perf_counter() - t0
            values[key].append(float(out))
    return seconds, values


def time_baseline(keys, data: dict) -> tuple[dict, dict]:
    return time_per_image(keys, len(data['ir']),
                          lambda i: {k: _arguments(k, data, i) for k in keys},
                          lambda key, args: BASELINE[key](*args[key]))


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


def interleaved_runs(data: dict, baseline: tuple, runs: dict, rounds: int, warm_images: int,
                     fallback: Optional[str] = None) -> dict:
    """Time a baseline and torch runs in interleaved rounds (median round per key).

    ``baseline`` is ``(name, timer)``, ``runs`` maps a name to ``(compile switch, timer)``; a
    timer maps a data dict to ``(seconds per key, values per key)`` over its images. Each torch
    run is warmed up first on ``warm_images`` images (imports, the first compile). Returns
    ``{'runs': {name: {'seconds_per_image', 'max_rel_diff', 'compile_seconds'}}}``: each run's
    largest relative difference from the baseline's values (from the ``fallback`` run's for
    keys the baseline lacks), and the compile seconds (first call minus a steady one) of the
    compiled runs.
    """
    from mmhaze.evaluation.functional.compiled import set_metric_compile
    num = len(data['ir'])
    base_name, base_timer = baseline
    warm = {}
    timed: dict = {name: [] for name in [base_name, *runs]}
    values: dict = {}
    try:
        for name, (mode, timer) in runs.items():
            set_metric_compile(mode)
            warm[name] = timer({k: v[:warm_images] for k, v in data.items()})[0]
        for _ in range(rounds):
            seconds, values[base_name] = base_timer(data)
            timed[base_name].append(seconds)
            for name, (mode, timer) in runs.items():
                set_metric_compile(mode)
                seconds, values[name] = timer(data)
                timed[name].append(seconds)
    finally:
        set_metric_compile(None)
    keys = list(values[next(iter(runs))])
    reference = {k: values[base_name].get(k) or values[fallback][k] for k in keys}
    report: dict = {'runs': {}}
    for name, samples in timed.items():
        per_image = {k: v / num for k, v in _median_rounds(samples).items()}
        run = dict(seconds_per_image=per_image)
        if name in runs:
            run['max_rel_diff'] = {k: max_relative_difference(values[name][k], reference[k])
                                   for k in keys}
            if runs[name][0] == '1':
                run['compile_seconds'] = {
                    k: max(0.0, warm[name][k] - per_image[k] * min(warm_images, num))
                    for k in keys}
        report['runs'][name] = run
    return report


def benchmark_functions(data: dict, keys, batch_size: int, rounds: int, runs=TORCH_RUNS
                        ) -> dict:
    """Per-metric seconds per image of the baseline and every torch run (interleaved rounds,
    median), compile seconds of the compiled runs, and each run's largest relative difference
    from the baseline's values (from the float64 eager run where no baseline exists)."""
    base_keys = [k for k in keys if k in BASELINE]
    timers = {name: (mode, functools.partial(time_torch, keys, dtype=dtype,
                                             batch_size=batch_size))
              for name, (dtype, mode) in runs.items()}
    return interleaved_runs(data, (BASELINE_NAME, functools.partial(time_baseline, base_keys)),
                            timers, rounds, batch_size, fallback='eager float64')
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
# IVIF_ZOO's torch metrics: a second baseline, against FusionMetric(suite='ivif_zoo')
# ---------------------------------------------------------------------------------------------

# suite column -> (Metric_torch.py function, the argument form eval_torch.py's evaluation_one
# passes it: float32 tensor, int32 or float32 array; whether it takes the sources (ir, vis, f))
IVIF_ZOO_CALLS = {
    'CE': ('CE_function', 'tensor', True), 'NMI': ('NMI_function', 'int32', True),
    'QNCIE': ('QNCIE_function', 'tensor', True), 'TE': ('TE_function', 'tensor', True),
    'EI': ('EI_function', 'tensor', False), 'Qy': ('Qy_function', 'tensor', True),
    'Qcb': ('Qcb_function', 'tensor', True), 'EN': ('EN_function', 'tensor', False),
    'MI': ('MI_function', 'int32', True), 'SF': ('SF_function', 'tensor', False),
    'AG': ('AG_function', 'tensor', False), 'SD': ('SD_function', 'tensor', False),
    'CC': ('CC_function', 'tensor', True), 'SCD': ('SCD_function', 'tensor', True),
    'VIF': ('VIF_function', 'tensor', True), 'MSE': ('MSE_function', 'tensor', True),
    'PSNR': ('PSNR_function', 'tensor', True), 'Qabf': ('Qabf_function', 'float32', True),
    'Nabf': ('Nabf_function', 'tensor', True), 'SSIM': ('SSIM_function', 'float32', True),
    'MS_SSIM': ('MS_SSIM_function', 'float32', True),
}
IVIF_ZOO_NAME = 'IVIF_ZOO torch'
# Top-level module names of the checkout's Metric/ folder.
IVIF_ZOO_MODULES = ('Metric_torch', 'Qabf', 'Nabf', 'ssim')


@contextlib.contextmanager
def _cuda_unavailable():
    """While the reference imports, ``torch.cuda.is_available()`` answers False: a device its
    modules pick at import lands on the CPU (its metric functions follow their inputs')."""
    import torch
    available = torch.cuda.is_available
    torch.cuda.is_available = lambda: False
    try:
        yield
    finally:
        torch.cuda.is_available = available


def import_ivif_zoo(checkout: str, deps: Optional[str] = None):
    """``Metric/Metric_torch.py`` of an IVIF_ZOO checkout (github.com/RollingPlain/IVIF_ZOO),
    imported from there. It needs scikit-learn (and torchvision, scipy); ``deps``: a folder of
    packages installed with ``pip install --target DIR scikit-learn`` (appended to sys.path, so
    it never shadows this environment's packages)."""
    import importlib
    import warnings
    folder = Path(checkout).resolve() / 'Metric'
    if not (folder / 'Metric_torch.py').is_file():
        raise FileNotFoundError(f'--ivif-zoo {checkout}: no Metric/Metric_torch.py (a checkout '
                                'of github.com/RollingPlain/IVIF_ZOO is expected)')
    clash = [m for m in IVIF_ZOO_MODULES if m in sys.modules]
    if clash:
        raise RuntimeError(f'cannot import IVIF_ZOO: modules {clash} are already imported from '
                           'elsewhere')
    if deps and deps not in sys.path:
        sys.path.append(deps)
    sys.path.insert(0, str(folder))
    try:
        with warnings.catch_warnings(), _cuda_unavailable():
            warnings.simplefilter('ignore')
            return importlib.import_module('Metric_torch')
    except ImportError as err:
        raise ImportError(f'--ivif-zoo: importing {folder}/Metric_torch.py failed ({err}); it '
                          'needs scikit-learn: pip install --target DIR scikit-learn and pass '
                          '--ivif-zoo-deps DIR') from err
    finally:
        sys.path.remove(str(folder))


def _ivif_zoo_inputs(data: dict, i: int) -> dict:
    """Image i in every form evaluation_one makes of an 8-bit gray image."""
    import torch
    return {name: dict(tensor=torch.tensor(data[name][i]).float(),
                       int32=data[name][i].astype(np.int32),
                       float32=data[name][i].astype(np.float32))
            for name in ('ir', 'vis', 'fused')}


def time_ivif_zoo(module, data: dict) -> tuple[dict, dict]:
    """IVIF_ZOO's functions called as evaluation_one calls them (its divide-by-zero warnings
    on flat regions silenced)."""
    import warnings

    def call(key, inputs):
        name, form, sources = IVIF_ZOO_CALLS[key]
        names = ('ir', 'vis', 'fused') if sources else ('fused',)
        out = getattr(module, name)(*(inputs[n][form] for n in names))
        return out.item() if hasattr(out, 'item') else out
    with warnings.catch_warnings(), np.errstate(all='ignore'):
        warnings.simplefilter('ignore')
        return time_per_image(list(IVIF_ZOO_CALLS), len(data['ir']),
                              functools.partial(_ivif_zoo_inputs, data), call)


def suite_columns(suite: str):
    """``FusionMetric(suite=...)`` and, per column, its (function, needs sources, options)."""
    from mmhaze.evaluation.metrics import FusionMetric
    metric = FusionMetric(suite=suite)
    return metric, {key: (spec.function, spec.needs_sources, metric.call_options[key])
                    for key, spec in metric.specs.items()}


def time_suite(metric, columns: dict, data: dict) -> tuple[dict, dict]:
    """The suite's columns on gray 0–255 images as ``FusionMetric`` calls them (its dtype)."""
    import torch

    def prepare(i):
        return {n: torch.from_numpy(data[n][i:i + 1])[:, None].to(metric.dtype)
                for n in ('fused', 'ir', 'vis')}

    def call(key, images):
        fn, sources, options = columns[key]
        args = (images['fused'], images['ir'], images['vis']) if sources else (images['fused'],)
        return fn(*args, **options).item()
    return time_per_image(list(columns), len(data['ir']), prepare, call)


def benchmark_ivif_zoo(data: dict, module, rounds: int, modes=('0', '1')) -> dict:
    """IVIF_ZOO's Metric_torch.py against mmhaze's ``ivif_zoo`` preset (its float64 default),
    per column, eager and compiled, interleaved rounds; values compared per image."""
    metric, columns = suite_columns('ivif_zoo')
    missing = set(columns) ^ set(IVIF_ZOO_CALLS)
    if missing:
        raise RuntimeError(f'the ivif_zoo preset and the IVIF_ZOO calls differ in {missing}')
    dtype = str(metric.dtype).replace('torch.', '')
    names = {'0': f'mmhaze eager {dtype}', '1': f'mmhaze compiled {dtype}'}
    runs = {names[m]: (m, functools.partial(time_suite, metric, columns)) for m in modes}
    return interleaved_runs(data, (IVIF_ZOO_NAME, functools.partial(time_ivif_zoo, module)),
                            runs, rounds, warm_images=1)


# ---------------------------------------------------------------------------------------------
# End to end: eval_folder.py as a user runs it, against the Evaluator loop, on real pairs
# ---------------------------------------------------------------------------------------------

TOOLS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TOOLS_DIR.parents[1]
# (IR folder, visible folder) of the datasets' usual layouts, tried in this order
PAIR_FOLDERS = (('cropinfrared', 'crop_LR_visible'),  # RoadScene
                ('ir', 'vi'), ('ir', 'vis'), ('Ir', 'Vis'), ('Inf', 'Vis'),
                ('infrared', 'visible'))
LAYOUTS = ('same-size', 'few-sizes', 'as-is')
E2E_RUNNERS = ('Evaluator loop', 'eval_folder default', 'eval_folder eager')


def find_pairs(root: str, ir_dir: Optional[str] = None, vis_dir: Optional[str] = None,
               fused_dir: Optional[str] = None, limit: Optional[int] = None) -> list:
    """(stem, ir path, vis path, fused path or None) of the pairs under ``root`` (its IR and
    visible folders: given, or the first of :data:`PAIR_FOLDERS` present), sorted by stem."""
    from mmhaze.apis.testing import IMAGE_EXTENSIONS
    base = Path(root)
    if ir_dir is None or vis_dir is None:
        found = next(((base / i, base / v) for i, v in PAIR_FOLDERS
                      if (base / i).is_dir() and (base / v).is_dir()), None)
        if found is None:
            raise FileNotFoundError(f'--end-to-end {root}: no IR/visible folders (tried '
                                    f'{PAIR_FOLDERS}); give --ir-dir and --vis-dir')
        ir_path, vis_path = found
    else:
        ir_path, vis_path = base / ir_dir, base / vis_dir

    def images(folder: Path) -> dict:
        return {p.stem: p for p in sorted(folder.iterdir())
                if p.suffix.lower() in IMAGE_EXTENSIONS}
    ir, vis = images(ir_path), images(vis_path)
    fused = images(Path(fused_dir)) if fused_dir else {}
    stems = sorted(set(ir) & set(vis) & (set(fused) if fused_dir else set(ir)))
    if not stems:
        raise FileNotFoundError(f'--end-to-end: no stem is in both {ir_path} and {vis_path}'
                                + (f' and {fused_dir}' if fused_dir else ''))
    return [(s, ir[s], vis[s], fused.get(s)) for s in stems[:limit]]


def _read_gray(path) -> np.ndarray:
    from PIL import Image
    with Image.open(path) as image:
        return np.asarray(image.convert('L'))


def _center_crop(image: np.ndarray, size: tuple) -> np.ndarray:
    h, w = size
    top, left = (image.shape[0] - h) // 2, (image.shape[1] - w) // 2
    return image[top:top + h, left:left + w]


def layout_sizes(sizes: list, layout: str, num_sizes: int) -> list:
    """Each pair's size in ``layout``: ``as-is`` its own; ``same-size`` the smallest height and
    width of all; ``few-sizes`` pair i takes the i mod K-th of K sizes, 8 px apart below that."""
    if layout == 'as-is':
        return list(sizes)
    h, w = min(s[0] for s in sizes), min(s[1] for s in sizes)
    if layout == 'same-size':
        return [(h, w)] * len(sizes)
    steps = [8 * (i % num_sizes) for i in range(len(sizes))]
    if h - max(steps) < 32 or w - max(steps) < 32:
        raise ValueError(f'few-sizes: {num_sizes} sizes 8 px apart do not fit below the '
                         f'smallest pair ({h}×{w}); lower --num-sizes')
    return [(h - d, w - d) for d in steps]


def build_layouts(pairs: list, layouts, num_sizes: int, scratch: Path) -> dict:
    """Write each layout's ``ir/ vis/ fused/`` folders of 8-bit gray PNGs under ``scratch``:
    visible images converted to gray once (Pillow), so every reader sees the same levels; the
    fused image the rounded mean of IR and visible unless the pairs bring their own."""
    from PIL import Image
    images = []
    for stem, ir_path, vis_path, fused_path in pairs:
        ir, vis = _read_gray(ir_path), _read_gray(vis_path)
        if ir.shape != vis.shape:
            raise ValueError(f'{ir_path} is {ir.shape[1]}×{ir.shape[0]} but {vis_path} is '
                             f'{vis.shape[1]}×{vis.shape[0]} (W×H); pairs must be registered')
        fused = (_read_gray(fused_path) if fused_path is not None
                 else np.floor((ir.astype(np.float64) + vis) / 2 + 0.5).astype(np.uint8))
        images.append((stem, dict(ir=ir, vis=vis, fused=fused)))
    out = {}
    for layout in layouts:
        name = f'{num_sizes}-sizes' if layout == 'few-sizes' else layout
        sizes = layout_sizes([im['ir'].shape for _, im in images], layout, num_sizes)
        folder = scratch / 'layouts' / name
        for (stem, planes), size in zip(images, sizes):
            for kind, plane in planes.items():
                (folder / kind).mkdir(parents=True, exist_ok=True)
                Image.fromarray(np.ascontiguousarray(_center_crop(plane, size))).save(
                    folder / kind / f'{stem}.png')
        out[name] = dict(folder=str(folder), pairs=len(images), sizes=len(set(sizes)))
    return out


def e2e_commands(layout_folder: str, run_dir: Path, metrics) -> dict:
    """runner -> (command, environment changes) for one layout."""
    from mmhaze.evaluation.functional import COMPILE_ENV
    folders = [str(Path(layout_folder) / k) for k in ('ir', 'vis', 'fused')]
    eval_folder = [sys.executable, str(TOOLS_DIR / 'eval_folder.py'), '--ir', folders[0],
                   '--vis', folders[1], '--fused', folders[2], '--metrics', *metrics,
                   '--method', 'mean', '--dataset', Path(layout_folder).name]
    return {
        'Evaluator loop': ([sys.executable, str(Path(__file__).resolve()), '--evaluator-loop',
                            *folders, '--metrics', *metrics, '--out',
                            str(run_dir / 'evaluator.json')], {}),
        'eval_folder default': ([*eval_folder, '--work-dir', str(run_dir / 'default')],
                                {COMPILE_ENV: None}),
        'eval_folder eager': ([*eval_folder, '--work-dir', str(run_dir / 'eager')],
                              {COMPILE_ENV: '0'}),
    }


def run_subprocess(command: list, env_changes: dict) -> None:
    """Run a command in a fresh interpreter that imports this tree's mmhaze; its output is
    shown only when it fails."""
    import subprocess
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join([str(REPO_ROOT), *filter(None, [env.get('PYTHONPATH')])])
    for key, value in env_changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    done = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)
    if done.returncode:
        raise RuntimeError(f'{" ".join(command)} failed ({done.returncode}):\n'
                           + '\n'.join(done.stdout.splitlines()[-20:]))


def _e2e_values(run_dir: Path, runner: str) -> dict:
    """stem -> {metric: value} written by one runner."""
    import csv
    if runner == 'Evaluator loop':
        return json.loads((run_dir / 'evaluator.json').read_text())
    work = run_dir / runner.split()[-1]
    (csv_path,) = work.glob('*/per_image.csv')
    with open(csv_path, newline='') as f:
        return {row['image']: {k: float(v) for k, v in row.items()
                               if k not in ('dataset', 'method', 'image')}
                for row in csv.DictReader(f)}


def _max_rel_diffs(values: dict, reference: dict) -> dict:
    stems = sorted(reference)
    keys = list(reference[stems[0]])
    return {k: max_relative_difference([values[s][k] for s in stems],
                                       [reference[s][k] for s in stems]) for k in keys}


def end_to_end(pairs: list, scratch: Path, layouts=LAYOUTS, num_sizes: int = 4,
               metrics=EVALUATOR_SUITE, rounds: int = 3, dry_run: bool = False,
               runner=run_subprocess) -> dict:
    """Wall time of whole processes on every layout of ``pairs``: the Evaluator loop, and
    ``eval_folder.py`` on the default path and with ``MMHAZE_COMPILE_METRICS=0``, in
    interleaved rounds (the runners' order rotates each round), medians; and the largest
    per-image relative differences between their values. ``dry_run``: build the layouts and
    list the commands, run nothing."""
    built = build_layouts(pairs, layouts, num_sizes, scratch)
    report: dict = dict(layouts=built, metrics=list(metrics), rounds=rounds, loads=[])
    if dry_run:
        report['commands'] = {
            name: {r: dict(command=c, env=e) for r, (c, e) in
                   e2e_commands(info['folder'], scratch / 'runs' / name / 'round0',
                                metrics).items()}
            for name, info in built.items()}
        return report
    samples = {name: {r: [] for r in E2E_RUNNERS} for name in built}
    for round_index in range(rounds):
        order = E2E_RUNNERS[round_index % 3:] + E2E_RUNNERS[:round_index % 3]
        for name, info in built.items():
            run_dir = scratch / 'runs' / name / f'round{round_index}'
            run_dir.mkdir(parents=True)
            commands = e2e_commands(info['folder'], run_dir, metrics)
            for r in order:
                t0 = time.perf_counter()
                runner(*commands[r])
                samples[name][r].append(time.perf_counter() - t0)
        report['loads'].append(os.getloadavg()[0])
    for name, info in built.items():
        info['seconds'] = {r: statistics.median(v) for r, v in samples[name].items()}
        info['samples'] = samples[name]
        last = scratch / 'runs' / name / f'round{rounds - 1}'
        values = {r: _e2e_values(last, r) for r in E2E_RUNNERS}
        info['max_rel_diff'] = {
            'default vs eager': _max_rel_diffs(values['eval_folder default'],
                                               values['eval_folder eager']),
            'eager vs Evaluator loop': _max_rel_diffs(values['eval_folder eager'],
                                                      values['Evaluator loop'])}
    return report


def _arity(fn) -> int:
    """The baseline functions take (fused) or (fused, ir, vis)."""
    import inspect
    return len(inspect.signature(fn).parameters)


def evaluator_loop(ir_dir: str, vis_dir: str, fused_dir: str, metrics, out: str) -> int:
    """The fusion repos' test loop over the layouts' PNGs: read each triple in gray with
    OpenCV, compute the Evaluator's metrics with NumPy/SciPy one image at a time; write
    stem -> values as JSON."""
    import cv2
    stems = sorted(p.stem for p in Path(fused_dir).glob('*.png'))
    values = {}
    for stem in stems:
        f, ir, vis = (cv2.imread(str(Path(d) / f'{stem}.png'), cv2.IMREAD_GRAYSCALE)
                      .astype(np.float64) for d in (fused_dir, ir_dir, vis_dir))
        values[stem] = {k: float(BASELINE[k](*(f, ir, vis)[:_arity(BASELINE[k])]))
                        for k in metrics}
    with open(out, 'x') as file:
        json.dump(values, file)
    return 0


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------

def _ms(seconds: float) -> str:
    return f'{1000 * seconds:.1f}' if seconds < 10 else f'{seconds:.0f} s'


def format_function_table(report: dict, keys, totals: dict, baseline: str = BASELINE_NAME,
                          label: str = 'NumPy/SciPy') -> list[str]:
    runs = report['runs']
    base = runs[baseline]['seconds_per_image']
    torch_runs = [n for n in runs if n != baseline]
    lines = [f'| metric | {label} ms | ' + ' | '.join(f'{n} ms (×)' for n in torch_runs)
             + ' | compile s | max rel. diff ' + ' / '.join(torch_runs) + ' |',
             '|---|---:|' + '---:|' * len(torch_runs) + '---:|---|']
    rows = [(k, [k]) for k in keys] + list(totals.items())
    for name, members in rows:
        b = sum(base[k] for k in members) if all(k in base for k in members) else None
        cells = []
        for n in torch_runs:
            t = sum(runs[n]['seconds_per_image'][k] for k in members)
            cells.append(_ms(t) + (f' ({b / t:.1f}×)' if b else ''))
        compile_s = sum(runs[n].get('compile_seconds', {}).get(k, 0.0)
                        for n in torch_runs for k in members)
        diffs = ' / '.join(f"{max(runs[n]['max_rel_diff'][k] for k in members):.0e}"
                           for n in torch_runs) if len(members) == 1 else ''
        shown = name if len(members) == 1 else f'**{name}**'
        lines.append(f"| {shown} | {_ms(b) if b else '–'} | " + ' | '.join(cells)
                     + f' | {compile_s:.0f} | {diffs} |')
    return lines


def _worst(diffs: dict) -> str:
    key = max(diffs, key=diffs.get)
    return f'{diffs[key]:.0e} ({key})'


def format_end_to_end(report: dict) -> list[str]:
    from mmhaze.evaluation.functional import COMPILE_ENV
    loads = report['loads']
    lines = [f"End to end, whole processes (start-up and any compilation included), "
             f"{', '.join(report['metrics'])}; {report['rounds']} interleaved rounds (median); "
             f"load average over the rounds "
             f"{statistics.mean(loads) if loads else float('nan'):.2f}:", '',
             '| layout | pairs | sizes | Evaluator loop s | eval_folder default s | eval_folder '
             f'{COMPILE_ENV}=0 s | Evaluator / default | Evaluator / eager | default / eager | '
             'max rel. diff default vs eager | eager vs Evaluator |',
             '|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|']
    for name, info in report['layouts'].items():
        t = info['seconds']
        e, d, g = t['Evaluator loop'], t['eval_folder default'], t['eval_folder eager']
        diffs = info['max_rel_diff']
        lines.append(f"| {name} | {info['pairs']} | {info['sizes']} | {e:.2f} | {d:.2f} | "
                     f"{g:.2f} | {e / d:.1f}× | {e / g:.1f}× | {d / g:.2f} | "
                     f"{_worst(diffs['default vs eager'])} | "
                     f"{_worst(diffs['eager vs Evaluator loop'])} |")
    return lines


def format_dry_run(report: dict) -> str:
    lines = []
    for name, info in report['layouts'].items():
        lines.append(f"{name}: {info['pairs']} pairs in {info['sizes']} size"
                     f"{'s' if info['sizes'] != 1 else ''} ({info['folder']})")
        for runner, run in report['commands'][name].items():
            env = ' '.join(f'{k}={v}' if v is not None else f'(unset {k})'
                           for k, v in run['env'].items())
            lines.append(f"  {runner}: {env + ' ' if env else ''}{' '.join(run['command'])}")
    return '\n'.join(lines)


def format_report(report: dict) -> str:
    lines = []
    if 'num_images' in report:
        lines += [f"{report['num_images']} scenes of {report['size'][0]}×{report['size'][1]}, "
                  f"torch batch {report['batch_size']}, {report['torch_threads']} torch "
                  f"threads, {report['rounds']} interleaved rounds (median), load average "
                  f"{report['load_before']:.2f} → {report['load_after']:.2f}", '']
    if report.get('background_load'):
        lines += [f"background load: {report['background_load']} busy processes "
                  '(tools/analysis_tools/background_load.py) during the measurement', '']
    if 'fusion' in report:
        lines += ['Fusion metrics (gray 0–255), ms per image; × = speed-up over the baseline:', '']
        lines += format_function_table(report['fusion'], FUSION_KEYS, {
            'Evaluator suite (9)': list(EVALUATOR_SUITE), 'all 12': list(FUSION_KEYS)})
    if 'reference' in report:
        lines += ['', 'Full-reference dehazing metrics (RGB [0, 1]), ms per image:', '']
        lines += format_function_table(report['reference'], REFERENCE_KEYS,
                                       {'PSNR_ref + SSIM_ref': list(REFERENCE_KEYS)})
    if 'ivif_zoo' in report:
        lines += ['', "IVIF_ZOO's Metric_torch.py (CPU) against FusionMetric(suite='ivif_zoo') "
                  'per column, ms per image; × = speed-up over IVIF_ZOO; max rel. diff from '
                  "IVIF_ZOO's values:", '']
        lines += format_function_table(report['ivif_zoo'], list(IVIF_ZOO_CALLS),
                                       {'IVIF_ZOO suite (21)': list(IVIF_ZOO_CALLS)},
                                       baseline=IVIF_ZOO_NAME, label='IVIF_ZOO')
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
    if 'end_to_end' in report:
        lines += ([''] if lines and lines[-1] else []) + format_end_to_end(report['end_to_end'])
    return '\n'.join(lines)


def benchmark(num_images: int = 4, size=(480, 640), batch_size: int = 1, rounds: int = 3,
              sets=('iassf', 'demo', 'fusion', 'mIoU'), parts=('fusion', 'reference',
                                                                'no_reference', 'sets'),
              ivif_zoo=None, ivif_zoo_modes=('0', '1')) -> dict:
    """The function, wrapper and (with ``ivif_zoo``, the imported Metric_torch module)
    IVIF_ZOO parts on synthetic scenes."""
    import torch
    data = make_scenes(num_images, size)
    report = dict(num_images=num_images, size=list(size), batch_size=batch_size, rounds=rounds,
                  torch_threads=torch.get_num_threads(), load_before=os.getloadavg()[0])
    if 'fusion' in parts:
        report['fusion'] = benchmark_functions(data, FUSION_KEYS, batch_size, rounds)
    if 'reference' in parts:
        report['reference'] = benchmark_functions(data, REFERENCE_KEYS, batch_size, rounds)
    if ivif_zoo is not None:
        report['ivif_zoo'] = benchmark_ivif_zoo(data, ivif_zoo, rounds, ivif_zoo_modes)
    if 'no_reference' in parts:
        report['no_reference'] = benchmark_no_reference(data, rounds)
    if 'sets' in parts and sets:
        report['sets'] = benchmark_sets(data, sets, rounds)
    report['load_after'] = os.getloadavg()[0]
    return report


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Benchmark the metrics', formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='End to end: --end-to-end ROOT [--pairs 40] [--layouts ...] [--dry-run]; '
               'IVIF_ZOO baseline: --ivif-zoo CHECKOUT --ivif-zoo-deps DIR; under load: '
               '--background-load N (see the module docstring)')
    parser.add_argument('--num-images', type=int, default=4)
    parser.add_argument('--size', type=int, nargs=2, default=(480, 640), metavar=('H', 'W'))
    parser.add_argument('--batch-size', type=int, default=1,
                        help='images per call of the torch functions (the wrappers use 1)')
    parser.add_argument('--rounds', type=int, default=3, help='interleaved timed rounds')
    parser.add_argument('--sets', nargs='*', default=['iassf', 'demo', 'fusion', 'mIoU'],
                        choices=['iassf', 'demo', 'fusion', 'mIoU'],
                        help='evaluator sets timed through the wrappers')
    parser.add_argument('--parts', nargs='*', default=None,
                        choices=['fusion', 'reference', 'no_reference', 'sets'],
                        help='parts on synthetic scenes (default: all; none with '
                             '--end-to-end)')
    parser.add_argument('--ivif-zoo', metavar='CHECKOUT',
                        help='also time IVIF_ZOO\'s Metric/Metric_torch.py from this checkout of '
                             'github.com/RollingPlain/IVIF_ZOO (needs scikit-learn)')
    parser.add_argument('--ivif-zoo-deps', metavar='DIR',
                        help='folder of IVIF_ZOO\'s dependencies (pip install --target DIR '
                             'scikit-learn), appended to sys.path for this run only')
    parser.add_argument('--ivif-zoo-runs', nargs='+', default=['eager', 'compiled'],
                        choices=['eager', 'compiled'],
                        help="mmhaze's runs against IVIF_ZOO (default: both)")
    parser.add_argument('--end-to-end', metavar='ROOT',
                        help='time eval_folder.py and the Evaluator loop as processes on the '
                             'pairs of ROOT (its IR and visible folders)')
    parser.add_argument('--ir-dir', help='IR folder under ROOT (default: detected)')
    parser.add_argument('--vis-dir', help='visible folder under ROOT (default: detected)')
    parser.add_argument('--fused', help='fused images by stem (default: mean of IR and VIS)')
    parser.add_argument('--pairs', type=int, default=40, help='first N pairs (default: 40)')
    parser.add_argument('--layouts', nargs='+', default=list(LAYOUTS), choices=LAYOUTS)
    parser.add_argument('--num-sizes', type=int, default=4,
                        help='sizes of the few-sizes layout, 2–17 (default: 4)')
    parser.add_argument('--e2e-metrics', nargs='+', default=list(EVALUATOR_SUITE),
                        choices=list(EVALUATOR_SUITE), help='metrics of the end-to-end runs')
    parser.add_argument('--scratch', help='folder for the layouts and runs (must not exist; '
                                          'default: a temporary folder, removed after)')
    parser.add_argument('--dry-run', action='store_true',
                        help='end to end: build the layouts and print the commands only')
    parser.add_argument('--background-load', type=int, default=0, metavar='N',
                        help='run N CPU-bound busy processes during the measurement')
    parser.add_argument('--evaluator-loop', nargs=3, metavar=('IR', 'VIS', 'FUSED'),
                        help=argparse.SUPPRESS)  # the end-to-end mode's baseline process
    parser.add_argument('--metrics', nargs='+', help=argparse.SUPPRESS)
    parser.add_argument('--out', help='also write the report as JSON (must not exist)')
    args = parser.parse_args(argv)
    if args.parts is None:
        args.parts = [] if args.end_to_end else ['fusion', 'reference', 'no_reference', 'sets']
    if not 2 <= args.num_sizes <= 17:
        parser.error(f'--num-sizes must be 2–17, got {args.num_sizes}')
    return args


def prepare_end_to_end(args) -> tuple[list, Path]:
    """The pairs and the scratch folder of the end-to-end mode (a new temporary folder unless
    ``--scratch`` names a new one outside the inputs)."""
    import tempfile

    import mmengine  # noqa: F401  (imported first: mmhaze.utils.fileio alone is a cycle)

    from mmhaze.utils.fileio import refuse_writes_into_inputs
    pairs = find_pairs(args.end_to_end, args.ir_dir, args.vis_dir, args.fused, args.pairs)
    if not args.scratch:
        return pairs, Path(tempfile.mkdtemp(prefix='mmhaze_e2e_'))
    if os.path.exists(args.scratch):
        raise FileExistsError(f'--scratch {args.scratch} exists; choose a new folder')
    refuse_writes_into_inputs({'--scratch': args.scratch},
                              {'--end-to-end': args.end_to_end, '--fused': args.fused})
    os.makedirs(args.scratch)
    return pairs, Path(args.scratch)


def main(argv=None):
    import shutil
    args = parse_args(argv)
    if args.evaluator_loop:
        return evaluator_loop(*args.evaluator_loop, args.metrics or EVALUATOR_SUITE, args.out)
    if args.out and os.path.exists(args.out):
        print(f'error: {args.out} exists; choose a new name', file=sys.stderr)
        return 2
    try:
        module = import_ivif_zoo(args.ivif_zoo, args.ivif_zoo_deps) if args.ivif_zoo else None
        pairs, scratch = prepare_end_to_end(args) if args.end_to_end else (None, None)
    except (OSError, ValueError, ImportError, RuntimeError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    sys.path.insert(0, str(TOOLS_DIR))
    from background_load import background_load
    report: dict = {}
    try:
        with background_load(args.background_load):
            if args.parts or module is not None:
                report = benchmark(args.num_images, tuple(args.size), args.batch_size,
                                   args.rounds, tuple(args.sets), tuple(args.parts), module,
                                   tuple({'eager': '0', 'compiled': '1'}[r]
                                         for r in args.ivif_zoo_runs))
            if args.end_to_end:
                report['end_to_end'] = end_to_end(pairs, scratch, args.layouts, args.num_sizes,
                                                  args.e2e_metrics, args.rounds, args.dry_run)
    finally:
        if scratch is not None and not args.scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    report['background_load'] = args.background_load
    if args.end_to_end and args.dry_run:
        print(format_dry_run(report['end_to_end']))
    else:
        print(format_report(report))
    if args.out:
        with open(args.out, 'x') as f:
            json.dump(report, f, indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())
