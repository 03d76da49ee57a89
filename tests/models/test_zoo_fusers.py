"""The model zoo's released fusers (SeAFusion, IFCNN, SDNet, DenseFuse; GIFNet, CAF, YDTR):
architectures and parameter counts, their converters, their release protocols (reproducing the
published images: TNO, or the releases' own inputs), and each as the fuser of a two-stage
pipeline.

Reproduction runs the networks on the three 576×768 TNO pairs, CAF's three 1024×768 and YDTR's
576×768 pair (the bulk of this file's time); GIFNet's published pair is slow (1280×1024, ~11 GB),
its default check is against the official code's outputs on crops. Everything else runs on
≤ 64 px inputs.
"""
from __future__ import annotations

import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import REPO_ROOT, load_tool
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.optim import build_optim_wrapper

from mmhaze.datasets import SyntheticFusionDataset
from mmhaze.models.fusion import (
    CAF,
    IFCNN,
    YDTR,
    DenseFuse,
    GIFNet,
    SDNet,
    SeAFusionNet,
    dense_forward,
    l1_norm_fusion,
)
from mmhaze.models.protocols import ReleaseProtocol, build_protocol
from mmhaze.models.protocols.reading import (
    numpy_uint8_cast,
    opencv_ycrcb_chroma,
    opencv_ycrcb_to_rgb,
    read_gray,
    seafusion_rgb_to_ycrcb,
    seafusion_ycrcb_to_rgb,
)
from mmhaze.registry import DATASETS, MODELS

# method → (network, released weights, published TNO images or None, parameters)
ZOO = {
    'seafusion': ('SeAFusionNet', 'zoo/seafusion/SeAFusion.pth', 'tno_anchor/fused', 166_657),
    'ifcnn': ('IFCNN', 'zoo/ifcnn/IFCNN-MAX.pth', 'tno_anchor/ifcnn_published', 83_587),
    'sdnet': ('SDNet', 'zoo/sdnet/sdnet_tf_weights.npz', 'tno_anchor/sdnet_published', 28_705),
    'densefuse': ('DenseFuse', 'zoo/densefuse/densefuse_tf_weights.npz',
                  'tno_anchor/densefuse_published', 74_193),
    'gifnet': ('GIFNet', 'zoo/gifnet/Final.model', None, 822_780),
    'caf': ('CAF', 'zoo/caf/Det_final.pth', None, 148_321),
    'ydtr': ('YDTR', 'zoo/ydtr/model_10.pth', None, 217_770),
}
# Converters that drop released tensors with a notice (unused batch norms, SDNet's decomposition
# path, Adam slots); and releases with batch-norm statistics (counted in the converters' total).
DROPS_TENSORS = {'seafusion', 'sdnet', 'densefuse'}
HAS_BN_STATS = {'ifcnn', 'caf', 'ydtr'}
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
    assert bool(dropped) == (method in DROPS_TENSORS), dropped
    assert f'{params:,} parameters' in capsys.readouterr().out or method in HAS_BN_STATS
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
def release_model(method: str, shared_data: Path, config: str = 'release_tno'
                  ) -> tuple[torch.nn.Module, Compose]:
    """The model of ``configs/<method>/<method>_<config>.py`` with the converted release weights
    (eval mode), and the config's test pipeline."""
    cfg = Config.fromfile(REPO_ROOT / f'configs/{method}/{method}_{config}.py')
    model_cfg = cfg.model.to_dict()
    model_cfg['fuser'].pop('init_cfg')
    model = MODELS.build(model_cfg)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # the converters' notices (tested above)
        state = CONVERTERS[method].convert(str(shared_data / ZOO[method][1]))
    model.load_state_dict(state, strict=True)
    return model.eval(), Compose(cfg.test_dataloader.dataset.pipeline)


@pytest.fixture(scope='module')
def tno_samples(shared_data):
    dataset = DATASETS.build(dict(
        type='PairedFusionDataset', data_root=str(shared_data / 'tno_anchor'), layout='tno',
        test_mode=True,
        pipeline=[dict(type='LoadFusionImages', ir_channels=1), dict(type='PackFusionInputs')]))
    assert len(dataset) == 3
    return [dataset[i] for i in range(3)]


