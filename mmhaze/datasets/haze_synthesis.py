"""Haze by the atmospheric scattering model, shared by the online transform and the converter.

``I = J·t + A·(1 − t)``, ``t = exp(−β·d)``: ``J`` the clear image, ``A`` the airlight, ``d`` a
depth from one of four sources:

- ``'map'``: a depth map loaded with the pair (any unit; ``depth_scale`` converts it),
- ``'ramp'``: a planar ramp, farthest (1) at the top-left corner, nearest (1 − strength) at the
  bottom-right, the x slope weighted more than the y slope (the look of the IASSF MSRS release),
- ``'horizon'``: distance from a horizon row: 1 above it, a ground plane (∝ 1/rows below it)
  under it, ``near_depth`` at the bottom row,
- ``'constant'``: d = 1 everywhere (uniform haze, t = exp(−β)).

The density is set either by β directly (``beta``) or by a target mean transmission
(``mean_transmission``): β is then solved so that mean(t) hits a value drawn from that range,
which makes a preset independent of the depth unit. A second band (NIR) can be hazed with a
weaker, wavelength-dependent extinction β_IR = β·(λ_VIS/λ_IR)^γ.

:func:`sample_haze` draws one haze from a :class:`HazeConfig` and an RNG; :func:`apply_haze`
applies it; :func:`fit_scattering_model` measures A and t back from a clear/hazy pair.
"""
from __future__ import annotations

import difflib
import zlib
from dataclasses import dataclass, field, fields
from typing import Any, Optional, Union

import numpy as np

Range = tuple[float, float]
RangeLike = Union[float, int, tuple[float, float], list]

DEPTH_SOURCES = ('map', 'ramp', 'horizon', 'constant')

# Named presets. 'iassf_dense' reproduces what a least-squares fit of the IASSF MSRS test
# release measures (grey A 0.735–0.935, mean t 0.15–0.44, a smooth ramp, top-left hazier,
# x slope > y slope); it is a reproduction of the look, not the authors' (unpublished) generator.
HAZE_PRESETS: dict[str, dict[str, Any]] = {
    'iassf_dense': dict(depth='ramp', mean_transmission=(0.15, 0.44), airlight=(0.73, 0.94),
                        airlight_tint=0.0, ramp_strength=(0.05, 0.55), ramp_weights=(1.0, 0.6)),
    'depth': dict(depth='map', mean_transmission=(0.25, 0.7), airlight=(0.7, 0.95),
                  airlight_tint=0.02),
    'uniform': dict(depth='constant', beta=(0.3, 1.5), airlight=(0.7, 0.95), airlight_tint=0.0),
}

# Default band of the second image when it is hazed too (``ir_haze``): NIR at 0.85 µm seen
# through haze aerosols (Ångström exponent γ ≈ 1–1.3); NIR path radiance is weaker than VIS.
DEFAULT_IR_HAZE = dict(gamma=(1.0, 1.3), lambda_vis=0.55, lambda_ir=0.85, airlight_scale=0.7)


def _as_range(value: RangeLike, name: str, lo: float = -np.inf, hi: float = np.inf) -> Range:
    """A number or a (low, high) pair → a checked (low, high) tuple."""
    if isinstance(value, (int, float)):
        pair = (float(value), float(value))
    elif isinstance(value, (tuple, list)) and len(value) == 2:
        pair = (float(value[0]), float(value[1]))
    else:
        raise ValueError(f'haze option {name!r} must be a number or a (low, high) pair, '
                         f'got {value!r}')
    if pair[0] > pair[1]:
        raise ValueError(f'haze option {name!r}: low {pair[0]} > high {pair[1]}')
    if pair[0] < lo or pair[1] > hi:
        raise ValueError(f'haze option {name!r} must lie in [{lo}, {hi}], got {pair}')
    return pair


