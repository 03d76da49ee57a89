"""The model zoo's released fusers (SeAFusion, IFCNN, SDNet, DenseFuse; TarDAL, LRRNet, SAGE,
DIDFuse; and, for what all releases share, the TF1 releases of tests/models/test_zoo_tf1_fusers.py
and GIFNet, CAF, YDTR of tests/models/test_zoo_recent_fusers.py):
architectures and parameter counts, their converters, their release protocols (reproducing the
published images, or for TarDAL, which published none, the official code's outputs on three
crops: tests/fixtures/zoo/), and each as the fuser of a two-stage pipeline.

Reproduction runs the networks on the published pairs (576×768 TNO, 1024×768 for SAGE; the bulk
of this file's time); everything else runs on ≤ 32 px inputs.
"""
from __future__ import annotations

import hashlib
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper
from zoo_helpers import (
    CONVERTERS,
    OFFICIAL_FIXTURES,
    TINY_DEHAZER,
    ZOO,
    compare_pixels,
    compare_with_published,
    n_params,
    pair_sample,
    read_image,
    release_model,
    weight_files,
)
from zoo_helpers import tno_samples as load_tno_samples

from mmhaze.datasets import SyntheticFusionDataset
from mmhaze.models.fusion import (
    IFCNN,
    SAGE,
    DenseFuse,
    DIDFuse,
    LRRNet,
    SDNet,
    SeAFusionNet,
    TarDAL,
    dense_forward,
    l1_norm_fusion,
)
from mmhaze.models.fusion.lrrnet import soft_threshold
from mmhaze.models.protocols import ReleaseProtocol, build_protocol
from mmhaze.models.protocols.reading import (
    opencv_rgb_to_ycrcb,
    opencv_ycrcb_to_rgb,
    read_gray,
    seafusion_rgb_to_ycrcb,
    seafusion_ycrcb_to_rgb,
)
from mmhaze.registry import MODELS

# The released outputs of the other methods, each with its sources: (config, visible, IR,
# published output), paths under the shared data (README: zoo/<method>/).
PUBLISHED = {
    'lrrnet': [('lrrnet_release_tno.py', f'zoo/lrrnet/inputs/vis/VIS{k}.png',
                f'zoo/lrrnet/inputs/ir/IR{k}.png', f'zoo/lrrnet/published/result_lrrnet_IR{k}.png')
               for k in (6, 8, 21)],
    'sage': [('sage_release_tno.py', f'zoo/sage/inputs/Vis/0000{k}.png',
              f'zoo/sage/inputs/Ir/0000{k}.png', f'zoo/sage/published/0000{k}.png')
             for k in range(3)],
    'didfuse': [('didfuse_release_tno.py', f'zoo/didfuse/inputs/Test_data_TNO/VIS{k}.bmp',
                 f'zoo/didfuse/inputs/Test_data_TNO/IR{k}.bmp',
                 f'zoo/didfuse/published/TNO_IJCAI/F{k}.png') for k in (5, 8, 10)] +
               [('didfuse_release_epfl-rgbnir.py',
                 f'zoo/didfuse/inputs/Test_data_NIR_Country/VIS{k}.png',
                 f'zoo/didfuse/inputs/Test_data_NIR_Country/IR{k}.png',
                 f'zoo/didfuse/published/NIR_IJCAI/F{k}.png') for k in (1, 2, 3)],
}
# TarDAL published no images: the official code's outputs on three crops (tests/fixtures/zoo/).
TARDAL_FIXTURE = OFFICIAL_FIXTURES / 'tardal_official_crops.npz'
TARDAL_CROPS = {'tno01': ('tno_anchor/vi/01.png', 'tno_anchor/ir/01.png'),
                'sage00000': ('zoo/sage/inputs/Vis/00000.png', 'zoo/sage/inputs/Ir/00000.png'),
                'sage00002': ('zoo/sage/inputs/Vis/00002.png', 'zoo/sage/inputs/Ir/00002.png')}


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
    did = DIDFuse()
    assert (n_params(did.encoder), n_params(did.decoder)) == (111_938, 148_997)
    with pytest.raises(ValueError, match='fusion_rule'):
        DIDFuse(fusion_rule='max')
    lrr = LRRNet()
    # per encoder: conv_in 2,560, thresholds 256, λ_z 1, four LISTA iterations of 4,865
    assert n_params(lrr.ir_encoder) == 22_277 and lrr.tile_overlap == 11
    assert n_params(LRRNet(fusion_type='add')) == 49_204 - 2 * 9
    with pytest.raises(ValueError, match='fusion_type'):
        LRRNet(fusion_type='max')
    assert TarDAL().tile_overlap == 8 and SAGE.min_input_size == 4
    assert not getattr(SAGE, 'tile_exact', False) and 'max-pool' in SAGE.tile_inexact_reason


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
    # DIDFuse's l1 rule: the activity averaged over a zero-padded 3×3 box first
    act_a, act_b = (torch.nn.functional.avg_pool2d(f.abs().sum(1, keepdim=True), 3, 1, 1)
                    for f in (fa, fb))
    w = act_a / (act_a + act_b)
    assert torch.allclose(l1_norm_fusion(fa, fb, window=1), w * fa + (1 - w) * fb)
    net = DIDFuse(fusion_rule='l1_norm').eval()
    with torch.no_grad():
        assert torch.allclose(net(a, b), net(b, a), atol=1e-6)


