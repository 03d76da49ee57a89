"""The TF1 releases of the model zoo (STDFusionNet, PMGI, CSF, CUFD) beyond what every release
is tested for in tests/models/test_zoo_fusers.py: which STDFusionNet checkpoint made the published
images and Pillow's file-mode-dependent reading, the converters' refusals, PMGI's per-image
normalisation, CSF's written-out saliency gradient, CSF's and CUFD's official-code outputs
(tests/fixtures/zoo/, made by running their official code under TensorFlow 1.15), and the ONNX
export of each with the plain protocol.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Optional

import numpy as np
import pytest
import torch
from helpers import REPO_ROOT, load_tool
from mmengine.dataset import pseudo_collate
from zoo_helpers import (
    CONVERTERS,
    OFFICIAL_FIXTURES,
    ZOO,
    compare_with_published,
    convert_release,
    weight_files,
)
from zoo_helpers import release_model as config_release_model

from mmhaze.models.fusion import CSF, PMGI
from mmhaze.models.fusion.csf import max_pool_input_gradient, reflect_pad_input_gradient
from mmhaze.models.protocols import build_protocol
from mmhaze.registry import DATASETS

#: STDFusionNet's published images have sources of their own: (data root, layout folders,
#: published folder, extension of the published files).
STDFUSIONNET_PUBLISHED = ('zoo/stdfusionnet', dict(vis='inputs/Test_vi', ir='inputs/Test_ir'),
                          'zoo/stdfusionnet/published', 'bmp')


def files(method: str, shared_data: Path) -> list[str]:
    return [str(shared_data / w) for w in weight_files(method)]


def release_model(method: str, shared_data: Path, **overrides) -> torch.nn.Module:
    return config_release_model(f'{method}_release_tno.py', method, shared_data, **overrides)


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
    ed, ec = files('csf', shared_data)
    assert CONVERTERS['csf'].main([ec, ed, str(tmp_path / 'swapped.pth')]) == 1
    err = capsys.readouterr().err
    # Swapped files: EC's classifier tensors have no place, ED's decoder is missing (the
    # message shows three of each kind and counts them).
    assert f'{ec}: cannot convert' in err
    assert "no counterpart for checkpoint tensor 'Classification/classification/" in err
    assert "mmhaze key 'fuser.decoder.convs.0.weight' has no checkpoint tensor" in err
    # a released file with one tensor missing: the parameter left without it is named
    part1, part2 = files('cufd', shared_data)
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
    state = convert_release('pmgi', shared_data)
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


def stdfusionnet_samples(shared_data: Path) -> list:
    """STDFusionNet's published pairs (its own inputs, not the tno_anchor ones)."""
    root, folders, _, _ = STDFUSIONNET_PUBLISHED
    dataset = DATASETS.build(dict(
        type='PairedFusionDataset', data_root=str(shared_data / root),
        layout=dict(name='stdfusionnet_published', folders=folders), test_mode=True,
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


@pytest.mark.shared_data('zoo/stdfusionnet')
def test_stdfusionnet_reproduces_its_published_images(shared_data):
    """The jiayi-ma checkpoint under the release protocol, each source read as the release's
    Pillow call read that file: at most 1 grey level off on at most 1e-3 of the pixels
    (measured: ≤ 1.8e-5)."""
    from PIL import Image
    _, _, published, ext = STDFUSIONNET_PUBLISHED
    model = release_model('stdfusionnet', shared_data)
    release = dict(model.get_network('fuser').protocols['release'])
    report = {}
    for sample in stdfusionnet_samples(shared_data):
        meta = sample['data_samples'].metainfo
        model.protocol = build_protocol(dict(release, **{
            f'{k}_read': file_reading(meta[f'{k}_path'], release.get(f'{k}_read'))
            for k in ('vis', 'ir')}))
        with torch.no_grad():
            out = model.test_step(pseudo_collate([sample]))[0]
        stem = out.metainfo['img_id']
        pub = np.array(Image.open(shared_data / published / f'{stem}.{ext}'))
        report[stem] = compare_with_published(out.pred_fused.data, pub)
    print('stdfusionnet', report)
    assert len(report) == 3 and all(m <= 1 and frac <= 1e-3 for m, frac in report.values())


@pytest.mark.shared_data('zoo/stdfusionnet')
def test_the_other_stdfusionnet_release_did_not_make_the_published_images(shared_data):
    """Linfeng-Tang's replacement checkpoint, run the same way on pair 05 (280×280), is tens
    of grey levels from the published image (measured: 88 on 05, 86 on 06, 40 on 09)."""
    from PIL import Image
    model = release_model('stdfusionnet', shared_data)
    model.load_state_dict(CONVERTERS['stdfusionnet'].convert(
        str(shared_data / 'zoo/stdfusionnet/stdfusionnet_tf_weights.npz')), strict=True)
    sample = stdfusionnet_samples(shared_data)[0]
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
        assert CONVERTERS[method].main([*files(method, shared_data), str(ckpt)]) == 0
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
