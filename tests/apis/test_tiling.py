"""Tiled inference (issue 11, item 12): exact for every model that declares it, refused with the
reason for the others unless approximate tiling is asked for, whose drift is then measured."""
import numpy as np
import pytest
import torch
import torch.nn as nn
from helpers import BASELINE_CONFIG as BASELINE
from helpers import REPO_ROOT
from mmengine.config import Config

from mmhaze.apis import FusionInferencer
from mmhaze.apis.inferencer import TileGeometry, TilingError
from mmhaze.models.task_models import DehazeFuseModel
from mmhaze.registry import MODELS


class ReflectConvNet(nn.Module):
    """``depth`` reflect-padded 3×3 convs on cat[a, b]: shift-equivariant, with a receptive
    field of radius ``depth`` — exact tiling needs exactly that much context."""

    tile_exact = True
    min_input_size = 2  # a 1-pixel side cannot be reflect-padded by 1

    def __init__(self, in_channels: int, depth: int, width: int = 6):
        super().__init__()
        chans = [in_channels] + [width] * (depth - 1) + [3]
        layers = []
        for a, b in zip(chans, chans[1:]):
            layers += [nn.Conv2d(a, b, 3, padding=1, padding_mode='reflect'), nn.Tanh()]
        self.body = nn.Sequential(*layers[:-1])
        self.tile_overlap = depth

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return self.body(torch.cat([a, b], 1))


def exact_model() -> DehazeFuseModel:
    """A dehazer of radius 3 then a fuser of radius 2: the model's radius is their sum, 5."""
    torch.manual_seed(0)
    return DehazeFuseModel(
        dehazer=ReflectConvNet(4, depth=3), fuser=ReflectConvNet(4, depth=2),
        data_preprocessor=dict(type='FusionDataPreprocessor', pad_size_divisor=4,
                               ir_channels=1))


def pair(h: int, w: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, (h, w, 3), np.uint8), rng.integers(0, 256, (h, w), np.uint8))


def assert_exact_tiling(infer: FusionInferencer, tile: int, size: tuple[int, int]) -> None:
    """Tiles of ``tile`` px (and the overlap the inferencer picks from ``overlap=0``) give the
    whole-image outputs to 1e-6, through the tensors and through the written images."""
    vis, ir = pair(*size)
    inputs, _ = infer.preprocess(vis, ir)
    geometry = infer.tile_geometry(tile, overlap=0)
    assert len(geometry.starts(inputs['vis'].shape[-2])) > 1  # really several tiles
    with torch.no_grad():
        whole = infer.model(inputs, mode='tensor')
        tiled = infer.tiled(inputs, geometry)
    assert set(tiled) == set(whole)
    for key in whole:
        assert (tiled[key] - whole[key]).abs().max().item() < 1e-6, key
    for key, image in infer(vis, ir, tile=tile, overlap=0).items():
        np.testing.assert_array_equal(image, infer(vis, ir)[key])


def test_exact_tiling_reproduces_the_whole_image():
    model = exact_model()
    assert (model.tile_exact, model.tile_overlap, model.min_input_size) == (True, 5, 2)
    infer = FusionInferencer.from_model(model, 'cpu')
    assert_exact_tiling(infer, tile=24, size=(50, 70))


def test_tiling_blends_only_the_outputs_asked_for():
    """``keys`` keeps image-size accumulators for those outputs only (the inferencer's images;
    HSVF's segmentation logits would be most of a 4K image's accumulators)."""
    infer = FusionInferencer.from_model(exact_model(), 'cpu')
    inputs, _ = infer.preprocess(*pair(50, 70))
    geometry = infer.tile_geometry(24, overlap=0)
    with torch.no_grad():
        every = infer.tiled(inputs, geometry)
        fused = infer.tiled(inputs, geometry, keys=('fused',))
    assert set(every) == {'dehazed', 'fused'} and set(fused) == {'fused'}
    assert torch.equal(fused['fused'], every['fused'])


def test_the_inferencer_keeps_at_least_the_models_tile_overlap_of_context():
    infer = FusionInferencer.from_model(exact_model(), 'cpu')
    # overlap 0 or 3 asked for: every tile still drops 5 px at its inner edges, and
    # neighbours overlap by 2·5 px (steps stay multiples of the divisor 4).
    for asked in (0, 3):
        assert infer.tile_geometry(24, overlap=asked) == TileGeometry(24, 12, 5)
    assert infer.tile_geometry(32, overlap=12) == TileGeometry(32, 12, 5)
    # Less context than the receptive radius is not exact: the test above could fail.
    vis, ir = pair(50, 70)
    inputs, _ = infer.preprocess(vis, ir)
    with torch.no_grad():
        whole = infer.model(inputs, mode='tensor')['fused']
        for margin in (0, 4):
            short = infer.tiled(inputs, TileGeometry(24, 12, margin))['fused']
            assert (short - whole).abs().max().item() > 1e-3, margin
    with pytest.raises(TilingError) as err:
        infer.tile_geometry(16)
    assert str(err.value) == (
        '--tile 16 is too small for DehazeFuseModel: every tile loses 5 px at its inner edges '
        '(tile_overlap), so tiles overlap by 10 px; use --tile 20 or more')


def _configs() -> list[str]:
    root = REPO_ROOT / 'configs'
    return sorted(p.relative_to(REPO_ROOT).as_posix() for p in root.rglob('*.py')
                  if '_base_' not in p.parts and not p.name.startswith('_'))