def test_lrrnet_soft_threshold_and_its_two_sources():
    x = torch.tensor([-3.0, -0.5, 0.2, 2.0]).view(1, 4, 1, 1)
    theta = torch.tensor([[1.0, 1.0, 0.1, 0.5]])
    assert soft_threshold(x, theta).flatten().tolist() == pytest.approx([-2.0, 0.0, 0.1, 1.5])
    net = LRRNet().eval()
    with torch.no_grad():
        net.fuse_low.weight.zero_()
        net.fuse_low.weight[0, 1, 1, 1] = 1.0  # the second channel: the visible low-rank image
        net.fuse_low.bias.zero_()
        net.fuse_sparse.weight.zero_()
        net.fuse_sparse.bias.zero_()
        vis, ir = torch.rand(1, 1, 8, 8), torch.rand(1, 1, 8, 8)
        assert torch.allclose(net(vis, ir), net.vis_low(net.vis_encoder(vis)[0]), atol=1e-6)


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


def test_opencv_ycrcb_is_the_librarys_own():
    import cv2
    torch.manual_seed(2)
    rgb = torch.randint(0, 256, (2, 3, 5, 7)).float() / 255
    y, crcb = opencv_rgb_to_ycrcb(rgb)
    arr = (rgb[1] * 255).round().byte().permute(1, 2, 0).numpy()
    ycrcb = cv2.cvtColor(np.ascontiguousarray(arr), cv2.COLOR_RGB2YCrCb)
    assert np.array_equal((torch.cat([y, crcb], 1)[1] * 255).round().byte().permute(1, 2, 0)
                          .numpy(), ycrcb)
    # gray stays gray (Cr = Cb = 128), and 8-bit values come back within a level
    grey = torch.arange(256.0).view(1, 1, 16, 16).expand(1, 3, 16, 16) / 255
    gy, gc = opencv_rgb_to_ycrcb(grey)
    assert torch.equal(gy, grey[:, :1]) and torch.all(gc * 255 == 128)
    assert torch.equal(opencv_ycrcb_to_rgb(gy, gc), grey)
    assert (opencv_ycrcb_to_rgb(y, crcb) - rgb).abs().max() * 255 <= 3  # 8-bit round trip
    # a fused Y off the 8-bit grid is rounded to it first
    assert torch.equal(opencv_ycrcb_to_rgb(gy + 0.2 / 255, gc), grey)


def test_new_release_switches():
    # LRRNet: each source (x − min)/(max − min + 1e-5) on its 0–255 values; the output's
    # span + 1e-5, so its maximum truncates to 254
    proto = ReleaseProtocol(source_norm='minmax', source_norm_eps=1e-5, stretch='minmax',
                            stretch_form='normalize', stretch_eps=1e-5, rounding='truncate',
                            precision='float32')
    assert proto.whole_image
    src = torch.tensor([20.0, 40.0, 220.0]).view(1, 1, 1, 3) / 255
    vis, _ = proto.prepare(src, src)
    assert vis.flatten().tolist() == pytest.approx([0.0, 0.1, 1 / (1 + 5e-8)], abs=1e-7)
    v = np.array([0.2, 0.5, 0.9], dtype=np.float32)
    out = proto.finish(torch.from_numpy(v).view(1, 1, 1, 3))
    span = np.float32(np.float64(v.max() - v.min()) + 1e-5)
    expected = np.floor((v - v.min()) / span * np.float32(255))
    assert np.array_equal((out * 255).round().flatten().numpy(), expected)
    assert expected.tolist() == [0.0, 109.0, 254.0]
    # DIDFuse: skimage's rint (half to even); SAGE/TarDAL: OpenCV's YCrCb
    even = ReleaseProtocol(stretch=None, rounding='half_even', precision='float32')
    halves = torch.tensor([0.5, 1.5, 2.5, 254.5]).view(1, 1, 1, 4) / 255
    assert (even.finish(halves) * 255).round().flatten().tolist() == [0.0, 2.0, 2.0, 254.0]
    sage = build_protocol('release', SAGE())
    assert (sage.luma, sage.merge, sage.library_steps) == ('opencv', 'seafusion',
                                                           ['opencv_gray', 'opencv_ycrcb'])
    rgb = torch.rand(1, 3, 4, 4)
    v_y, _, crcb = sage.read(rgb, torch.rand(1, 1, 4, 4), 'ycbcr')
    y_cv, crcb_cv = opencv_rgb_to_ycrcb(rgb)
    assert torch.equal(v_y, y_cv) and torch.equal(crcb, crcb_cv)
    assert torch.equal(sage.merge_luma(v_y, crcb), seafusion_ycrcb_to_rgb(v_y, crcb))
    tardal = build_protocol('release', TarDAL())
    assert tardal.merge == 'opencv' and not tardal.whole_image
    with pytest.raises(ValueError, match='merge'):
        ReleaseProtocol(merge='lab')
    with pytest.raises(ValueError, match='source_norm'):
        ReleaseProtocol(source_norm='zscore')


