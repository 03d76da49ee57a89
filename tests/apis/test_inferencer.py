import cv2
import numpy as np
import pytest
import torch
from helpers import BASELINE_CONFIG as BASELINE

from mmhaze.apis import FusionInferencer
from mmhaze.datasets import render_scene


@pytest.fixture(scope='module')
def inferencer(repo_root):
    torch.manual_seed(0)
    infer = FusionInferencer(str(repo_root / BASELINE), device='cpu')
    for head in (infer.model.network.dehaze_head, infer.model.network.fusion_head[-1]):
        torch.nn.init.normal_(head.weight, std=0.05)  # a non-trivial (untrained) model
    return infer


def test_arrays_and_files_give_the_same_result(inferencer, tmp_path):
    s = render_scene(0, size=(40, 52))
    vis = np.rint(s.hazy_vis * 255).astype(np.uint8)
    ir = np.rint(s.thermal * 255).astype(np.uint8)
    out = inferencer(vis, ir)
    assert out['dehazed'].shape == (40, 52, 3) and out['fused'].dtype == np.uint8
    cv2.imwrite(str(tmp_path / 'a.png'), vis[..., ::-1])
    cv2.imwrite(str(tmp_path / 'a_ir.png'), ir)
    from_files = inferencer(str(tmp_path / 'a.png'), str(tmp_path / 'a_ir.png'))
    np.testing.assert_array_equal(from_files['fused'], out['fused'])


def test_approximate_tiling_blends_the_seams(inferencer):
    s = render_scene(1, size=(96, 120))
    vis = np.rint(s.hazy_vis * 255).astype(np.uint8)
    ir = np.rint(s.thermal * 255).astype(np.uint8)
    whole = inferencer(vis, ir)['dehazed'].astype(int)
    tiled = inferencer(vis, ir, tile=64, overlap=24, approx=True)['dehazed'].astype(int)
    assert tiled.shape == whole.shape
    hard = inferencer(vis, ir, tile=64, overlap=0, approx=True)['dehazed'].astype(int)
    assert np.abs(whole - vis).mean() > 5  # the model changes the image...
    # ...and tiles agree with the whole image up to seams, which the overlap blending reduces
    assert np.abs(tiled - whole).mean() < 0.5
    assert np.abs(tiled - whole).mean() < np.abs(hard - whole).mean()


def test_bad_inputs_name_the_files(inferencer, tmp_path):
    with pytest.raises(OSError, match='nope.png'):
        inferencer(str(tmp_path / 'nope.png'), str(tmp_path / 'nope_ir.png'))
    (tmp_path / 'bad.png').write_bytes(b'not a png')
    with pytest.raises(OSError, match='bad.png: truncated, corrupt or not an image'):
        inferencer(str(tmp_path / 'bad.png'), str(tmp_path / 'bad.png'))
    with pytest.raises(ValueError, match='differ in size'):
        inferencer(np.zeros((8, 8, 3), np.uint8), np.zeros((8, 9), np.uint8))


def test_tiling_refusal_of_a_release_protocol_names_it(repo_root):
    """The refusal of a release-protocol two-stage model gave an empty reason: "...whole-image
    output ()" (issue 19)."""
    from mmhaze.apis import load_config
    from mmhaze.apis.inferencer import TilingError
    from mmhaze.registry import MODELS
    cfg = load_config(str(repo_root / 'configs/u2fusion/u2fusion_release_tno.py'))
    cfg.model.fuser.pop('init_cfg')  # random weights: only the declarations matter
    infer = FusionInferencer.from_model(MODELS.build(cfg.model), device='cpu')
    with pytest.raises(TilingError) as err:
        infer.tile_geometry(32)
    assert str(err.value) == (
        "--tile: tiles of TwoStageDehazeFuse would not reproduce its whole-image output "
        "(model.protocol (the fuser's release protocol) stretches each output over its whole "
        "image; protocol='plain' tiles); run without --tile, or pass --tile-approx to tile "
        'anyway (the drift is then measured on an overlapping crop and printed)')


@pytest.mark.parametrize('mode, compiles', [('off', False), (False, False), ('on', True),
                                            (True, True)])
def test_compile_modes_of_the_tools_are_honoured(repo_root, monkeypatch, mode, compiles):
    # tools/infer.py passes compile_mode()'s string: 'off' is not a request to compile.
    import mmhaze.apis.inferencer as inferencer_module
    from mmhaze.apis import load_config
    from mmhaze.registry import MODELS
    calls = []
    monkeypatch.setattr(inferencer_module, 'compile_networks', lambda model: calls.append(model))
    model = MODELS.build(load_config(str(repo_root / BASELINE)).model)
    FusionInferencer.from_model(model, compile=mode)
    assert bool(calls) is compiles
    with pytest.raises(ValueError, match='compile must be'):
        FusionInferencer.from_model(model, compile='sometimes')


def test_an_inferencer_frees_the_networks_that_only_train(repo_root, tmp_path):
    """From a config and a checkpoint with discriminators, the weights load strictly, then
    the discriminators are released; the images equal those of the whole model."""
    from mmhaze.apis.config_check import load_config
    from mmhaze.registry import MODELS
    config = str(repo_root / 'configs/hsvf/hsvf_tiny_synthetic.py')
    model_cfg = load_config(config).model.copy()
    model_cfg.pop('init_cfg', None)
    torch.manual_seed(0)
    whole = MODELS.build(model_cfg)
    assert 'discriminators' in whole.network_names
    checkpoint = tmp_path / 'hsvf_tiny.pth'
    torch.save({'state_dict': whole.state_dict()}, checkpoint)
    infer = FusionInferencer(config, str(checkpoint), device='cpu')
    assert infer.model.discriminators is None
    assert 'discriminators' not in infer.model.network_names
    assert not any(k.startswith('discriminators.') for k in infer.model.state_dict())
    s = render_scene(2, size=(64, 64))
    vis = np.rint(s.hazy_vis * 255).astype(np.uint8)
    ir = np.rint(s.thermal * 255).astype(np.uint8)
    released = infer(vis, ir)
    # An inferencer around a model the caller built leaves its networks alone.
    reference = FusionInferencer.from_model(whole, 'cpu')
    assert reference.model.discriminators is not None
    for key, image in reference(vis, ir).items():
        np.testing.assert_array_equal(released[key], image)