def _inference_network_classes(model_cfg) -> list[type]:
    # Every network slot (a registered module config), not the preprocessor or the
    # training-only discriminators.
    return [MODELS.get(v['type']) for k, v in model_cfg.items()
            if isinstance(v, dict) and 'type' in v
            and k not in ('data_preprocessor', 'discriminators')]


@pytest.mark.parametrize('config', _configs())
def test_every_config_tiles_exactly_or_says_why_not(config):
    """A config whose networks all declare exact tiling is checked like the model above; any
    other network says why its tiles differ (what --tile refuses with)."""
    cfg = Config.fromfile(str(REPO_ROOT / config))
    classes = _inference_network_classes(cfg.model)
    assert classes, config
    inexact = [c for c in classes if getattr(c, 'tile_exact', False) is False]
    if not inexact:  # declared exact (or decided per instance by a property)
        model_cfg = cfg.model.copy()
        model_cfg.pop('init_cfg', None)
        model_cfg.pop('losses', None)  # no part of inference (U2Fusion's needs VGG weights)
        torch.manual_seed(0)
        model = MODELS.build(model_cfg)
        if model.tile_exact:
            infer = FusionInferencer.from_model(model, 'cpu')
            tile = infer.tile_geometry(max(64, 4 * model.tile_overlap)).tile
            assert_exact_tiling(infer, tile, size=(2 * tile + 12, 2 * tile + 4))
            return
        inexact = [type(n) for n in model.inference_networks() if not n.tile_exact]
    for cls in inexact:
        reason = getattr(cls, 'tile_inexact_reason', None)
        assert isinstance(reason, str) and len(reason) > 20, cls


# ---------------------------------------------------------------------------- approximate tiling
@pytest.fixture(scope='module')
def baseline():
    """The conv baseline with non-trivial (untrained) heads; its SE gates pool per image."""
    torch.manual_seed(0)
    infer = FusionInferencer(str(REPO_ROOT / BASELINE), device='cpu')
    for head in (infer.model.network.dehaze_head, infer.model.network.fusion_head[-1]):
        torch.nn.init.normal_(head.weight, std=0.05)
    return infer


def test_a_model_whose_tiles_differ_is_refused_with_the_reason(baseline):
    vis, ir = pair(64, 96)
    with pytest.raises(TilingError) as err:
        baseline(vis, ir, tile=32)
    assert str(err.value) == (
        '--tile: tiles of ConvDehazeFuser would not reproduce its whole-image output '
        '(ConvDehazeFuseNet: the squeeze-excitation gates pool over the whole input (per '
        'image)); run without --tile, or pass --tile-approx to tile anyway (the drift is then '
        'measured on an overlapping crop and printed)')
    # An image that fits in one tile is not tiled, so nothing is refused.
    assert baseline(vis, ir, tile=96)['fused'].shape == (64, 96, 3)


def test_the_drift_is_tiled_vs_whole_inference_of_a_crop_over_a_seam(baseline):
    vis, ir = pair(64, 96)
    drift = baseline.tile_drift(vis, ir, tile=32, overlap=8)
    # Two 32 px tiles and their 8 px overlap along the longer side, one tile across,
    # centred: 56×32 at (20, 16).
    assert drift.box == (20, 16, 56, 32)
    x, y, w, h = drift.box
    crop_vis, crop_ir = vis[y:y + h, x:x + w], ir[y:y + h, x:x + w]
    whole = baseline(crop_vis, crop_ir)
    tiled = baseline(crop_vis, crop_ir, tile=32, overlap=8, approx=True)
    expected = {}
    for key in ('dehazed', 'fused'):
        diff = np.abs(whole[key].astype(int) - tiled[key].astype(int))
        expected[key] = (int(diff.max()), pytest.approx(float(diff.mean()), abs=1e-9))
    assert drift.levels == expected
    assert drift.levels['dehazed'][0] > 0  # the quoted behaviour: tiles change the output
    (dm, da), (fm, fa) = drift.levels['dehazed'], drift.levels['fused']
    assert str(drift) == (f'tiling drift on the 56×32 crop at x=20, y=16 (tiled vs whole crop): '
                          f'dehazed max {dm}, mean {da:.2f}; fused max {fm}, mean {fa:.2f} '
                          'grey levels')
    assert baseline.tile_drift(vis, ir, tile=96) is None  # one tile: nothing to measure


def test_freed_memory_goes_back_between_the_large_steps_of_tiling(baseline, monkeypatch):
    import mmhaze.apis.inferencer as inferencer
    calls = []
    monkeypatch.setattr(inferencer, 'release_freed_memory', lambda: calls.append(1) or True)
    vis, ir = pair(64, 96)
    baseline(vis, ir, tile=32, overlap=8, approx=True)
    tiles = len(baseline.tile_geometry(32, 8, True).starts(64)) * \
        len(baseline.tile_geometry(32, 8, True).starts(96))
    assert len(calls) == 1 + tiles == 13  # after decoding the pair, then after each tile
    baseline(vis, ir)
    assert len(calls) == 13  # untiled: memory is not the point
    calls.clear()
    baseline.tile_drift(vis, ir, tile=32, overlap=8)
    assert len(calls) == 2 + 2  # before and after the whole crop's forward, after each tile