# ------------------------------------------------------------------------------- converters
@pytest.mark.shared_data('zoo')
@pytest.mark.parametrize('method', sorted(ZOO))
def test_converters_map_every_parameter(method, shared_data, tmp_path, capsys):
    net_type, _, _, params = ZOO[method]
    srcs, dst = [str(shared_data / w) for w in weight_files(method)], tmp_path / f'{method}.pth'
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter('always')
        assert CONVERTERS[method].main([*srcs, str(dst)]) == 0
    # SeAFusion: batch norms never applied; SDNet: decomposition path; DenseFuse: Adam slots;
    # PMGI: its batch-norm tensors; CSF, CUFD: Adam/RMSProp slots, step counters, copies
    dropped = [str(w.message) for w in record if 'dropped' in str(w.message)]
    assert bool(dropped) == (method in ('seafusion', 'sdnet', 'densefuse', 'pmgi', 'csf',
                                        'cufd')), dropped
    state = torch.load(dst, weights_only=True)['state_dict']
    # the printed count is every value written: batch-norm statistics too, where there are any
    has_statistics = any(k.endswith('running_mean') for k in state)
    assert (f'{params:,} parameters' in capsys.readouterr().out) != has_statistics
    model = MODELS.build(dict(type='TwoStageDehazeFuse', fuser=dict(type=net_type)))
    model.load_state_dict(state, strict=True)
    assert n_params(model.fuser) == params
    assert all(v.dtype == torch.int64 for k, v in state.items()
               if k.endswith('num_batches_tracked'))
    assert CONVERTERS[method].main([*srcs, str(dst)]) == 2  # exists, no --force


@pytest.mark.shared_data('zoo')
@pytest.mark.parametrize('method', sorted(ZOO))
def test_converters_never_overwrite_their_input(method, shared_data, tmp_path, capsys):
    """DST naming an input — the file itself or a link to it — is refused, even with --force."""
    copies = []
    for w in weight_files(method):
        copies.append(tmp_path / Path(w).name)
        shutil.copy(shared_data / w, copies[-1])
    digest = hashlib.sha256(copies[-1].read_bytes()).hexdigest()
    link = tmp_path / 'link.pth'
    link.symlink_to(copies[-1])
    for dst in (copies[-1], link):
        assert CONVERTERS[method].main([*map(str, copies), str(dst), '--force']) == 2
        assert 'is an input of the conversion' in capsys.readouterr().err
    assert hashlib.sha256(copies[-1].read_bytes()).hexdigest() == digest


WRONG_RELEASE = {'tardal': 'sage', 'lrrnet': 'tardal', 'sage': 'lrrnet', 'didfuse': 'sage'}


@pytest.mark.shared_data('zoo/tardal', 'zoo/lrrnet', 'zoo/sage', 'zoo/didfuse')
@pytest.mark.parametrize('method', sorted(WRONG_RELEASE))
def test_a_wrong_or_incomplete_release_is_an_error(method, shared_data, tmp_path, capsys):
    from mmhaze.utils.weight_conversion import ConversionError, read_torch_state_dict
    wrong = [str(shared_data / weight_files(WRONG_RELEASE[method])[0])] * len(
        weight_files(method))
    assert CONVERTERS[method].main([*wrong, str(tmp_path / 'out.pth')]) == 1
    err = capsys.readouterr().err
    assert 'no counterpart for checkpoint tensor' in err and 'has no checkpoint tensor' in err
    assert not (tmp_path / 'out.pth').exists()
    official = [read_torch_state_dict(str(shared_data / w)) for w in weight_files(method)]
    dropped = sorted(official[-1])[0]
    del official[-1][dropped]
    convert = (CONVERTERS[method].convert_state_dicts if method == 'didfuse'
               else CONVERTERS[method].convert_state_dict)
    with pytest.raises(ConversionError, match="mmhaze key 'fuser[.][^']+' has no checkpoint"):
        convert(*official)
    if method == 'didfuse':  # the decoder given as the encoder and vice versa
        swapped = [str(shared_data / w) for w in reversed(weight_files(method))]
        assert CONVERTERS[method].main([*swapped, str(tmp_path / 'out.pth')]) == 1


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
    from mmhaze.utils import register_all_modules
    register_all_modules(init_default_scope=True)  # module scope: before the autouse fixture
    return load_tno_samples(shared_data)