@dataclass(frozen=True)
class HazeConfig:
    """Everything one haze draw depends on; ranges are sampled uniformly per image.

    Args:
        depth: depth source, one of :data:`DEPTH_SOURCES`.
        beta: extinction coefficient β (per depth unit); used when ``mean_transmission`` is None.
        mean_transmission: if set, β is solved per image so that mean(t) equals a value drawn
            from this range (in (0, 1)).
        airlight: grey level of A in [0, 1].
        airlight_tint: per-channel offsets of A drawn from [−tint, tint] (0 = grey haze).
        ramp_strength: for ``'ramp'``: depth falls from 1 (top-left) to 1 − strength.
        ramp_weights: for ``'ramp'``: (x, y) weights of the two slopes.
        horizon: for ``'horizon'``: horizon row as a fraction of the height.
        near_depth: for ``'horizon'``: depth at the bottom row (the far depth is 1).
        depth_scale: for ``'map'``: multiplies the loaded depth map.
        ir_haze: None (the second image stays as loaded) or a dict with ``gamma`` (range),
            ``lambda_vis``, ``lambda_ir`` (µm) and ``airlight_scale``: the second image is hazed
            with β_IR = β·(λ_VIS/λ_IR)^γ and a grey airlight ``airlight_scale``·A.
    """

    depth: str = 'constant'
    beta: Range = (0.3, 1.5)
    mean_transmission: Optional[Range] = None
    airlight: Range = (0.7, 0.95)
    airlight_tint: float = 0.0
    ramp_strength: Range = (0.05, 0.55)
    ramp_weights: tuple[float, float] = (1.0, 0.6)
    horizon: Range = (0.3, 0.5)
    near_depth: float = 0.05
    depth_scale: float = 1.0
    ir_haze: Optional[dict[str, Any]] = field(default=None)

    def __post_init__(self) -> None:
        if self.depth not in DEPTH_SOURCES:
            raise ValueError(f'haze option depth={self.depth!r}: choose one of {DEPTH_SOURCES}'
                             + _did_you_mean(str(self.depth), DEPTH_SOURCES))
        set_ = object.__setattr__  # frozen: normalise once, here
        set_(self, 'beta', _as_range(self.beta, 'beta', 0.0))
        if self.mean_transmission is not None:
            mt = _as_range(self.mean_transmission, 'mean_transmission', 0.0, 1.0)
            if mt[0] <= 0.0 or mt[1] >= 1.0:
                raise ValueError(f'haze option mean_transmission must lie strictly inside (0, 1),'
                                 f' got {mt}')
            set_(self, 'mean_transmission', mt)
        set_(self, 'airlight', _as_range(self.airlight, 'airlight', 0.0, 1.0))
        set_(self, 'ramp_strength', _as_range(self.ramp_strength, 'ramp_strength', 0.0, 1.0))
        set_(self, 'horizon', _as_range(self.horizon, 'horizon', 0.0, 1.0))
        if not 0.0 <= float(self.airlight_tint) <= 0.5:
            raise ValueError(f'haze option airlight_tint must lie in [0, 0.5], '
                             f'got {self.airlight_tint}')
        if len(self.ramp_weights) != 2 or min(self.ramp_weights) < 0 or sum(self.ramp_weights) <= 0:
            raise ValueError(f'haze option ramp_weights must be two non-negative weights, '
                             f'got {self.ramp_weights}')
        if not 0.0 < float(self.near_depth) <= 1.0:
            raise ValueError(f'haze option near_depth must lie in (0, 1], got {self.near_depth}')
        if float(self.depth_scale) <= 0:
            raise ValueError(f'haze option depth_scale must be > 0, got {self.depth_scale}')
        if self.ir_haze is not None:
            unknown = set(self.ir_haze) - set(DEFAULT_IR_HAZE)
            if unknown:
                raise ValueError(f'haze option ir_haze has unknown keys {sorted(unknown)}; '
                                 f'allowed: {sorted(DEFAULT_IR_HAZE)}')
            merged = {**DEFAULT_IR_HAZE, **self.ir_haze}
            merged['gamma'] = _as_range(merged['gamma'], 'ir_haze.gamma', 0.0)
            if merged['lambda_vis'] <= 0 or merged['lambda_ir'] <= 0:
                raise ValueError('haze option ir_haze: wavelengths must be > 0')
            set_(self, 'ir_haze', merged)


def _did_you_mean(word: str, choices) -> str:
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.5)
    return f" (did you mean '{match[0]}'?)" if match else ''


def build_haze_config(preset: Optional[str] = None, **overrides: Any) -> HazeConfig:
    """A :class:`HazeConfig` from a preset name (or None) and keyword overrides."""
    if preset is not None and preset not in HAZE_PRESETS:
        raise ValueError(f'unknown haze preset {preset!r}; choose one of {sorted(HAZE_PRESETS)}'
                         + _did_you_mean(str(preset), HAZE_PRESETS))
    names = {f.name for f in fields(HazeConfig)}
    unknown = [k for k in overrides if k not in names]
    if unknown:
        raise ValueError(f'unknown haze option(s) {unknown}'
                         + _did_you_mean(unknown[0], names) + f'; options: {sorted(names)}')
    params = dict(HAZE_PRESETS[preset]) if preset else {}
    params.update(overrides)
    return HazeConfig(**params)


def image_seed(seed: int, key: str) -> np.random.Generator:
    """The RNG of one image for a fixed seed: the same (seed, key) gives the same haze in any
    order and any worker (crc32 is stable across runs, unlike ``hash``)."""
    return np.random.default_rng([int(seed), zlib.crc32(str(key).encode('utf-8'))])