def compare_with_published(fused: torch.Tensor, published: np.ndarray) -> tuple[int, float]:
    """(max grey-level difference, fraction of differing pixels — a pixel differs when one of
    its channels does) of a 3×H×W prediction against an 8-bit image."""
    pred = torch.round(fused * 255).to(torch.int64).numpy()
    pub = published.astype(np.int64)
    pub = np.repeat(pub[None], 3, 0) if pub.ndim == 2 else pub.transpose(2, 0, 1)
    diff = np.abs(pred - pub).max(0)
    return int(diff.max()), float((diff > 0).mean())


@pytest.mark.shared_data('zoo', 'tno_anchor')
@pytest.mark.parametrize('method', sorted(m for m in ZOO if ZOO[m][2]))
def test_release_reproduces_the_published_tno_images(method, shared_data, tno_samples):
    """The release_tno config's model with the converted weights gives the published images:
    at most 1 grey level off on at most 1e-3 of the pixels (measured: < 7e-5)."""
    from PIL import Image
    published = ZOO[method][2]
    model, _ = release_model(method, shared_data)
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


# ------------------------------------------------------- GIFNet, CAF, YDTR: their own published
def load_pair(pipeline: Compose, vis: Path, ir: Path,
              crop: tuple[int, int, int, int] | None = None) -> dict:
    """A packed sample of one pair read by a config's test pipeline (load, pack), its arrays
    cropped to ``(y, x, h, w)`` after loading."""
    load, pack = pipeline.transforms
    results = load(dict(vis_path=str(vis), ir_path=str(ir), img_id=Path(vis).stem))
    if crop is not None:
        y, x, h, w = crop
        for key in ('vis', 'ir'):
            results[key] = np.ascontiguousarray(results[key][y:y + h, x:x + w])
        results['img_shape'] = results['ori_shape'] = (h, w)
    return pack(results)


def predict(model: torch.nn.Module, sample: dict) -> torch.Tensor:
    with torch.no_grad():
        return model.test_step(pseudo_collate([sample]))[0].pred_fused.data


# method → [(visible, IR, published)] under zoo/<method>/: the lossless published outputs
RELEASE_PUBLISHED = {
    'caf': [(f'inputs/vi/{n}', f'inputs/ir/{n}', f'published/{n}')
            for n in ('00512.png', '01670.png', '03878.png')],
    'ydtr': [('inputs/VIS_002.bmp', 'inputs/IR_002.bmp', 'published/002.bmp')],
}
#: Fraction of differing pixels allowed per method. YDTR's published image was made on a GPU
#: with TF32 matrix products (PyTorch ≤ 1.11's default): the official code on the CPU gives
#: 1,576 of its 442,368 pixels one level apart, all within 0.04 of a rounding step (see
#: test_ydtr_published_image_was_made_with_tf32_products); CAF: ≤ 3.4e-5 measured.
PUBLISHED_FRACTION = {'caf': 1e-3, 'ydtr': 4e-3}


@pytest.mark.shared_data('zoo/caf', 'zoo/ydtr')
@pytest.mark.parametrize('method', sorted(RELEASE_PUBLISHED))
def test_release_reproduces_its_published_outputs(method, shared_data):
    """The release_tno config's model with the converted weights on the release's own inputs
    gives its published (lossless) outputs within 1 grey level; measured: CAF 17 / 16 / 27 of
    786,432 pixels, YDTR 1,576 of 442,368 (TF32, see above)."""
    from PIL import Image
    model, pipeline = release_model(method, shared_data)
    root = shared_data / 'zoo' / method
    report = {}
    for vis, ir, published in RELEASE_PUBLISHED[method]:
        fused = predict(model, load_pair(pipeline, root / vis, root / ir))
        report[published] = compare_with_published(fused, np.array(Image.open(root / published)))
    print(method, report)
    assert all(m <= 1 and frac <= PUBLISHED_FRACTION[method] for m, frac in report.values()), \
        report


def tf32(x: torch.Tensor) -> torch.Tensor:
    """float32 rounded to TF32 (10-bit mantissa, round to nearest even), as tensor cores read
    matrix operands."""
    bits = x.contiguous().view(torch.int32)
    bits = (bits + 0x0FFF + ((bits >> 13) & 1)) & ~0x1FFF
    return bits.view(torch.float32)


