"""Speed of the fusion metric suite: mmhaze's batched torch functions vs a per-image
NumPy/SciPy baseline written with the CDDFuse-family Evaluator's algorithms
(``scipy.signal.convolve2d`` for Sobel and VIF's Gaussian windows, joint histograms for MI,
skimage SSIM, one image at a time), measured in the same run on the same images.

    python tools/analysis_tools/benchmark_metrics.py [--num-images 8] [--size 480 640]
        [--batch-size 4] [--repeats 1] [--out FILE.json]

Prints images per second of the whole suite (EN, SD, SF, AG, MI, Qabf, Qcv, SCD, VIF, SSIM)
and each metric's share, for torch float64, torch float32 and the baseline, and the largest
relative difference of the torch values from the baseline's. The pairs are mmhaze's synthetic
scenes (thermal IR + hazy visible) and their pixel mean as the fused image.
"""
import argparse
import json
import math
import sys
import time

import numpy as np
from scipy.signal import convolve2d

SUITE = ('EN', 'SD', 'SF', 'AG', 'MI', 'Qabf', 'Qcv', 'SCD', 'VIF', 'SSIM')


# ---------------------------------------------------------------------------------------------
# Per-image NumPy/SciPy baseline (same conventions as mmhaze's defaults)
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
    joint, _, _ = np.histogram2d(x.ravel(), y.ravel(), bins=256, range=[[0, 256], [0, 256]])
    joint /= joint.sum()
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


BASELINE = dict(EN=np_en, SD=np_sd, SF=np_sf, AG=np_ag, MI=np_mi, Qabf=np_qabf, Qcv=np_qcv,
                SCD=np_scd, VIF=np_vif, SSIM=np_ssim)


# ---------------------------------------------------------------------------------------------

def make_pairs(num: int, size) -> tuple:
    """(ir, vis, fused) uint8 gray arrays N×H×W from synthetic scenes."""
    from mmhaze.datasets.synthetic_scene import render_scene
    from mmhaze.evaluation.functional.image_ops import MATLAB_GRAY_WEIGHTS
    irs, viss = [], []
    for i in range(num):
        scene = render_scene(i, 7, tuple(size))
        rgb = np.rint(np.clip(scene.hazy_vis, 0, 1) * 255)
        gray = np.floor(rgb @ np.asarray(MATLAB_GRAY_WEIGHTS) + 0.5)
        irs.append(np.rint(np.clip(scene.thermal, 0, 1) * 255).reshape(size))
        viss.append(gray)
    ir, vis = np.stack(irs), np.stack(viss)
    return ir, vis, np.floor((ir + vis) / 2 + 0.5)


def run_torch(ir, vis, fused, dtype, batch_size: int) -> tuple:
    import torch

    from mmhaze.evaluation.functional import FUSION_FUNCTIONS, SOURCE_FREE_KEYS
    seconds = dict.fromkeys(SUITE, 0.0)
    values = {k: [] for k in SUITE}
    for start in range(0, len(ir), batch_size):
        a, b, f = (torch.from_numpy(x[start:start + batch_size, None]).to(dtype)
                   for x in (ir, vis, fused))
        for key in SUITE:
            fn = FUSION_FUNCTIONS[key]
            t0 = time.perf_counter()
            out = fn(f) if key in SOURCE_FREE_KEYS else fn(f, a, b)
            seconds[key] += time.perf_counter() - t0
            values[key] += out.double().tolist()
    return seconds, values


def run_baseline(ir, vis, fused) -> tuple:
    seconds = dict.fromkeys(SUITE, 0.0)
    values = {k: [] for k in SUITE}
    for a, b, f in zip(ir, vis, fused):
        for key in SUITE:
            t0 = time.perf_counter()
            out = BASELINE[key](f) if key in ('EN', 'SD', 'SF', 'AG') else BASELINE[key](f, a, b)
            seconds[key] += time.perf_counter() - t0
            values[key].append(float(out))
    return seconds, values


def max_relative_difference(values: dict, reference: dict) -> dict:
    out = {}
    for key in SUITE:
        v, r = np.asarray(values[key]), np.asarray(reference[key])
        out[key] = float(np.max(np.abs(v - r) / np.maximum(np.abs(r), 1e-12)))
    return out


def benchmark(num_images: int = 8, size=(480, 640), batch_size: int = 4, repeats: int = 1
              ) -> dict:
    import torch
    ir, vis, fused = make_pairs(num_images, size)
    report = dict(num_images=num_images, size=list(size), batch_size=batch_size,
                  torch_threads=torch.get_num_threads(), runs={})
    base_s, base_v = run_baseline(ir, vis, fused)
    report['runs']['numpy_baseline'] = dict(seconds=base_s)
    for name, dtype in (('torch_float64', torch.float64), ('torch_float32', torch.float32)):
        run_torch(ir[:1], vis[:1], fused[:1], dtype, 1)  # warm-up
        best = None
        for _ in range(repeats):
            s, v = run_torch(ir, vis, fused, dtype, batch_size)
            best = s if best is None or sum(s.values()) < sum(best.values()) else best
        report['runs'][name] = dict(seconds=best, max_rel_diff=max_relative_difference(v, base_v))
    for run in report['runs'].values():
        total = sum(run['seconds'].values())
        run['images_per_second'] = num_images / total
        run['share'] = {k: s / total for k, s in run['seconds'].items()}
        run['speedup_vs_baseline'] = sum(base_s.values()) / total
    return report


def format_report(report: dict) -> str:
    runs = report['runs']
    lines = [f"{report['num_images']} pairs of {report['size'][0]}×{report['size'][1]}, torch "
             f"batch {report['batch_size']}, {report['torch_threads']} torch threads", '',
             '| run | images/s | speed-up | ' + ' | '.join(SUITE) + ' |',
             '|---|---:|---:|' + '---:|' * len(SUITE)]
    for name, run in runs.items():
        shares = ' | '.join(f"{100 * run['share'][k]:.0f}%" for k in SUITE)
        lines.append(f"| {name} | {run['images_per_second']:.2f} | "
                     f"{run['speedup_vs_baseline']:.1f}× | {shares} |")
    lines += ['', '| max relative difference vs baseline | ' + ' | '.join(SUITE) + ' |',
              '|---|' + '---:|' * len(SUITE)]
    for name, run in runs.items():
        if 'max_rel_diff' in run:
            lines.append(f'| {name} | ' + ' | '.join(f"{run['max_rel_diff'][k]:.1e}"
                                                     for k in SUITE) + ' |')
    return '\n'.join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Benchmark the fusion metric suite')
    parser.add_argument('--num-images', type=int, default=8)
    parser.add_argument('--size', type=int, nargs=2, default=(480, 640), metavar=('H', 'W'))
    parser.add_argument('--batch-size', type=int, default=4)
    parser.add_argument('--repeats', type=int, default=1, help='torch runs; the best is kept')
    parser.add_argument('--out', help='also write the report as JSON (must not exist)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    report = benchmark(args.num_images, tuple(args.size), args.batch_size, args.repeats)
    print(format_report(report))
    if args.out:
        with open(args.out, 'x') as f:
            json.dump(report, f, indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())
