"""The model zoo's released fusers (SeAFusion, IFCNN, SDNet, DenseFuse): architectures and
parameter counts, their converters, their release protocols (reproducing the published TNO
images), and each as the fuser of a two-stage pipeline.

Reproduction runs the networks on the three 576×768 TNO pairs (the bulk of this file's time);
everything else runs on ≤ 32 px inputs.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from helpers import REPO_ROOT, load_tool
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper

from mmhaze.datasets import SyntheticFusionDataset
from mmhaze.models.fusion import (
    IFCNN,
    DenseFuse,
    SDNet,
    SeAFusionNet,
    dense_forward,
    l1_norm_fusion,
)
from mmhaze.models.protocols import ReleaseProtocol, build_protocol
from mmhaze.models.protocols.reading import (
    read_gray,
    seafusion_rgb_to_ycrcb,
    seafusion_ycrcb_to_rgb,
)
from mmhaze.registry import DATASETS, MODELS

# method → (network, released weights, published TNO images, parameters)
ZOO = {
    'seafusion': ('SeAFusionNet', 'zoo/seafusion/SeAFusion.pth', 'tno_anchor/fused', 166_657),
    'ifcnn': ('IFCNN', 'zoo/ifcnn/IFCNN-MAX.pth', 'tno_anchor/ifcnn_published', 83_587),
    'sdnet': ('SDNet', 'zoo/sdnet/sdnet_tf_weights.npz', 'tno_anchor/sdnet_published', 28_705),
    'densefuse': ('DenseFuse', 'zoo/densefuse/densefuse_tf_weights.npz',
                  'tno_anchor/densefuse_published', 74_193),
}
CONVERTERS = {m: load_tool(f'model_converters/{m}_official_to_mmhaze') for m in ZOO}
TINY_DEHAZER = dict(type='DehazeFormer', arch='t', embed_dims=(8, 16, 16, 16, 8),
                    depths=(1, 1, 1, 1, 1), num_heads=(1, 2, 2, 1, 1), window_size=4)


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# ------------------------------------------------------------------------------- networks
@pytest.mark.parametrize('method', sorted(ZOO))
def test_parameter_counts_are_the_releases(method):
    net = MODELS.build(dict(type=ZOO[method][0]))
    assert n_params(net) == ZOO[method][3]
    assert net.protocols['release']['type'] == 'ReleaseProtocol'
    out = net.eval()(torch.rand(1, 1, 9, 11), torch.rand(1, 1, 9, 11))
    assert out.shape[-2:] == (9, 11) and torch.isfinite(out).all()


def test_component_counts_and_options():
    dense = DenseFuse()
    assert (n_params(dense.encoder), n_params(dense.decoder)) == (14_032, 60_161)
    # 1,728 gradient filters (Sobel-initialised) are part of SeAFusion's count
    sea = SeAFusionNet()
    sobel = sum(p.numel() for n, p in sea.named_parameters() if '.sobel.' in n)
    assert sobel == 1_728 and all(p.requires_grad for n, p in sea.named_parameters())
    assert not any(p.requires_grad for n, p in SeAFusionNet(learnable_sobel=False)
                   .named_parameters() if '.sobel.' in n)
    ifcnn = IFCNN()
    assert not ifcnn.conv1.weight.requires_grad  # ResNet-101's conv1 stays as released
    with pytest.raises(ValueError, match='fuse_rule'):
        IFCNN(fuse_rule='min')
    with pytest.raises(ValueError, match='fusion_rule'):
        DenseFuse(fusion_rule='max')


def test_fusion_rules_are_elementwise_and_symmetric():
    torch.manual_seed(0)
    a, b = torch.rand(1, 1, 12, 12), torch.rand(1, 1, 12, 12)
    for rule in ('max', 'mean', 'sum'):
        net = IFCNN(fuse_rule=rule).eval()
        with torch.no_grad():
            assert torch.allclose(net(a, b), net(b, a), atol=1e-6)
    fa, fb = torch.rand(1, 4, 3, 3), torch.rand(1, 4, 3, 3)
    w = fa.abs().sum(1, keepdim=True) / (fa.abs().sum(1, keepdim=True) +
                                         fb.abs().sum(1, keepdim=True))
    assert torch.allclose(l1_norm_fusion(fa, fb), w * fa + (1 - w) * fb)
    # the dense block's two orders
    convs = [torch.nn.Identity()]
    x = torch.arange(2.0).view(1, 2, 1, 1)
    assert dense_forward(x, convs, lambda t: -t, new_first=True).flatten().tolist() == \
        [-0.0, -1.0, 0.0, 1.0]
    assert dense_forward(x, convs, lambda t: -t, new_first=False).flatten().tolist() == \
        [0.0, 1.0, -0.0, -1.0]


def test_sdnet_interleaves_its_branches_and_densefuse_scales_raw_values():
    net = SDNet().eval()
    assert net.fuse.in_channels == 128 and net.value_range == (-1.0, 1.0)
    assert DenseFuse.value_range == (0.0, 255.0)
    with torch.no_grad():
        net.fuse.weight.zero_()
        net.fuse.weight[0, 16:32] = 1.0  # the second chunk: the visible branch's layer 1
        net.fuse.bias.zero_()
        vis, ir = torch.rand(1, 1, 8, 8), torch.rand(1, 1, 8, 8)
        expected = torch.tanh(net.vis_branch(vis)[0].sum(1, keepdim=True))
        assert torch.allclose(net(vis, ir), expected, atol=1e-6)


# ------------------------------------------------------------------------------- protocols
def test_release_readings_are_the_libraries_own():
    from PIL import Image
    grey = torch.arange(256.0).view(1, 1, 16, 16) / 255
    f = (read_gray(grey, 'pillow_ycbcr_f') * 255).round().flatten()
    assert f[11] == 10 and f[12] == 12 and int((f != torch.arange(256.0)).sum()) == 22
    assert torch.equal(read_gray(grey, 'pillow_l'), grey)
    rgb = torch.randint(0, 256, (1, 3, 7, 9)).float() / 255
    arr = (rgb[0] * 255).round().byte().permute(1, 2, 0).numpy()
    pil_l = np.asarray(Image.fromarray(arr).convert('L'), dtype=np.float32)
    assert np.array_equal((read_gray(rgb, 'pillow_l')[0, 0] * 255).round().numpy(), pil_l)
    with pytest.raises(ValueError, match='gray reading'):
        read_gray(rgb, 'matlab')


def test_seafusion_colour_formulas_round_trip():
    torch.manual_seed(1)
    rgb = torch.rand(2, 3, 5, 5) * 0.6 + 0.2
    y, crcb = seafusion_rgb_to_ycrcb(rgb)
    assert torch.allclose(y, 0.299 * rgb[:, :1] + 0.587 * rgb[:, 1:2] + 0.114 * rgb[:, 2:])
    assert torch.allclose(seafusion_ycrcb_to_rgb(y, crcb), rgb, atol=2e-3)


def test_stretch_forms_and_output_gray():
    x = torch.tensor([[[[0.1, 0.2, 0.35, 0.9]]]])
    v = x.numpy()
    lo, hi = v.min(), v.max()
    norm = ReleaseProtocol(stretch='minmax', stretch_form='normalize', rounding='truncate',
                           precision='float32').finish(x)
    assert np.array_equal((norm * 255).round().numpy(),
                          np.floor((v - lo) / (hi - lo) * np.float32(255)))
    byte = ReleaseProtocol(stretch='minmax', stretch_form='bytescale', rounding='half_up',
                           precision='float32').finish(x)
    scale = np.float32(255.0 / np.float64(hi - lo))
    assert np.array_equal((byte * 255).round().numpy(), np.floor((v - lo) * scale + 0.5))
    gray = ReleaseProtocol(stretch=None, rounding='truncate', output_gray='opencv_gray').finish(
        torch.tensor([1.0, 0.5, 0.0]).view(1, 3, 1, 1))
    # truncated to (255, 127, 0), then OpenCV: 0.299·255 + 0.587·127 = 150.8 → 151
    assert gray.shape == (1, 1, 1, 1) and round(gray.item() * 255) == 151
    with pytest.raises(ValueError, match='vis_read'):
        ReleaseProtocol(vis_read='bgr')
    with pytest.raises(ValueError, match='output_gray converts'):
        ReleaseProtocol(rounding=None, output_gray='pillow_l')


def test_reading_gives_the_fuser_its_sources_per_color_mode():
    proto = build_protocol('release', IFCNN())
    vis = torch.rand(1, 3, 6, 6)
    ir = torch.rand(1, 1, 6, 6)
    v_rgb, i_rgb, chroma = proto.read(vis, ir, 'rgb')
    assert chroma is None and v_rgb.shape[1] == i_rgb.shape[1] == 3
    assert torch.equal(v_rgb[:, 0], v_rgb[:, 2])  # gray, replicated (GRAY2BGR)
    v_y, i_y, chroma = proto.read(vis, ir, 'ycbcr')
    assert v_y.shape[1] == i_y.shape[1] == 1 and chroma.shape[1] == 2
    assert torch.equal(v_y, v_rgb[:, :1]) and torch.equal(i_y * 255, (ir * 255).round())
    sea = build_protocol('release', SeAFusionNet())
    v_y, _, crcb = sea.read(vis, ir, 'ycbcr')
    assert torch.allclose(v_y, seafusion_rgb_to_ycrcb((vis * 255).round() / 255)[0])


# ------------------------------------------------------------------------------- converters
@pytest.mark.shared_data('zoo')
@pytest.mark.parametrize('method', sorted(ZOO))
def test_converters_map_every_parameter(method, shared_data, tmp_path, capsys):
    net_type, weights, _, params = ZOO[method]
    src, dst = shared_data / weights, tmp_path / f'{method}.pth'
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter('always')
        assert CONVERTERS[method].main([str(src), str(dst)]) == 0
    # SeAFusion: batch norms never applied; SDNet: decomposition path; DenseFuse: Adam slots
    dropped = [str(w.message) for w in record if 'dropped' in str(w.message)]
    assert bool(dropped) == (method != 'ifcnn'), dropped
    assert f'{params:,} parameters' in capsys.readouterr().out or method == 'ifcnn'
    state = torch.load(dst, weights_only=True)['state_dict']
    model = MODELS.build(dict(type='TwoStageDehazeFuse', fuser=dict(type=net_type)))
    model.load_state_dict(state, strict=True)
    assert CONVERTERS[method].main([str(src), str(dst)]) == 2  # exists, no --force


@pytest.mark.shared_data('zoo/seafusion/SeAFusion.pth', 'zoo/densefuse/densefuse_tf_weights.npz')
def test_unmapped_or_missing_tensors_are_errors(shared_data):
    from mmhaze.utils.weight_conversion import ConversionError, read_tf_checkpoint
    sea = torch.load(shared_data / ZOO['seafusion'][1], weights_only=True)
    with pytest.raises(ConversionError, match="'vis_extra.weight'"):
        CONVERTERS['seafusion'].convert_state_dict(dict(sea, **{'vis_extra.weight': sea[
            'decode1.conv.bias']}))
    del sea['decode1.conv.bias']
    with pytest.raises(ConversionError, match='decoder.3.bias'):
        CONVERTERS['seafusion'].convert_state_dict(sea)
    tensors = read_tf_checkpoint(str(shared_data / ZOO['densefuse'][1]))
    assert any(k.endswith('/Adam') for k in tensors)


# ------------------------------------------------------------------------------- published
@pytest.fixture(scope='module')
def tno_samples(shared_data):
    dataset = DATASETS.build(dict(
        type='PairedFusionDataset', data_root=str(shared_data / 'tno_anchor'), layout='tno',
        test_mode=True,
        pipeline=[dict(type='LoadFusionImages', ir_channels=1), dict(type='PackFusionInputs')]))
    assert len(dataset) == 3
    return [dataset[i] for i in range(3)]


def compare_with_published(fused: torch.Tensor, published: np.ndarray) -> tuple[int, float]:
    """(max grey-level difference, fraction of differing values) of a 3×H×W prediction."""
    pred = torch.round(fused * 255).to(torch.int64).numpy()
    pub = published.astype(np.int64)
    pub = np.repeat(pub[None], 3, 0) if pub.ndim == 2 else pub.transpose(2, 0, 1)
    diff = np.abs(pred - pub)
    return int(diff.max()), float((diff > 0).mean())


@pytest.mark.shared_data('zoo', 'tno_anchor')
@pytest.mark.parametrize('method', sorted(ZOO))
def test_release_reproduces_the_published_tno_images(method, shared_data, tno_samples):
    """The release_tno config's model with the converted weights gives the published images:
    at most 1 grey level off on at most 1e-3 of the pixels (measured: < 7e-5)."""
    from PIL import Image
    _, weights, published, _ = ZOO[method]
    cfg = Config.fromfile(REPO_ROOT / f'configs/{method}/{method}_release_tno.py')
    model_cfg = cfg.model.to_dict()
    model_cfg['fuser'].pop('init_cfg')
    model = MODELS.build(model_cfg)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # the converters' notices (tested above)
        state = CONVERTERS[method].convert(str(shared_data / weights))
    model.load_state_dict(state, strict=True)
    model.eval()
    report = {}
    for sample in tno_samples:
        with torch.no_grad():
            out = model.test_step(pseudo_collate([sample]))[0]
        stem = out.metainfo['img_id']
        pub = np.array(Image.open(shared_data / published / f'{stem}.png'))
        report[stem] = compare_with_published(out.pred_fused.data, pub)
    print(method, report)
    assert all(m <= 1 and frac <= 1e-3 for m, frac in report.values()), report


# ------------------------------------------------------------------------------- pipelines
def _batch(n: int = 2, size: int = 32, seed: int = 0) -> dict:
    ds = SyntheticFusionDataset(num_samples=n, img_size=size, seed=seed,
                                pipeline=[dict(type='PackFusionInputs')])
    return pseudo_collate([ds[i] for i in range(n)])


@pytest.mark.parametrize('method', sorted(ZOO))
def test_zoo_fuser_behind_a_dehazer_trains_frozen_and_tests(method):
    """One train step with the fuser frozen (the dehazer learns through it), one test step
    with the release protocol."""
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='TwoStageDehazeFuse', dehazer=TINY_DEHAZER,
        fuser=dict(type=ZOO[method][0], frozen=True), protocol='release',
        data_preprocessor=dict(type='FusionDataPreprocessor', ir_channels=1),
        losses=dict(dehaze=dict(type='L1Loss', pred='dehazed', target='gt_clear'),
                    fusion=dict(type='MaxIntensityLoss', fused='fused',
                                vis_ref='dehazed', ir='fuser_ir'))))
    fuser_before = {k: v.clone() for k, v in model.fuser.state_dict().items()}
    dehazer_before = [p.detach().clone() for p in model.dehazer.parameters()]
    wrapper = build_optim_wrapper(model, dict(optimizer=dict(type='Adam', lr=1e-3)))
    model.train()
    log = model.train_step(_batch(), wrapper)
    assert set(log) >= {'loss_dehaze', 'loss_fusion'} and all(torch.isfinite(v)
                                                               for v in log.values())
    assert not model.fuser.training
    assert all(torch.equal(v, model.fuser.state_dict()[k]) for k, v in fuser_before.items())
    assert any(not torch.equal(a, b) for a, b in zip(dehazer_before, model.dehazer.parameters()))
    model.eval()
    with torch.no_grad():
        samples = model.test_step(_batch(2, 31, seed=1))
    for sample in samples:
        fused = sample.pred_fused.data
        assert fused.shape == (3, 31, 31) and 0 <= fused.min() and fused.max() <= 1
        assert 'pred_dehazed' in sample