@pytest.mark.shared_data('zoo', 'tno_anchor')
@pytest.mark.parametrize('method', sorted(m for m in ZOO if ZOO[m][2]))
def test_release_reproduces_the_published_tno_images(method, shared_data, tno_samples):
    """The release_tno config's model with the converted weights gives the published images:
    at most 1 grey level off on at most 1e-3 of the pixels (measured: < 9e-5)."""
    from PIL import Image
    published = ZOO[method][2]
    model = release_model(f'{method}_release_tno.py', method, shared_data)
    report = {}
    for sample in tno_samples:
        with torch.no_grad():
            out = model.test_step(pseudo_collate([sample]))[0]
        stem = out.metainfo['img_id']
        pub = np.array(Image.open(shared_data / published / f'{stem}.png'))
        report[stem] = compare_with_published(out.pred_fused.data, pub)
    print(method, report)
    assert all(m <= 1 and frac <= 1e-3 for m, frac in report.values()), report


# LRRNet on a whole 576×768 TNO pair (256 code channels, four LISTA iterations per source) takes
# ~2.5 min on a loaded 2-core machine: those two run in slow runs, its 280×280 pair always.
SLOW_CASES = {('lrrnet', 0), ('lrrnet', 2)}


@pytest.mark.shared_data('zoo/lrrnet', 'zoo/sage', 'zoo/didfuse')
@pytest.mark.parametrize('method,case', [
    pytest.param(m, i, marks=pytest.mark.slow if (m, i) in SLOW_CASES else ())
    for m in sorted(PUBLISHED) for i in range(len(PUBLISHED[m]))])
def test_release_reproduces_the_published_outputs(method, case, shared_data, tmp_path):
    """The release config's model with the converted weights gives the release's published
    outputs from their sources: at most 1 grey level off on at most 1e-3 of the pixels
    (measured: ≤ 1.2e-4; docs/model_zoo.md lists each image)."""
    config, vis, ir, published = PUBLISHED[method][case]
    model = release_model(config, method, shared_data)
    sample = pair_sample(tmp_path, read_image(shared_data / vis), read_image(shared_data / ir))
    with torch.no_grad():
        out = model.test_step(pseudo_collate([sample]))[0]
    worst, frac = compare_pixels(out.pred_fused.data, read_image(shared_data / published))
    print(f'{method} {Path(published).name}: max {worst}, fraction {frac:.2e}')
    assert worst <= 1 and frac <= 1e-3, (worst, frac)


@pytest.mark.shared_data('zoo/tardal/tardal++.pt', 'tno_anchor', 'zoo/sage/inputs')
def test_tardal_release_equals_the_official_code_on_crops(shared_data, tmp_path):
    """TarDAL published no images: the official code (VIF-Benchmark's TarDAL/, float32 on CPU;
    the benchmark itself runs float16 on CUDA) was run on three crops and its outputs stored in
    tests/fixtures/zoo/. mmhaze's network output equals its clipped output to 1e-5 and the
    release protocol's pred_fused equals its saved colour image to 1 grey level."""
    reference = np.load(TARDAL_FIXTURE, allow_pickle=False)
    assert 'tardal++.pt' in str(reference['provenance'])
    model = release_model('tardal_release_tno.py', 'tardal', shared_data)
    for name, (vis_path, ir_path) in TARDAL_CROPS.items():
        top, left, h, w = reference[f'{name}/box'].tolist()
        crop = (slice(top, top + h), slice(left, left + w))
        ir = read_image(shared_data / ir_path)[crop]
        sample = pair_sample(tmp_path / name, read_image(shared_data / vis_path)[crop],
                             ir[..., 0] if ir.ndim == 3 else ir)
        batch = pseudo_collate([sample])
        with torch.no_grad():
            out = model.test_step(batch)[0]
            vis_in, ir_in, _ = model.protocol.read(batch['inputs']['vis'][0][None],
                                                   batch['inputs']['ir'][0][None])
            fused = model.fuser(vis_in, ir_in).clamp(0, 1)[0, 0].numpy()
        float_diff = np.abs(fused - reference[f'{name}/fused_float']).max()
        worst, frac = compare_pixels(out.pred_fused.data, reference[f'{name}/fused_rgb'])
        print(f'tardal {name}: float max {float_diff:.1e}; saved max {worst}, fraction {frac}')
        assert float_diff <= 1e-5 and worst <= 1, (name, float_diff, worst)


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
