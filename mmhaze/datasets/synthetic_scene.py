"""Procedural outdoor scenes with plausible VIS / NIR / thermal physics and haze.

This is mmhaze's embedded default data: the demo and the tests run on it with no download.
A scene has sky (with clouds), distant buildings with windows, trees and grass, a road in
perspective with lane marks, bare terrain, and warm objects (people, cars). From one layout it
renders a metric depth map, semantic labels, the clear visible image (RGB), a near-infrared image
(vegetation bright, sky dark), a thermal image (people and engines hot, sky cold, little texture),
and hazy versions by the atmospheric scattering model ``I = J·t + A·(1 − t)``,
``t = exp(−β·d)``, with a weaker β for NIR (``β_NIR = β·(λ_VIS/λ_NIR)^γ``) and almost none for
thermal IR.

Every random choice comes from ``numpy.random.default_rng([seed, index])``, so a sample is a
pure function of (seed, index, size, parameters). Geometry is defined in normalised image
coordinates, so any size works.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import cv2
import numpy as np

CLASSES = ('sky', 'building', 'vegetation', 'road', 'person', 'car', 'terrain')
PALETTE = [(70, 130, 180), (70, 70, 70), (107, 142, 35), (128, 64, 128), (220, 20, 60),
           (0, 0, 142), (152, 251, 152)]
SKY, BUILDING, VEGETATION, ROAD, PERSON, CAR, TERRAIN = range(len(CLASSES))

SKY_DEPTH_M = 3000.0  # far enough that t ≈ 0 for any haze worth the name
LAMBDA_VIS_UM, LAMBDA_NIR_UM, LAMBDA_LWIR_UM = 0.55, 0.85, 10.0


@dataclass
class HazeParams:
    """Ranges the haze of one sample is drawn from (uniformly)."""

    beta_range: tuple[float, float] = (0.004, 0.015)  # 1/m; visibility ≈ 3.9/β: 260 m to 1 km
    airlight_range: tuple[float, float] = (0.75, 0.95)
    airlight_tint: float = 0.03  # per-channel spread of A (bluish haze when > 0)
    nir_gamma_range: tuple[float, float] = (1.0, 1.3)  # Ångström-like exponent for NIR
    thermal_gamma: float = 1.3


@dataclass
class SyntheticScene:
    """All renders of one scene, float32 in [0, 1] except ``depth`` (m) and ``labels``."""

    clear_vis: np.ndarray  # H×W×3
    hazy_vis: np.ndarray  # H×W×3
    nir: np.ndarray  # H×W, hazy (weakly)
    clear_nir: np.ndarray  # H×W
    thermal: np.ndarray  # H×W
    depth: np.ndarray  # H×W metres
    labels: np.ndarray  # H×W uint8 class ids
    transmission: np.ndarray  # H×W, VIS
    haze: dict[str, object] = field(default_factory=dict)


class _Canvas:
    """Painter's-algorithm canvas: every shape writes labels, depth and three materials.

    Shapes are painted inside their bounding box only, which keeps a 256² scene under 20 ms.
    """

    def __init__(self, h: int, w: int):
        self.h, self.w = h, w
        self.labels = np.full((h, w), SKY, np.uint8)
        self.depth = np.full((h, w), SKY_DEPTH_M, np.float32)
        self.vis = np.zeros((h, w, 3), np.float32)
        self.nir = np.zeros((h, w), np.float32)
        self.thermal = np.zeros((h, w), np.float32)

    def box(self, x0: float, y0: float, x1: float, y1: float) -> tuple[slice, slice]:
        """Pixel slices of the normalised box [x0, x1] × [y0, y1], clipped to the image."""
        c0 = int(np.clip(np.floor(x0 * (self.w - 1)), 0, self.w))
        c1 = int(np.clip(np.ceil(x1 * (self.w - 1)) + 1, 0, self.w))
        r0 = int(np.clip(np.floor(y0 * (self.h - 1)), 0, self.h))
        r1 = int(np.clip(np.ceil(y1 * (self.h - 1)) + 1, 0, self.h))
        return slice(r0, r1), slice(c0, c1)

    def paint(self, region: tuple[slice, slice], mask: np.ndarray, label: int, depth, vis, nir,
              thermal) -> None:
        """Paint ``mask`` (shaped like ``region``); values are scalars, colours or full maps."""

        def local(value, channels: int = 1):
            value = np.asarray(value, np.float32)
            if value.ndim >= 2:  # a full-image map
                value = value[region]
                return value[mask]
            return value

        self.labels[region][mask] = label
        self.depth[region][mask] = local(depth)
        self.vis[region][mask] = local(vis)
        self.nir[region][mask] = local(nir)
        self.thermal[region][mask] = local(thermal)


def _smooth_noise(rng: np.random.Generator, h: int, w: int, cells: int) -> np.ndarray:
    """Zero-mean, unit-ish smooth noise: a coarse random grid upsampled bicubically."""
    gh = max(2, int(round(cells * h / max(h, w))))
    gw = max(2, int(round(cells * w / max(h, w))))
    coarse = rng.standard_normal((gh, gw)).astype(np.float32)
    return cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)


# Camera: pinhole 1.6 m above a flat ground, focal length F (in image heights). A point on the
# ground at distance d appears F·1.6/d image heights below the horizon; an object of height s
# at distance d spans F·s/d image heights.
CAMERA_HEIGHT_M = 1.6
FOCAL = 5.0


def _ground_distance(rows_below_horizon: np.ndarray) -> np.ndarray:
    return FOCAL * CAMERA_HEIGHT_M / np.maximum(rows_below_horizon, 1e-4)


def render_scene(index: int, seed: int = 0, size: tuple[int, int] = (256, 256),
                 haze: Optional[HazeParams] = None) -> SyntheticScene:
    """Render scene ``index`` of the family ``seed`` at ``size`` = (H, W)."""
    haze = haze or HazeParams()
    h, w = int(size[0]), int(size[1])
    if h < 16 or w < 16:
        raise ValueError(f'synthetic scenes need at least 16×16 pixels, got {h}×{w}')
    rng = np.random.default_rng([int(seed), int(index)])
    cv = _Canvas(h, w)
    yn = (np.arange(h, dtype=np.float32) / (h - 1))[:, None]  # H×1
    xn = (np.arange(w, dtype=np.float32) / (w - 1))[None, :]  # 1×W
    aspect = w / h  # normalised x units per image height

    horizon = rng.uniform(0.33, 0.5)
    vp_x = rng.uniform(0.35, 0.65)
    sun = rng.uniform(0.85, 1.1)  # overall illumination
    full = (slice(0, h), slice(0, w))

    # --- sky: blue gradient, brighter towards the horizon, with soft clouds -------------------
    t_sky = np.clip(yn / max(horizon, 1e-3), 0, 1)
    top = np.array([0.30, 0.50, 0.85], np.float32) * rng.uniform(0.9, 1.05)
    low = np.array([0.72, 0.80, 0.90], np.float32)
    clouds = np.clip(_smooth_noise(rng, h, w, 6) * 0.6 + rng.uniform(-0.6, 0.2), 0, 1)
    sky_vis = top * (1 - t_sky[..., None]) + low * t_sky[..., None]
    cv.vis[:] = sky_vis * (1 - clouds[..., None]) + 0.93 * clouds[..., None]
    cv.nir[:] = 0.12 + 0.05 * t_sky + 0.45 * clouds  # Rayleigh scattering is weak in NIR
    cv.thermal[:] = 0.05 + 0.05 * t_sky + 0.08 * clouds  # the clear sky is radiatively cold

    # --- ground: grass or bare terrain on either side of a road -------------------------------
    ground_depth = np.broadcast_to(
        np.minimum(_ground_distance(yn - horizon), 2000.0), (h, w)).astype(np.float32)
    ground = np.broadcast_to(yn > horizon, (h, w))
    tex = _smooth_noise(rng, h, w, 40) * 0.5 + _smooth_noise(rng, h, w, 10) * 0.5
    left_side = np.broadcast_to(xn < vp_x, (h, w))
    for side_mask in (left_side, ~left_side):
        m = ground & side_mask
        if rng.random() < 0.7:
            grass = np.stack([0.20 + 0.04 * tex, 0.38 + 0.07 * tex, 0.12 + 0.03 * tex], -1)
            cv.paint(full, m, VEGETATION, ground_depth, grass, 0.62 + 0.08 * tex, 0.30 + 0.02 * tex)
        else:
            soil = np.stack([0.45 + 0.05 * tex, 0.38 + 0.05 * tex, 0.28 + 0.04 * tex], -1)
            cv.paint(full, m, TERRAIN, ground_depth, soil, 0.42 + 0.05 * tex, 0.46 + 0.03 * tex)

    half_bottom = rng.uniform(0.2, 0.4)  # road half-width at the bottom row, in image widths
    frac = np.clip((yn - horizon) / max(1 - horizon, 1e-3), 0, 1)
    road = ground & (np.abs(xn - vp_x) <= half_bottom * frac)
    asphalt = 0.28 + 0.03 * _smooth_noise(rng, h, w, 60)
    cv.paint(full, road, ROAD, ground_depth, np.stack([asphalt, asphalt, asphalt * 1.03], -1),
             0.20 + 0.02 * asphalt, 0.55 + 0.02 * asphalt)
    dashes = np.sin(np.log(ground_depth + 1.0) * 14.0) > 0.2  # dashes shrink with distance
    lane = road & (np.abs(xn - vp_x) < 0.012 * frac + 0.5 / w) & dashes
    cv.paint(full, lane, ROAD, ground_depth, 0.85, 0.70, 0.50)

    # --- distant buildings on the horizon (far to near) ---------------------------------------
    for d in np.sort(rng.uniform(250, 1200, int(rng.integers(3, 9))))[::-1]:
        # 10-40 m tall (in image heights), leaving some sky above the skyline
        bh = min(FOCAL * rng.uniform(10, 40) / d, horizon * rng.uniform(0.4, 0.85))
        bw = FOCAL * rng.uniform(12, 40) / d / aspect
        cx = rng.uniform(0.0, 1.0)
        x0, x1, y1 = cx - bw / 2, cx + bw / 2, horizon + 0.003
        y0 = max(0.0, y1 - bh)
        region = cv.box(x0, y0, x1, y1)
        if region[0].stop <= region[0].start or region[1].stop <= region[1].start:
            continue
        ry, rx = yn[region[0]], xn[:, region[1]]
        mask = np.ones((ry.shape[0], rx.shape[1]), bool)
        base = rng.uniform(0.45, 0.75)
        tint = np.array([1.0, rng.uniform(0.93, 1.0), rng.uniform(0.82, 0.98)], np.float32)
        cv.paint(region, mask, BUILDING, d, base * tint * sun, 0.35 + 0.1 * base,
                 rng.uniform(0.36, 0.46))
        nx, ny = int(rng.integers(3, 8)), int(rng.integers(4, 12))  # windows: a grid of panes
        gx = (rx - x0) / max(x1 - x0, 1e-6) * nx
        gy = (ry - y0) / max(y1 - y0, 1e-6) * ny
        pane = (np.abs(gx % 1 - 0.5) < 0.28) & (np.abs(gy % 1 - 0.5) < 0.25)
        lit = pane & ((np.floor(gx) * 7 + np.floor(gy) * 13 + int(d)) % 5 < 1)
        cv.paint(region, pane & ~lit, BUILDING, d, (0.18, 0.22, 0.30), 0.10, 0.30)
        cv.paint(region, lit, BUILDING, d, (0.85, 0.77, 0.51), 0.30, 0.33)

    # --- trees beside the road ----------------------------------------------------------------
    canopy_tex = _smooth_noise(rng, h, w, 50)
    leaf = np.stack([0.12 + 0.05 * canopy_tex, 0.30 + 0.10 * canopy_tex,
                     0.10 + 0.03 * canopy_tex], -1)
    trees = [float(d) for d in rng.uniform(25, 400, int(rng.integers(3, 10)))]
    for d in sorted(trees, reverse=True):
        base_y = horizon + FOCAL * CAMERA_HEIGHT_M / d
        fr = min((base_y - horizon) / max(1 - horizon, 1e-3), 1.0)
        cx = vp_x + rng.choice([-1, 1]) * (half_bottom * fr + rng.uniform(0.02, 0.25))
        height = FOCAL * rng.uniform(6, 14) / d
        crown_r = height * rng.uniform(0.25, 0.35)
        trunk_w = crown_r * 0.25 / aspect
        region = cv.box(cx - trunk_w, base_y - height * 0.6, cx + trunk_w, base_y)
        ones = np.ones((region[0].stop - region[0].start, region[1].stop - region[1].start), bool)
        cv.paint(region, ones, VEGETATION, d, (0.30, 0.22, 0.14), 0.45, 0.33)
        cy = base_y - height + crown_r
        stretch = rng.uniform(1.0, 1.4)
        region = cv.box(cx - crown_r / aspect, cy - crown_r * stretch, cx + crown_r / aspect,
                        cy + crown_r * stretch)
        ex = (xn[:, region[1]] - cx) * aspect / max(crown_r, 1e-6)
        ey = (yn[region[0]] - cy) / max(crown_r * stretch, 1e-6)
        cv.paint(region, ex ** 2 + ey ** 2 <= 1, VEGETATION, d, leaf, 0.72 + 0.08 * canopy_tex,
                 0.28 + 0.02 * canopy_tex)

    # --- warm objects: cars on the road, people beside it (far to near) -----------------------
    objects = [('car', float(rng.uniform(12, 250))) for _ in range(int(rng.integers(1, 4)))]
    objects += [('person', float(rng.uniform(8, 150))) for _ in range(int(rng.integers(1, 5)))]
    for kind, d in sorted(objects, key=lambda o: -o[1]):
        base_y = horizon + FOCAL * CAMERA_HEIGHT_M / d
        if base_y > 1.0:
            continue
        fr = (base_y - horizon) / max(1 - horizon, 1e-3)
        m2y = FOCAL / d  # image heights per metre at this distance
        m2x = m2y / aspect
        if kind == 'car':
            cx = vp_x + rng.uniform(-0.6, 0.6) * half_bottom * fr
            cw, ch = 4.3 * m2x, 1.5 * m2y
            region = cv.box(cx - cw / 2, base_y - ch, cx + cw / 2, base_y)
            rx = (xn[:, region[1]] - (cx - cw / 2)) / cw  # 0..1 across the car
            ry = (yn[region[0]] - (base_y - ch)) / ch  # 0..1 top to bottom
            body = (ry >= 0.35) & (rx >= 0) & (rx <= 1)
            cabin = (ry < 0.42) & (rx > 0.2) & (rx < 0.8)
            colour = rng.uniform(0.05, 0.9, 3).astype(np.float32)
            cv.paint(region, body, CAR, d, colour * sun, 0.3 + 0.2 * colour.mean(), 0.62)
            cv.paint(region, cabin, CAR, d, (0.15, 0.18, 0.22), 0.12, 0.45)
            engine = body & (rx < 0.22) & (ry < 0.85)  # a warm bonnet
            cv.paint(region, engine, CAR, d, colour * sun, 0.3 + 0.2 * colour.mean(), 0.95)
            for wx in (0.2, 0.8):  # hot tyres and brakes
                wheel = ((rx - wx) * cw / m2x) ** 2 + ((ry - 1.0) * ch / m2y) ** 2 <= 0.33 ** 2
                cv.paint(region, wheel, CAR, d, 0.05, 0.08, 0.88)
        else:
            cx = vp_x + rng.choice([-1, 1]) * (half_bottom * fr + rng.uniform(0.01, 0.1))
            ph, pw = 1.75 * m2y, 0.5 * m2x
            region = cv.box(cx - pw / 2, base_y - ph, cx + pw / 2, base_y)
            rx = (xn[:, region[1]] - cx) / max(pw / 2, 1e-6)  # -1..1
            ry = (yn[region[0]] - (base_y - ph)) / max(ph, 1e-6)  # 0..1 head to feet
            # head: an ellipse 0.22 m wide (rx spans the 0.5 m shoulders), 14 % of the height
            head = (rx / 0.44) ** 2 + ((ry - 0.07) / 0.07) ** 2 <= 1
            torso = (ry > 0.14) & (np.abs(rx) <= 1)
            cloth = rng.uniform(0.05, 0.85, 3).astype(np.float32)
            cv.paint(region, torso, PERSON, d, cloth * sun, 0.25 + 0.35 * cloth.mean(), 0.86)
            skin = np.array([0.80, 0.62, 0.50], np.float32) * rng.uniform(0.5, 1.0)
            cv.paint(region, head & ~torso, PERSON, d, skin * sun, 0.55, 0.97)

    # --- sensor effects -----------------------------------------------------------------------
    shade = 1.0 - 0.08 * ((xn - 0.5) ** 2 + (yn - 0.5) ** 2)  # mild vignetting
    clear_vis = np.clip(cv.vis * (shade * sun)[..., None]
                        + rng.normal(0, 0.006, cv.vis.shape).astype(np.float32), 0, 1)
    nir_noise = rng.normal(0, 0.008, cv.nir.shape).astype(np.float32)
    clear_nir = np.clip(cv.nir * shade * sun + nir_noise, 0, 1)
    # Thermal: heat diffuses, so the scene is smooth; a little fixed-pattern noise.
    thermal = cv2.GaussianBlur(cv.thermal, (0, 0), sigmaX=max(0.6, 1.2 * min(h, w) / 256))
    thermal = np.clip(thermal + rng.normal(0, 0.01, thermal.shape).astype(np.float32), 0, 1)

    # --- haze: atmospheric scattering with per-band extinction --------------------------------
    beta = float(rng.uniform(*haze.beta_range))
    a_grey = float(rng.uniform(*haze.airlight_range))
    tint = rng.uniform(-haze.airlight_tint, haze.airlight_tint, 3) * 0.5 + np.array(
        [-haze.airlight_tint, 0.0, haze.airlight_tint])
    airlight = np.clip(a_grey + tint, 0, 1).astype(np.float32)
    gamma_nir = float(rng.uniform(*haze.nir_gamma_range))
    beta_nir = beta * (LAMBDA_VIS_UM / LAMBDA_NIR_UM) ** gamma_nir
    beta_thermal = beta * (LAMBDA_VIS_UM / LAMBDA_LWIR_UM) ** haze.thermal_gamma
    depth = cv.depth
    t_vis = np.exp(-beta * depth).astype(np.float32)
    t_nir = np.exp(-beta_nir * depth).astype(np.float32)
    t_thermal = np.exp(-beta_thermal * depth).astype(np.float32)
    hazy_vis = clear_vis * t_vis[..., None] + airlight * (1 - t_vis[..., None])
    a_nir = float(np.clip(a_grey * 0.7, 0, 1))  # NIR path radiance is weaker
    nir = clear_nir * t_nir + a_nir * (1 - t_nir)
    # Long-wave IR: the air path emits at roughly the cold-sky level.
    thermal = thermal * t_thermal + 0.08 * (1 - t_thermal)

    return SyntheticScene(
        clear_vis=clear_vis.astype(np.float32),
        hazy_vis=np.clip(hazy_vis, 0, 1).astype(np.float32),
        nir=np.clip(nir, 0, 1).astype(np.float32),
        clear_nir=clear_nir.astype(np.float32),
        thermal=thermal.astype(np.float32),
        depth=depth.astype(np.float32),
        labels=cv.labels,
        transmission=t_vis,
        haze=dict(beta=beta, airlight=[float(a) for a in airlight], beta_nir=float(beta_nir),
                  mean_transmission=float(t_vis.mean()), depth_source='synthetic_scene'),
    )