# ---------------------------------------------------------------------------- depth sources
def ramp_depth(height: int, width: int, strength: float,
               weights: tuple[float, float] = (1.0, 0.6)) -> np.ndarray:
    """Planar depth: 1 at the top-left corner, 1 − strength at the bottom-right."""
    wx, wy = float(weights[0]), float(weights[1])
    x = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
    y = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    return (1.0 - strength * (wx * x + wy * y) / (wx + wy)).astype(np.float32)


def horizon_depth(height: int, width: int, horizon: float, near_depth: float) -> np.ndarray:
    """1 on and above the horizon row; a flat ground below it, ``near_depth`` at the bottom."""
    y = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    below = np.maximum(y - horizon, 1e-6)
    ground = near_depth * (1.0 - horizon) / below
    depth = np.where(y > horizon, np.minimum(ground, 1.0), 1.0)
    return np.broadcast_to(depth, (height, width)).astype(np.float32)


def solve_beta(depth: np.ndarray, target: float, max_pixels: int = 4096) -> float:
    """β such that mean(exp(−β·depth)) = target (the mean falls monotonically as β grows).

    Bisection on a strided subsample of at most ``max_pixels`` pixels, then two Newton steps on
    the full map, which remove the subsample's bias (< 1e-3 in mean t on smooth maps).
    """
    full = np.asarray(depth, np.float32)
    step = max(1, int(np.ceil(np.sqrt(full.size / max_pixels))))
    d = (full[::step, ::step] if full.ndim == 2 else full.ravel()[::step * step]).astype(
        np.float64).ravel()
    zero_share = float(np.mean(full <= 0))
    if zero_share >= target:  # t = 1 on those pixels whatever β is
        raise ValueError(f'cannot reach mean transmission {target:.3f}: {zero_share:.0%} of the '
                         'depth map is zero (t = 1 there)')
    lo, hi = 0.0, 1.0 / max(float(d.mean()), 1e-12)
    while np.mean(np.exp(-hi * d)) > target:
        lo, hi = hi, hi * 2.0
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        if np.mean(np.exp(-mid * d)) > target:
            lo = mid
        else:
            hi = mid
    beta = 0.5 * (lo + hi)
    for _ in range(2):
        t = np.exp(-beta * full)
        slope = float(np.mean(full * t))
        if slope <= 0:
            break
        beta = max(beta + (float(t.mean()) - target) / slope, 0.0)
    return float(beta)


# ---------------------------------------------------------------------------- one haze draw
@dataclass
class HazeSample:
    """One drawn haze: the transmission map(s), the airlight(s) and β, ready to apply."""

    transmission: np.ndarray  # H×W float32
    airlight: np.ndarray  # (3,) float32
    beta: float
    depth_source: str
    ir_transmission: Optional[np.ndarray] = None
    ir_airlight: Optional[float] = None
    beta_ir: Optional[float] = None

    def metainfo(self, preset: Optional[str] = None) -> dict[str, Any]:
        """Plain numbers for the data sample's ``haze`` metainfo (and the converter's JSON)."""
        meta: dict[str, Any] = dict(
            preset=preset, depth_source=self.depth_source, beta=float(self.beta),
            airlight=[float(a) for a in self.airlight],
            mean_transmission=float(self.transmission.mean()))
        if self.ir_transmission is not None:
            meta.update(beta_ir=float(self.beta_ir), airlight_ir=float(self.ir_airlight),
                        mean_transmission_ir=float(self.ir_transmission.mean()))
        return meta


def _draw(rng: np.random.Generator, r: Range) -> float:
    return r[0] if r[0] == r[1] else float(rng.uniform(r[0], r[1]))


