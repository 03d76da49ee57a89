"""The model zoo's released fusers (SeAFusion, IFCNN, SDNet, DenseFuse, and the TF1 releases
STDFusionNet, PMGI, CSF, CUFD): architectures and parameter counts, their converters, their
release protocols (reproducing the published images), CSF's and CUFD's official outputs
(tests/fixtures/zoo/, made by running their official code), and each as the fuser of a
two-stage pipeline and in an ONNX export.

Reproduction runs the networks on the published pairs (TNO 576×768 and STDFusionNet's own
280–620 px images: the bulk of this file's time); everything else runs on ≤ 48 px inputs.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Optional

import numpy as np
import pytest
import torch
from helpers import REPO_ROOT, load_tool
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper

from mmhaze.datasets import SyntheticFusionDataset
from mmhaze.models.fusion import (
    CSF,
    IFCNN,
    PMGI,
    DenseFuse,
    SDNet,
    SeAFusionNet,
    dense_forward,
    l1_norm_fusion,
)
from mmhaze.models.fusion.csf import max_pool_input_gradient, reflect_pad_input_gradient
from mmhaze.models.protocols import ReleaseProtocol, build_protocol
from mmhaze.models.protocols.reading import (
    read_gray,
    seafusion_rgb_to_ycrcb,
    seafusion_ycrcb_to_rgb,
)
from mmhaze.registry import DATASETS, MODELS

# method → (network, released weights (files in the converter's order), published images or
# None, parameters: learnable, no BN running statistics)
ZOO = {
    'seafusion': ('SeAFusionNet', 'zoo/seafusion/SeAFusion.pth', 'tno_anchor/fused', 166_657),
    'ifcnn': ('IFCNN', 'zoo/ifcnn/IFCNN-MAX.pth', 'tno_anchor/ifcnn_published', 83_587),
    'sdnet': ('SDNet', 'zoo/sdnet/sdnet_tf_weights.npz', 'tno_anchor/sdnet_published', 28_705),
    'densefuse': ('DenseFuse', 'zoo/densefuse/densefuse_tf_weights.npz',
                  'tno_anchor/densefuse_published', 74_193),
    # the jiayi-ma checkpoint made the published results (the other release is 88 levels off)
    'stdfusionnet': ('STDFusionNet',
                     'zoo/stdfusionnet/jiayi-ma/stdfusionnet_jiayima_tf_weights.npz',
                     'zoo/stdfusionnet/published', 282_513),
    # convs 41,633 + normalisation γ/β 384 (the checkpoint's 384 moving statistics: unused)
    'pmgi': ('PMGI', 'zoo/pmgi/pmgi_tf_weights.npz', 'zoo/pmgi/published', 42_017),
    'csf': ('CSF', ('zoo/csf/csf_ED_tf_weights.npz', 'zoo/csf/csf_EC_tf_weights.npz'), None,
            185_327),
    'cufd': ('CUFD', ('zoo/cufd/cufd_1part1_tf_weights.npz',
                      'zoo/cufd/cufd_part2_tf_weights.npz'), None, 955_297),
}
PUBLISHED = sorted(m for m in ZOO if ZOO[m][2])
#: Published images whose sources are not the tno_anchor pairs: (data root, layout folders,
#: extension of the published files).
PUBLISHED_SOURCES = {
    'stdfusionnet': ('zoo/stdfusionnet', dict(vis='inputs/Test_vi', ir='inputs/Test_ir'), 'bmp'),
}
#: Releases whose conversion drops nothing (no optimizer state, no unused tensors).
NOTHING_DROPPED = ('ifcnn', 'stdfusionnet')
#: Official-code outputs on crops of the tno_anchor pairs (tests/fixtures/zoo/README.md).
OFFICIAL_FIXTURES = Path(__file__).resolve().parents[1] / 'fixtures' / 'zoo'
CONVERTERS = {m: load_tool(f'model_converters/{m}_official_to_mmhaze') for m in ZOO}
TINY_DEHAZER = dict(type='DehazeFormer', arch='t', embed_dims=(8, 16, 16, 16, 8),
                    depths=(1, 1, 1, 1, 1), num_heads=(1, 2, 2, 1, 1), window_size=4)


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def weight_files(method: str, shared_data: Path) -> list[str]:
    weights = ZOO[method][1]
    return [str(shared_data / w) for w in ((weights,) if isinstance(weights, str) else weights)]


def converted(method: str, shared_data: Path) -> dict[str, torch.Tensor]:
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # the converters' notices (tested below)
        return CONVERTERS[method].convert(*weight_files(method, shared_data))


def release_model(method: str, shared_data: Path, **overrides) -> torch.nn.Module:
    """The ``<method>_release_tno.py`` model with the converted release weights, eval mode."""
    cfg = Config.fromfile(REPO_ROOT / f'configs/{method}/{method}_release_tno.py')
    model_cfg = cfg.model.to_dict()
    model_cfg['fuser'].pop('init_cfg')
    model = MODELS.build(dict(model_cfg, **overrides))
    model.load_state_dict(converted(method, shared_data), strict=True)
    return model.eval()


# ------------------------------------------------------------------------------- networks
@pytest.mark.parametrize('method', sorted(ZOO))
def test_parameter_counts_are_the_releases(method):
    net = MODELS.build(dict(type=ZOO[method][0]))
    assert n_params(net) == ZOO[method][3]
    assert net.protocols['release']['type'] == 'ReleaseProtocol'
    side = getattr(net, 'min_input_size', 1)  # CSF's classifier pools 3 times: 17 px
    size = (max(9, side), max(11, side + 2))
    out = net.eval()(torch.rand(1, 1, *size), torch.rand(1, 1, *size))
    assert out.shape[-2:] == size and torch.isfinite(out).all()


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
    net_type = ZOO[method][0]
    srcs, dst = weight_files(method, shared_data), tmp_path / f'{method}.pth'
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter('always')
        assert CONVERTERS[method].main([*srcs, str(dst)]) == 0
    # SeAFusion: batch norms never applied; SDNet: decomposition path; DenseFuse: Adam slots;
    # PMGI: its batch-norm tensors; CSF, CUFD: Adam/RMSProp slots, step counters, copies
    dropped = [str(w.message) for w in record if 'dropped' in str(w.message)]
    assert bool(dropped) == (method not in NOTHING_DROPPED), dropped
    model = MODELS.build(dict(type='TwoStageDehazeFuse', fuser=dict(type=net_type)))
    # what is written: every tensor of the state dict (BN statistics and counters included)
    written = sum(v.numel() for v in model.fuser.state_dict().values())
    assert f'{written:,} parameters' in capsys.readouterr().out
    state = torch.load(dst, weights_only=True)['state_dict']
    model.load_state_dict(state, strict=True)
    assert CONVERTERS[method].main([*srcs, str(dst)]) == 2  # exists, no --force


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


@pytest.mark.shared_data('zoo/stdfusionnet')
def test_stdfusionnet_converter_says_which_release_it_converts(shared_data, tmp_path, capsys):
    tool = CONVERTERS['stdfusionnet']
    for src, scope, verdict in (
            (shared_data / ZOO['stdfusionnet'][1], 'STMFusion_model/', 'made the published'),
            (shared_data / 'zoo/stdfusionnet/stdfusionnet_tf_weights.npz', 'STDFusion_model/',
             'NOT the checkpoint of the published results')):
        dst = tmp_path / f'{scope[:3]}.pth'
        assert tool.main([str(src), str(dst)]) == 0
        said = capsys.readouterr().out
        assert scope in said and verdict in said
        assert scope in torch.load(dst, weights_only=True)['meta']['source']
    # the two releases are different weights of the same network
    a, b = (tool.convert(str(shared_data / f)) for f in (
        ZOO['stdfusionnet'][1], 'zoo/stdfusionnet/stdfusionnet_tf_weights.npz'))
    assert a.keys() == b.keys() and all(not torch.equal(a[k], b[k]) for k in a)


@pytest.mark.shared_data('zoo/stdfusionnet', 'zoo/pmgi', 'zoo/csf', 'zoo/cufd', 'zoo/sdnet')
def test_tf1_converters_refuse_wrong_files_missing_keys_and_overwriting_inputs(
        shared_data, tmp_path, capsys):
    from mmhaze.utils.weight_conversion import ConversionError, read_tf_checkpoint
    sdnet = str(shared_data / ZOO['sdnet'][1])
    # another release's file: every tensor unmapped, every parameter missing
    with pytest.raises(ConversionError, match="no counterpart for checkpoint tensor "
                                              "'fusion_model/layer1_ir/w1_ir'"):
        CONVERTERS['pmgi'].convert(sdnet)
    with pytest.raises(ConversionError, match='expected the tensors of one STDFusionNet'):
        CONVERTERS['stdfusionnet'].convert(sdnet)
    ed, ec = weight_files('csf', shared_data)
    assert CONVERTERS['csf'].main([ec, ed, str(tmp_path / 'swapped.pth')]) == 1
    err = capsys.readouterr().err
    assert f'{ec}: cannot convert' in err and "'Classification/classification/conv1_11" in err
    # a released file with one tensor missing: the parameter left without it is named
    part1, part2 = weight_files('cufd', shared_data)
    tensors = read_tf_checkpoint(part2)
    del tensors['s_decoder/output_layer/bias']
    np.savez(tmp_path / 'part2_missing.npz', **tensors)
    with pytest.raises(ConversionError, match="'fuser.s_decoder.head.bias' has no checkpoint"):
        CONVERTERS['cufd'].convert(part1, str(tmp_path / 'part2_missing.npz'))
    # the output may not be an input, even with --force; nothing is written
    src = tmp_path / 'pmgi.npz'
    src.write_bytes((shared_data / ZOO['pmgi'][1]).read_bytes())
    before = src.read_bytes()
    assert CONVERTERS['pmgi'].main([str(src), str(src), '--force']) == 2
    assert CONVERTERS['csf'].main([ed, str(src), str(src), '--force']) == 2
    assert 'is an input of the conversion' in capsys.readouterr().err
    assert src.read_bytes() == before


@pytest.mark.shared_data('zoo/pmgi')
def test_pmgi_runs_with_the_gamma_and_beta_its_test_graph_created(shared_data):
    """The release's graph creates its batch norms afresh (γ = 1, β = 0) and never restores
    them; in training mode they normalise each image by its own statistics."""
    state = converted('pmgi', shared_data)
    norms = {k: v for k, v in state.items() if '.norm.' in k}
    assert len(norms) == 24 and sum(v.numel() for v in norms.values()) == 384
    assert all(torch.equal(v, torch.ones_like(v) if k.endswith('weight') else
                           torch.zeros_like(v)) for k, v in norms.items())
    net = PMGI().eval()
    net.load_state_dict({k[len('fuser.'):]: v for k, v in state.items()})
    layer = net.paths['ir'].layer1
    x = torch.randn(2, 3, 12, 14)
    y = layer.conv(x)
    mean, var = y.mean((2, 3), keepdim=True), y.var((2, 3), unbiased=False, keepdim=True)
    ref = (y - mean) / torch.sqrt(var + 1e-5)
    assert torch.allclose(layer.norm(y), ref, atol=1e-5)
    # per image: a sample's output does not depend on the rest of the batch
    vis, ir = torch.rand(3, 1, 20, 22) * 2 - 1, torch.rand(3, 1, 20, 22) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(net(vis, ir)[1:2], net(vis[1:2], ir[1:2]), atol=1e-6)


def test_csf_saliency_gradient_is_the_classifier_gradient():
    """The written-out input gradient equals autograd's (ties aside, at random values), and
    its two pieces are the adjoints of max pooling and reflect padding."""
    torch.manual_seed(0)
    net = CSF().eval()
    for layer in net.classifier.layers:
        layer.bn.running_var.uniform_(0.5, 2.0)
        layer.bn.running_mean.uniform_(-0.1, 0.1)
    for shape in ((2, 24, 20, 26), (1, 24, 17, 23)):  # even and odd (ceil-mode) pooling
        feats = torch.randn(shape)
        for cls in (0, 1):
            leaf = feats.clone().requires_grad_(True)
            (expected,) = torch.autograd.grad(net.classifier(leaf)[:, cls].sum(), leaf)
            got = net.classifier.input_gradient(feats, cls)
            assert (got - expected).abs().max() <= 1e-5 * expected.abs().max()
    y, g = torch.randn(1, 2, 5, 7), torch.randn(1, 2, 3, 4)
    leaf = y.clone().requires_grad_(True)
    (pool_grad,) = torch.autograd.grad((torch.nn.functional.max_pool2d(
        leaf, 2, 2, ceil_mode=True) * g).sum(), leaf)
    assert torch.equal(max_pool_input_gradient(y, g), pool_grad)
    # a tie goes to the window's first maximum in raster order (TF's MaxPoolGrad)
    tie = max_pool_input_gradient(torch.ones(1, 1, 2, 2), torch.ones(1, 1, 1, 1))
    assert tie.flatten().tolist() == [1.0, 0.0, 0.0, 0.0]
    x, g = torch.randn(1, 2, 6, 5), torch.randn(1, 2, 10, 9)
    leaf = x.clone().requires_grad_(True)
    (pad_grad,) = torch.autograd.grad((torch.nn.functional.pad(
        leaf, (2, 2, 2, 2), mode='reflect') * g).sum(), leaf)
    assert torch.allclose(reflect_pad_input_gradient(g, 2), pad_grad, atol=1e-6)


# ------------------------------------------------------------------------------- published
@pytest.fixture(scope='module')
def tno_samples(shared_data):
    from mmhaze.utils import register_all_modules
    register_all_modules(init_default_scope=True)  # module scope: before the autouse fixture
    dataset = DATASETS.build(dict(
        type='PairedFusionDataset', data_root=str(shared_data / 'tno_anchor'), layout='tno',
        test_mode=True,
        pipeline=[dict(type='LoadFusionImages', ir_channels=1), dict(type='PackFusionInputs')]))
    assert len(dataset) == 3
    return [dataset[i] for i in range(3)]


def published_samples(method: str, shared_data: Path, tno_samples: list) -> list:
    if method not in PUBLISHED_SOURCES:
        return tno_samples
    root, folders, _ = PUBLISHED_SOURCES[method]
    dataset = DATASETS.build(dict(
        type='PairedFusionDataset', data_root=str(shared_data / root),
        layout=dict(name=f'{method}_published', folders=folders), test_mode=True,
        pipeline=[dict(type='LoadFusionImages', ir_channels=1), dict(type='PackFusionInputs')]))
    return [dataset[i] for i in range(len(dataset))]


def file_reading(path: str, release_read: Optional[str]) -> Optional[str]:
    """The gray reading a release's Pillow call made of this file: its RGB → YCbCr → 'F' path
    is lossless for an 8-bit 'L' file ('pillow_l'); the protocol's default assumes gray
    sources stored as RGB, as in tno_anchor."""
    from PIL import Image
    mode = Image.open(path).mode
    return 'pillow_l' if release_read == 'pillow_ycbcr_f' and mode == 'L' else release_read


def test_pillow_ycbcr_f_reading_is_lossless_only_for_l_files():
    from PIL import Image
    grey = np.arange(256, dtype=np.uint8).reshape(16, 16)
    as_l = np.asarray(Image.fromarray(grey, 'L').convert('YCbCr').convert('F'))
    as_rgb = np.asarray(Image.fromarray(np.stack([grey] * 3, -1), 'RGB').convert('YCbCr')
                        .convert('F'))
    assert np.array_equal(as_l, grey) and int((as_rgb != grey).sum()) == 22


def compare_with_published(fused: torch.Tensor, published: np.ndarray) -> tuple[int, float]:
    """(max grey-level difference, fraction of differing values) of a 3×H×W prediction."""
    pred = torch.round(fused * 255).to(torch.int64).numpy()
    pub = published.astype(np.int64)
    pub = np.repeat(pub[None], 3, 0) if pub.ndim == 2 else pub.transpose(2, 0, 1)
    diff = np.abs(pred - pub)
    return int(diff.max()), float((diff > 0).mean())


@pytest.mark.shared_data('zoo', 'tno_anchor')
@pytest.mark.parametrize('method', PUBLISHED)
def test_release_reproduces_the_published_images(method, shared_data, tno_samples):
    """The release_tno config's model with the converted weights gives the published images:
    at most 1 grey level off on at most 1e-3 of the pixels (measured: < 9e-5)."""
    from PIL import Image
    published = ZOO[method][2]
    ext = PUBLISHED_SOURCES.get(method, (None, None, 'png'))[2]
    model = release_model(method, shared_data)
    release = dict(model.get_network('fuser').protocols['release'])
    report = {}
    for sample in published_samples(method, shared_data, tno_samples):
        meta = sample['data_samples'].metainfo
        model.protocol = build_protocol(dict(release, **{
            f'{k}_read': file_reading(meta[f'{k}_path'], release.get(f'{k}_read'))
            for k in ('vis', 'ir')}))
        with torch.no_grad():
            out = model.test_step(pseudo_collate([sample]))[0]
        stem = out.metainfo['img_id']
        pub = np.array(Image.open(shared_data / published / f'{stem}.{ext}'))
        report[stem] = compare_with_published(out.pred_fused.data, pub)
    print(method, report)
    assert all(m <= 1 and frac <= 1e-3 for m, frac in report.values()), report


@pytest.mark.shared_data('zoo/stdfusionnet')
def test_the_other_stdfusionnet_release_did_not_make_the_published_images(shared_data):
    """Linfeng-Tang's replacement checkpoint, run the same way on pair 05 (280×280), is tens
    of grey levels from the published image (measured: 88 on 05, 86 on 06, 40 on 09)."""
    from PIL import Image
    model = release_model('stdfusionnet', shared_data)
    model.load_state_dict(CONVERTERS['stdfusionnet'].convert(
        str(shared_data / 'zoo/stdfusionnet/stdfusionnet_tf_weights.npz')), strict=True)
    sample = published_samples('stdfusionnet', shared_data, [])[0]
    meta = sample['data_samples'].metainfo
    assert meta['img_id'] == '05'
    release = dict(model.get_network('fuser').protocols['release'])
    model.protocol = build_protocol(dict(release, vis_read=file_reading(
        meta['vis_path'], 'pillow_ycbcr_f'), ir_read=file_reading(meta['ir_path'],
                                                                  'pillow_ycbcr_f')))
    with torch.no_grad():
        out = model.test_step(pseudo_collate([sample]))[0]
    pub = np.array(Image.open(shared_data / 'zoo/stdfusionnet/published/05.bmp'))
    worst, frac = compare_with_published(out.pred_fused.data, pub)
    assert worst == 88 and frac > 0.9


# --------------------------------------------------------------------- official-code outputs
@pytest.mark.shared_data('zoo/csf', 'zoo/cufd', 'tno_anchor')
@pytest.mark.parametrize('method', ['csf', 'cufd'])
def test_release_reproduces_the_official_code_outputs(method, shared_data, tmp_path):
    """The official code (VIF-Benchmark's CSF.py / CUFD.py under TensorFlow 1.15) on crops of
    the tno_anchor pairs: its float output before the byte stretch and its saved 8-bit image.

    CUFD: equal to 1e-5 (measured 6.0e-7; one saved pixel one level apart, an 8-bit rounding
    tie). CSF: equal to 1e-5 on the
    crop where its saliency routing agrees (measured 3.9e-7; one pixel one level apart, an
    8-bit rounding tie); on the other crop two correct float32 evaluations route some
    max-pool windows of the saliency gradient apart (near-ties, see configs/csf/README.md):
    2.1e-3 at most, 28 of 1,920 saved pixels one level apart.
    """
    from PIL import Image
    fixture = np.load(OFFICIAL_FIXTURES / f'{method}_official_tno_crops.npz')
    crops = sorted(k[:-len('_box')] for k in fixture.files if k.endswith('_box'))
    for folder in ('vi', 'ir'):
        (tmp_path / folder).mkdir()
    for name in crops:
        pair, top, left, h, w = (int(v) for v in fixture[f'{name}_box'])
        for folder in ('vi', 'ir'):
            Image.open(shared_data / f'tno_anchor/{folder}/{pair:02d}.png').crop(
                (left, top, left + w, top + h)).save(tmp_path / folder / f'{name}.png')
    model = release_model(method, shared_data)
    dataset = DATASETS.build(dict(
        type='PairedFusionDataset', data_root=str(tmp_path),
        layout=dict(name='crops', folders=dict(vis='vi', ir='ir')), test_mode=True,
        pipeline=[dict(type='LoadFusionImages', ir_channels=1), dict(type='PackFusionInputs')]))
    fuser = model.get_network('fuser')
    lo, hi = fuser.value_range
    report = {}
    for sample in (dataset[i] for i in range(len(dataset))):
        name = sample['data_samples'].metainfo['img_id']
        vis01, ir01 = sample['inputs']['vis'][None], sample['inputs']['ir'][None]  # [0, 1]
        with torch.no_grad():
            vis_in, ir_in, _ = model.protocol.read(vis01, ir01, 'ycbcr')
            out = fuser(vis_in * (hi - lo) + lo, ir_in * (hi - lo) + lo)
            fused = model.test_step(pseudo_collate([sample]))[0].pred_fused.data
        float_diff = float(np.abs(((out[0, 0] - lo) / (hi - lo)).numpy() -
                                  fixture[f'{name}_float']).max())
        saved = compare_with_published(fused, fixture[f'{name}_saved'])
        report[name] = (float_diff, *saved)
    print(method, report)
    for name, (float_diff, worst, frac) in report.items():
        if method == 'csf' and name == 'tno01_296_408':
            assert float_diff <= 2.5e-3 and worst <= 1 and frac <= 0.02, report
        else:
            assert float_diff <= 1e-5 and worst <= 1 and frac <= 1e-3, report
    assert len(report) == len(crops) == 2


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


# ------------------------------------------------------------------------------- export
@pytest.mark.shared_data('zoo')
@pytest.mark.parametrize('method', [
    pytest.param(m, marks=pytest.mark.slow if m in ('csf', 'cufd') else ())  # 60–120 s each
    for m in ('stdfusionnet', 'pmgi', 'csf', 'cufd')])
def test_tf1_fuser_exports_to_onnx_with_the_plain_protocol(method, shared_data, tmp_path,
                                                           capsys):
    """pytorch2onnx with the converted release and ``model.protocol=plain`` (PMGI's per-image
    normalisation and CSF's saliency gradient included); the release protocol is refused: it
    reads the files through Pillow."""
    import re
    ckpt, out = tmp_path / f'{method}.pth', tmp_path / f'{method}.onnx'
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        assert CONVERTERS[method].main([*weight_files(method, shared_data), str(ckpt)]) == 0
    config = str(REPO_ROOT / f'configs/{method}/{method}_release_tno.py')
    export = load_tool('deployment/pytorch2onnx').main
    capsys.readouterr()
    assert export([config, str(ckpt), '--out', str(out), '--shape', '24', '24',
                   '--cfg-options', 'model.protocol=plain']) == 0
    said = capsys.readouterr().out
    diff = float(re.search(r'pred_fused ([0-9.e+-]+) \(tolerance', said)[1])
    assert out.is_file() and diff <= 1e-4, said
    assert export([config, str(ckpt), '--out', str(tmp_path / 'refused.onnx'),
                   '--shape', '24', '24']) != 0
    assert 'reads its sources through pillow_' in capsys.readouterr().err