class TF32MatrixProducts(torch.overrides.TorchFunctionMode):
    """Every ``linear``/``matmul`` on TF32-rounded operands (float32 accumulation): PyTorch's
    ``allow_tf32`` for CUDA matrix products, on the CPU."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in (torch.nn.functional.linear, torch.matmul, torch.Tensor.__matmul__):
            args = tuple(tf32(a) if isinstance(a, torch.Tensor) and a.dtype == torch.float32
                         else a for a in args)
        return func(*args, **kwargs)


@pytest.mark.shared_data('zoo/ydtr')
def test_ydtr_published_image_was_made_with_tf32_products(shared_data):
    """Why 3.6e-3 of YDTR's published pixels are one level off: with its matrix products'
    operands rounded to TF32 (the linear layers and the attention products, as an Ampere GPU
    computed them under PyTorch 1.7–1.11's default) mmhaze gives the published image on
    ≤ 1e-3 of the pixels (measured: 173 of 442,368 differ, against 1,576 in float32; TF32
    convolutions as well make it worse, 6.6 %)."""
    from PIL import Image
    model, pipeline = release_model('ydtr', shared_data)
    root = shared_data / 'zoo/ydtr'
    vis, ir, published = RELEASE_PUBLISHED['ydtr'][0]
    with TF32MatrixProducts():
        fused = predict(model, load_pair(pipeline, root / vis, root / ir))
    most, frac = compare_with_published(fused, np.array(Image.open(root / published)))
    print('ydtr with TF32 matrix products', most, frac)
    assert most <= 1 and frac <= 1e-3


# Outputs of the official code (test.py / Test.py forward, CPU, float32) on crops of the
# releases' inputs, read as each release reads them (GIFNet: cv2 IMREAD_GRAYSCALE; YDTR: Pillow
# 'L'), stored as float32 outputs and the uint8 images the releases' scripts save.
OFFICIAL_CROPS = {
    'gifnet': ('gifnet_official_crops.npz', {'IVIF': 'IVIF', 'MEIF': 'MEIF'}),
    'ydtr': ('ydtr_official_crops.npz', {'002': '002'}),
}
FIXTURES = REPO_ROOT / 'tests/fixtures/zoo'


def _pair_paths(method: str, root: Path, pair: str) -> tuple[Path, Path]:
    if method == 'gifnet':
        return root / f'inputs/{pair}/vis/1.jpg', root / f'inputs/{pair}/ir/1.jpg'
    return root / f'inputs/VIS_{pair}.bmp', root / f'inputs/IR_{pair}.bmp'


@pytest.mark.shared_data('zoo/gifnet', 'zoo/ydtr')
@pytest.mark.parametrize('method', sorted(OFFICIAL_CROPS))
def test_release_equals_the_official_code_on_crops(method, shared_data):
    """The network's float output within 1e-5 of the official code's, and pred_fused (release
    protocol) equal to the image its script saves (measured: max |Δ| 0, no pixel differs)."""
    model, pipeline = release_model(method, shared_data)
    ref = np.load(FIXTURES / OFFICIAL_CROPS[method][0], allow_pickle=False)
    root = shared_data / 'zoo' / method
    n = sum(k.startswith('crop_') for k in ref.files)
    assert n >= 2
    for i in range(n):
        crop = tuple(int(v) for v in ref[f'crop_{i}'])
        sample = load_pair(pipeline, *_pair_paths(method, root, str(ref[f'pair_{i}'])), crop)
        vis, ir, _ = model.protocol.read(sample['inputs']['vis'][None].float() / 255,
                                         sample['inputs']['ir'][None].float() / 255)
        with torch.no_grad():
            out = model.fuser(vis, ir)[0, 0].numpy()
        assert out.shape == ref[f'output_{i}'].shape
        np.testing.assert_allclose(out, ref[f'output_{i}'], rtol=0, atol=1e-5)
        most, frac = compare_with_published(predict(model, sample), ref[f'saved_{i}'])
        assert most <= 1 and frac <= 1e-3, (i, most, frac)


@pytest.mark.slow
@pytest.mark.shared_data('zoo/gifnet')
def test_gifnet_release_is_close_to_its_published_jpegs(shared_data):
    """GIFNet's two published outputs are JPEGs (cv2.imwrite, quality 95): compared as decoded,
    and after encoding mmhaze's image the same way. Measured: seen 1280×1024 mean |Δ| 0.41, max
    22 (re-encoded 0.12, max 24); unseen 968×648 mean 1.31, max 25 (re-encoded 0.74, max 25) —
    the official code on the CPU gives the same uint8 images as mmhaze. ~11 GB, ~9 min."""
    import cv2
    model, pipeline = release_model('gifnet', shared_data)
    root = shared_data / 'zoo/gifnet'
    for pair, name, mean_max in (('IVIF', 'seen_fused.jpg', (0.2, 0.5)),
                                 ('MEIF', 'unseen_fused.jpg', (0.8, 1.4))):
        fused = predict(model, load_pair(pipeline, *_pair_paths('gifnet', root, pair)))
        image = torch.round(fused[0] * 255).to(torch.uint8).numpy()
        published = cv2.imread(str(root / 'published' / name), cv2.IMREAD_UNCHANGED)
        encoded = cv2.imdecode(cv2.imencode('.jpg', image, [cv2.IMWRITE_JPEG_QUALITY, 95])[1],
                               cv2.IMREAD_UNCHANGED)
        direct = np.abs(image.astype(int) - published)
        again = np.abs(encoded.astype(int) - published)
        print(name, direct.mean(), direct.max(), again.mean(), again.max())
        assert again.mean() < mean_max[0] and direct.mean() < mean_max[1]
        assert max(direct.max(), again.max()) <= 30


# ------------------------------------------------------- GIFNet, CAF, YDTR: networks, protocols
def test_second_batch_networks_as_released():
    gif = GIFNet()
    frozen = sum(p.numel() for p in gif.parameters() if not p.requires_grad)
    # reconstruction decoder 54,897 + IVIF mixing weights 2 + the last block's IVIF stream
    assert frozen == sum(p.numel() for p in gif.unread_parameters()) == 54_897 + 2 + 106_002
    assert gif.transformer.ivif_depth == 1
    ydtr = YDTR()
    assert sum(p.numel() for p in ydtr.unread_parameters()) == 111_168
    assert all(not b.attn.fused_attn for b in ydtr.transformer.blocks)
    assert CAF.tile_exact and not GIFNet.tile_exact and not YDTR.tile_exact
    # a gradient reaches every trainable parameter, none the frozen ones
    torch.manual_seed(0)
    for net in (gif, CAF(), ydtr):
        net(torch.rand(1, 1, 12, 10), torch.rand(1, 1, 12, 10)).sum().backward()
        for name, p in net.named_parameters():
            assert (p.grad is not None) == p.requires_grad, name
        assert min(net(torch.rand(1, 1, 2, 2), torch.rand(1, 1, 2, 2)).shape[-2:]) == 2


def test_ydtr_tokens_are_runs_of_the_channel_major_map():
    """The release's ``x.view(B, H, W, C)`` of a B×C×H×W map: a token is C consecutive values
    in memory order, here 4 along a row of one channel, wrapping into the next row."""
    net = YDTR(channels=4, num_heads=1, mlp_ratio=1.0)
    block = net.transformer.blocks[0]
    seen = []
    block.norm1.register_forward_hook(lambda m, i, o: seen.append(i[0].detach().clone()))
    x = torch.arange(2 * 4 * 3 * 6.0).view(2, 4, 3, 6)
    net.transformer(x)
    assert torch.equal(seen[0].reshape(-1), x.reshape(-1))
    assert seen[0].shape == (2, 18, 4) and seen[0][0, 1].tolist() == [4.0, 5.0, 6.0, 7.0]


def test_uint8_cast_is_numpys():
    values = np.array([-300.2, -256.0, -255.5, -3.7, -1.5, -1.0, -0.9, -0.5, 0.0, 0.5, 127.99,
                       254.9, 255.5, 256.0, 256.7, 300.3, 511.9, 1e6], np.float32)
    with np.errstate(invalid='ignore'):
        expected = values.astype(np.uint8)  # NumPy's own cast, out-of-range values included
    assert np.array_equal(numpy_uint8_cast(torch.from_numpy(values)).numpy(), expected)
    assert numpy_uint8_cast(torch.tensor([float('nan'), -float('inf')])).tolist() == [0, 0]
    # no clipping before the cast: −1.02 wraps to 255, −0.51 truncates to 0
    proto = ReleaseProtocol(stretch=None, rounding='uint8_cast', precision='float32')
    out = proto.finish(torch.tensor([-0.004, -0.002, 0.5, 1.0]).view(1, 1, 1, 4))
    assert (out * 255).round().flatten().tolist() == [255, 0, 127, 255]


def test_opencv_ycrcb_colour_is_cafs():
    """CAF's Get_color: the fused Y written into OpenCV's uint8 YCrCb of the visible image,
    converted back by OpenCV."""
    import cv2
    torch.manual_seed(2)
    rgb = torch.randint(0, 256, (1, 3, 7, 9)).float() / 255
    y = torch.randint(0, 256, (1, 1, 7, 9)).float() / 255
    bgr = np.ascontiguousarray((rgb[0] * 255).round().byte().permute(1, 2, 0).numpy()[..., ::-1])
    ycrcb = cv2.cvtColor(bgr, cv2.COLOR_BGR2YCrCb)
    ycrcb[..., 0] = (y[0, 0] * 255).round().byte().numpy()
    expected = cv2.cvtColor(ycrcb, cv2.COLOR_YCrCb2BGR)[..., ::-1]
    got = opencv_ycrcb_to_rgb(y, opencv_ycrcb_chroma(rgb))
    assert np.array_equal((got[0] * 255).round().byte().permute(1, 2, 0).numpy(), expected)
    proto = build_protocol('release', CAF())
    v_y, _, chroma = proto.read(rgb, rgb[:, :1], 'ycbcr')
    assert torch.allclose(v_y, 0.299 * rgb[:, :1] + 0.587 * rgb[:, 1:2] + 0.114 * rgb[:, 2:])
    assert torch.equal(chroma, opencv_ycrcb_chroma(rgb))
    with pytest.raises(ValueError, match='chroma'):
        ReleaseProtocol(chroma='pillow')


# ------------------------------------------------------- GIFNet, CAF, YDTR: converters
@pytest.mark.shared_data('zoo/gifnet/Final.model', 'zoo/ydtr/model_10.pth')
def test_second_batch_converters_refuse_what_does_not_fit(shared_data, tmp_path, capsys):
    from mmhaze.utils.weight_conversion import ConversionError
    gifnet = torch.load(shared_data / ZOO['gifnet'][1], weights_only=True)
    ydtr_src = shared_data / ZOO['ydtr'][1]
    # a wrong file: GIFNet's weights given to YDTR's converter
    with pytest.raises(ConversionError, match="no counterpart for checkpoint tensor "
                                              "'getSharedFeatures"):
        CONVERTERS['ydtr'].convert_state_dict(dict(gifnet))
    # a missing key names the mmhaze parameter left without one
    key = 'cnnDecoder.decoder.10.bias'
    with pytest.raises(ConversionError, match=r"'fuser\.decoder\.3\.bias' has no checkpoint"):
        CONVERTERS['gifnet'].convert_state_dict({k: v for k, v in gifnet.items() if k != key})
    # released tables that are not mmhaze's
    table = [k for k in gifnet if k.endswith('relative_positions')][0]
    with pytest.raises(ConversionError, match='relative_positions: differs'):
        CONVERTERS['gifnet'].convert_state_dict(dict(gifnet, **{table: gifnet[table] + 1}))
    # the output is the input (also through a link): refused, the file untouched
    before = ydtr_src.read_bytes()
    link = tmp_path / 'link.pth'
    link.symlink_to(ydtr_src)
    for dst in (ydtr_src, link):
        assert CONVERTERS['ydtr'].main([str(ydtr_src), str(dst), '--force']) == 2
    assert 'is the released checkpoint itself' in capsys.readouterr().err
    assert ydtr_src.read_bytes() == before


@pytest.mark.shared_data('zoo/caf')
def test_caf_converter_reads_the_pickled_model_without_running_it(shared_data, tmp_path):
    from mmhaze.utils.weight_conversion import ConversionError, read_pickled_module_state_dict
    det, seg = shared_data / 'zoo/caf/Det_final.pth', shared_data / 'zoo/caf/Seg_final.pth'
    tensors, cls = read_pickled_module_state_dict(str(det), key='fuse')
    assert cls == 'models.Ours' and len(tensors) == 46
    assert tensors['encoder1.1.num_batches_tracked'].dtype == torch.int64
    a, b = CONVERTERS['caf'].convert(str(det)), CONVERTERS['caf'].convert(str(seg))
    assert a.keys() == b.keys() and not torch.equal(a['fuser.head.5.weight'],
                                                    b['fuser.head.5.weight'])
    assert a['fuser.ir_stem.1.num_batches_tracked'].dtype == torch.int64
    # a state dict (not a pickled module), a dict without 'fuse', another class
    plain = tmp_path / 'state_dict.pth'
    torch.save({'fuse': CAF().state_dict()}, plain)
    with pytest.raises(ConversionError, match='not a pickled nn.Module'):
        CONVERTERS['caf'].convert(str(plain))
    torch.save({'net': CAF().state_dict()}, plain)
    with pytest.raises(ConversionError, match="no 'fuse' entry"):
        CONVERTERS['caf'].convert(str(plain))
    torch.save({'fuse': torch.nn.Conv2d(1, 1, 1)}, plain)
    with pytest.raises(ConversionError, match="pickled torch.nn.modules.conv.Conv2d, not CAF"):
        CONVERTERS['caf'].convert(str(plain))


class _Payload:
    """Unpickling it runs ``func(*args)``: what a hostile whole-model file would do."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


@pytest.mark.parametrize('payload', ['exec', 'os.system'])
def test_pickled_model_reader_never_runs_the_file(payload, tmp_path):
    """A crafted 'release' whose pickle would create a marker file: converting it creates
    nothing (the reader records the call instead, or torch refuses the global) and fails in one
    error; the same file unpickled the ordinary way does create it."""
    import os
    from mmhaze.utils.weight_conversion import ConversionError
    marker = tmp_path / 'marker'
    src = tmp_path / 'hostile.pth'
    code = f'open({str(marker)!r}, "w").close()'
    func = (exec, code) if payload == 'exec' else (os.system, f'touch {marker}')
    torch.save({'fuse': _Payload(*func)}, src)
    assert CONVERTERS['caf'].main([str(src), str(tmp_path / 'out.pth')]) == 1
    assert not marker.exists() and not (tmp_path / 'out.pth').exists()
    with pytest.raises(ConversionError):
        CONVERTERS['caf'].convert(str(src))
    assert not marker.exists()
    # control: the crafted file is live
    with open(src, 'rb'):
        torch.load(src, weights_only=False)
    assert marker.exists()
    assert pickle.HIGHEST_PROTOCOL >= 2  # torch.save writes protocol-2 GLOBALs (read above)


# ------------------------------------------------------- GIFNet, CAF, YDTR: ONNX (plain)
@pytest.mark.shared_data('zoo/gifnet', 'zoo/caf', 'zoo/ydtr')
@pytest.mark.parametrize('method', ['caf', 'gifnet', 'ydtr'])
def test_second_batch_exports_with_the_plain_protocol(method, shared_data, tmp_path, capsys):
    """tools/deployment/pytorch2onnx.py with --cfg-options model.protocol=plain and the converted
    weights; the release protocol itself is refused (its Pillow/OpenCV reads):
    tests/apis/test_export_configs.py."""
    ckpt, out = tmp_path / f'{method}.pth', tmp_path / f'{method}.onnx'
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        assert CONVERTERS[method].main([str(shared_data / ZOO[method][1]), str(ckpt)]) == 0
    code = load_tool('deployment/pytorch2onnx').main([
        str(REPO_ROOT / f'configs/{method}/{method}_release_tno.py'), str(ckpt), '--out',
        str(out), '--shape', '40', '48', '--cfg-options', 'model.protocol=plain'])
    printed = capsys.readouterr().out
    assert code == 0 and out.is_file(), printed
    assert 'pred_fused' in printed and 'tolerance 0.0001' in printed