def sample_haze(cfg: HazeConfig, rng: np.random.Generator, shape: tuple[int, int],
                depth_map: Optional[np.ndarray] = None) -> HazeSample:
    """Draw the haze of one H×W image (``depth_map`` is needed for ``depth='map'``)."""
    h, w = int(shape[0]), int(shape[1])
    if cfg.depth == 'map':
        if depth_map is None:
            raise ValueError("haze depth source 'map' needs a depth map (a `depth` folder in the "
                             "dataset, or results['depth']); use depth='ramp', 'horizon' or "
                             "'constant' otherwise")
        depth = np.asarray(depth_map, np.float32).reshape(depth_map.shape[:2]) * cfg.depth_scale
        if depth.shape != (h, w):
            raise ValueError(f'depth map {depth.shape} and image {(h, w)} differ in size')
        if not np.all(np.isfinite(depth)) or depth.min() < 0:
            raise ValueError('depth map has negative or non-finite values')
    elif cfg.depth == 'ramp':
        depth = ramp_depth(h, w, _draw(rng, cfg.ramp_strength), cfg.ramp_weights)
    elif cfg.depth == 'horizon':
        depth = horizon_depth(h, w, _draw(rng, cfg.horizon), cfg.near_depth)
    else:
        depth = np.ones((h, w), np.float32)

    if cfg.mean_transmission is not None:
        beta = solve_beta(depth, _draw(rng, cfg.mean_transmission))
    else:
        beta = _draw(rng, cfg.beta)
    grey = _draw(rng, cfg.airlight)
    tint = (rng.uniform(-cfg.airlight_tint, cfg.airlight_tint, 3) if cfg.airlight_tint
            else np.zeros(3))
    airlight = np.clip(grey + tint, 0.0, 1.0)
    transmission = np.exp(-beta * depth).astype(np.float32)

    haze = HazeSample(transmission=transmission, airlight=airlight.astype(np.float32),
                      beta=float(beta), depth_source=cfg.depth)
    if cfg.ir_haze is not None:
        ir = cfg.ir_haze
        gamma = _draw(rng, ir['gamma'])
        haze.beta_ir = float(beta * (ir['lambda_vis'] / ir['lambda_ir']) ** gamma)
        haze.ir_transmission = np.exp(-haze.beta_ir * depth).astype(np.float32)
        haze.ir_airlight = float(np.clip(grey * ir['airlight_scale'], 0.0, 1.0))
    return haze


def apply_haze(clear: np.ndarray, transmission: np.ndarray,
               airlight: Union[float, np.ndarray]) -> np.ndarray:
    """``J·t + A·(1 − t)`` on a float H×W(×C) image in [0, 1]; returns float32 in [0, 1].

    ``airlight`` is a scalar or one value per channel (fewer channels than A: its mean is used).
    """
    clear = np.asarray(clear, np.float32)
    t = transmission if clear.ndim == 2 else transmission[..., None]
    a = np.asarray(airlight, np.float32)
    if clear.ndim == 3 and a.ndim == 1 and a.shape[0] != clear.shape[2]:
        a = a.mean(keepdims=True)
    elif clear.ndim == 2 and a.ndim == 1:
        a = a.mean()
    return np.clip(clear * t + a * (1.0 - t), 0.0, 1.0).astype(np.float32)


def fit_scattering_model(clear: np.ndarray, hazy: np.ndarray,
                         min_contrast: float = 1e-3) -> dict[str, Any]:
    """Measure a grey airlight A and a per-pixel t from a clear/hazy RGB pair (floats in [0, 1]).

    Per pixel, the three channels give ``I_c = t·J_c + u`` with ``u = A·(1 − t)``: a line fit
    across channels yields t and u where the clear pixel is not grey; A is the least-squares
    ratio Σu(1−t)/Σ(1−t)²; t is then re-fit on every pixel given A. Use it to check that a hazy
    dataset matches a preset (the tests do), not inside training.

    Returns ``dict(airlight, transmission (H×W, NaN where J ≈ A), mean_transmission, rmse)``.
    """
    j = np.asarray(clear, np.float64).reshape(-1, 3)
    i = np.asarray(hazy, np.float64).reshape(-1, 3)
    jc = j - j.mean(1, keepdims=True)
    var = (jc ** 2).sum(1)
    colourful = var > min_contrast * 3
    if colourful.sum() < 16:
        raise ValueError('the clear image has too little colour to separate A from t')
    t_line = (jc[colourful] * (i[colourful] - i[colourful].mean(1, keepdims=True))).sum(1) \
        / var[colourful]
    u = i[colourful].mean(1) - t_line * j[colourful].mean(1)
    one_minus_t = 1.0 - t_line
    airlight = float((u * one_minus_t).sum() / max((one_minus_t ** 2).sum(), 1e-12))

    dj = j - airlight
    denom = (dj ** 2).sum(1)
    valid = denom > min_contrast
    t = np.full(j.shape[0], np.nan)
    t[valid] = ((i[valid] - airlight) * dj[valid]).sum(1) / denom[valid]
    pred = dj[valid] * t[valid, None] + airlight
    rmse = float(np.sqrt(np.mean((pred - i[valid]) ** 2)))
    shape = np.asarray(clear).shape[:2]
    return dict(airlight=airlight, transmission=t.reshape(shape),
                mean_transmission=float(np.nanmean(t)), rmse=rmse)


__all__ = ['HAZE_PRESETS', 'DEPTH_SOURCES', 'HazeConfig', 'HazeSample', 'build_haze_config',
           'sample_haze', 'apply_haze', 'solve_beta', 'ramp_depth', 'horizon_depth',
           'image_seed', 'fit_scattering_model']
