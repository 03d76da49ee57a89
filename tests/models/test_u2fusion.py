"""U2Fusion: the released network and its outputs, the information weights, the loss, the
release protocol and the release's optimizer (TF1 RMSProp with weight clipping)."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import load_tool, write_random_vgg
from mmengine.dataset import pseudo_collate

from mmhaze.engine.optimizers import TFRMSprop
from mmhaze.models.backbones import VGG16Features
from mmhaze.models.fusion import U2FusionNet
from mmhaze.models.losses import U2FusionLoss, feature_gradient_energy, information_weights
from mmhaze.models.protocols import PlainProtocol, ReleaseProtocol, build_protocol
from mmhaze.registry import DATASETS, MODELS

converter = load_tool('model_converters/u2fusion_tf_to_mmhaze')


# ------------------------------------------------------------------------------- network
def test_network_is_the_released_architecture():
    net = U2FusionNet()
    assert sum(p.numel() for p in net.parameters()) == 659_217
    assert [c.in_channels for c in net.dense] == [44, 88, 132, 176, 220]
    assert [c.out_channels for c in net.decoder] == [128, 64, 32, 1]
    assert all(c.padding_mode == 'reflect' for c in [net.conv_in, *net.dense, *net.decoder])


def test_dense_block_puts_new_features_first_and_ir_goes_first():
    torch.manual_seed(0)
    net = U2FusionNet(random_swap=False).eval()
    vis, ir = torch.rand(1, 1, 9, 11), torch.rand(1, 1, 9, 11)

    def act(x):
        return torch.maximum(x, 0.2 * x)

    def reference(first, second):  # written from the TF code: out = concat([conv(x), x])
        x = act(net.conv_in(torch.cat([first, second], 1)))
        for conv in net.dense:
            x = torch.cat([act(conv(x)), x], 1)
        for conv in net.decoder[:-1]:
            x = act(conv(x))
        return torch.tanh(net.decoder[-1](x)) / 2 + 0.5

    with torch.no_grad():
        out = net(vis, ir)
        assert torch.equal(out, reference(ir, vis))
        assert not torch.allclose(out, reference(vis, ir))
        vis_first = U2FusionNet(ir_first=False).eval()
        vis_first.load_state_dict(net.state_dict())
        assert torch.equal(vis_first(vis, ir), reference(vis, ir))
    assert out.min() >= 0 and out.max() <= 1


def test_random_swap_only_in_training():
    torch.manual_seed(1)
    net = U2FusionNet()
    vis, ir = torch.rand(1, 1, 8, 8), torch.rand(1, 1, 8, 8)
    with torch.no_grad():
        net.eval()
        fixed = net(vis, ir)
        net.train()
        outs = [net(vis, ir) for _ in range(12)]
    swapped = net.eval()(ir, vis).detach()
    assert any(torch.equal(o, swapped) for o in outs) and any(torch.equal(o, fixed) for o in outs)
    with pytest.raises(ValueError, match="color_mode='ycbcr'"):
        net(torch.rand(1, 3, 8, 8), ir)


# ------------------------------------------------------------------------------- protocol
def test_release_protocol_stretches_each_valid_region_and_rounds_half_up():
    proto = ReleaseProtocol(stretch='minmax', rounding='half_up')
    x = torch.zeros(2, 1, 3, 4)
    x[0, 0] = torch.tensor([[0.2, 0.4, 0.6, 9.0], [0.3, 0.5, 0.25, 9.0], [9.0, 9.0, 9.0, 9.0]])
    x[1, 0] = torch.linspace(0.1, 0.5, 12).view(3, 4)
    out = proto.finish(x, sizes=[(2, 3), (3, 4)])
    # sample 0: valid region [0.2 … 0.6] (the 9s are padding); ((v − min)·255)/(max − min)
    # in float64 on the float32 values, half up
    v = x[0, 0, :2, :3].double().numpy()
    expected0 = np.floor((v - v.min()) * 255 / (v.max() - v.min()) + 0.5)
    got0 = (out[0, 0, :2, :3].double() * 255).round().numpy()
    assert np.array_equal(got0, expected0)
    assert got0[0, 0] == 0 and got0[0, 2] == 255 and got0[1, 2] == 32  # 31.875 → 32
    assert torch.equal((out[1] * 255).round().flatten()[[0, -1]], torch.tensor([0.0, 255.0]))
    # 'max' keeps 0 at 0; truncation instead of rounding
    trunc = ReleaseProtocol(stretch='max', rounding='truncate').finish(
        torch.tensor([[[[0.0, 0.25, 0.5]]]]))
    assert torch.equal((trunc * 255).round(), torch.tensor([[[[0.0, 127.0, 255.0]]]]))
    # sources are read as 8-bit
    vis, _ = proto.prepare(torch.tensor([0.5, 0.1001]), torch.zeros(2))
    assert torch.equal(vis * 255, torch.round(torch.tensor([0.5, 0.1001]) * 255))


def test_protocols_are_chosen_by_name_from_the_fuser_or_by_config():
    net = U2FusionNet()
    assert isinstance(build_protocol('plain', net), PlainProtocol)
    release = build_protocol('release', net)
    assert (release.stretch, release.rounding, release.source_bits) == ('minmax', 'half_up', 8)
    assert build_protocol('test_main', net).stretch == 'max'
    custom = build_protocol(dict(type='ReleaseProtocol', rounding='truncate', apply_to='rgb'))
    assert custom.rounding == 'truncate' and custom.apply_to == 'rgb'
    with pytest.raises(ValueError, match=r"'release'.*declares the protocols"):
        build_protocol('release', MODELS.build(dict(type='AverageFusion')))


# ------------------------------------------------------------------------------- published
@pytest.mark.shared_data('u2fusion/u2fusion_tf_weights.npz', 'tno_anchor')
def test_converted_release_reproduces_the_published_tno_outputs(shared_data):
    """../shared/data/tno_anchor/u2fusion_published/ were made by the release with the
    'release' protocol: a faithful port is within float accumulation order of them."""
    from PIL import Image
    state = converter.convert(str(shared_data / 'u2fusion/u2fusion_tf_weights.npz'))
    model = MODELS.build(dict(
        type='TwoStageDehazeFuse', fuser=dict(type='U2FusionNet'), protocol='release',
        data_preprocessor=dict(type='FusionDataPreprocessor', ir_channels=1)))
    model.load_state_dict(state, strict=True)
    model.eval()
    dataset = DATASETS.build(dict(
        type='PairedFusionDataset', data_root=str(shared_data / 'tno_anchor'), layout='tno',
        test_mode=True,
        pipeline=[dict(type='LoadFusionImages', ir_channels=1), dict(type='PackFusionInputs')]))
    assert len(dataset) == 3
    report = {}
    for i in range(len(dataset)):
        with torch.no_grad():
            sample = model.test_step(pseudo_collate([dataset[i]]))[0]
        stem = sample.metainfo['img_id']
        fused = torch.round(sample.pred_fused.data * 255).to(torch.int64)
        assert torch.equal(fused[0], fused[1]) and torch.equal(fused[0], fused[2])  # gray
        published = np.array(Image.open(shared_data / f'tno_anchor/u2fusion_published/{stem}.png'))
        diff = np.abs(fused[0].numpy() - published.astype(np.int64))
        report[stem] = (int(diff.max()), float((diff > 0).mean()))
    # Which pixels land on the other side of a rounding tie depends on the CPU's float kernels
    # (where the port was written pair 01 matched exactly and 7 of 442,368 pixels of 02 and 03
    # were one grey level off; on an AMD EPYC 8, 8 and 25 pixels are).
    assert all(max_diff <= 1 and frac <= 1e-4 for max_diff, frac in report.values()), report


# ------------------------------------------------------------------------------- weights
def test_gradient_energy_of_a_constant_map_is_its_border_response():
    # Zero padding: an edge pixel sees 5 of 8 neighbours (5/8 − 1 = −3/8), a corner 3 (−5/8),
    # an interior pixel 8 (0). 4×4 with value 2: (8·(3/8)² + 4·(5/8)²)·4 / 16 = 0.671875.
    flat = torch.full((1, 1, 4, 4), 2.0)
    assert feature_gradient_energy([flat]).item() == pytest.approx(0.671875, abs=1e-7)
    # the mean over layers (conv1_2 … conv5_3); a zero layer adds nothing
    two = feature_gradient_energy([flat, torch.zeros(1, 3, 2, 2)])
    assert two.item() == pytest.approx(0.671875 / 2, abs=1e-7)


def test_information_weights_are_a_softmax_over_the_task_constant():
    c = 3200.0
    w = information_weights(torch.tensor([c * math.log(3.0), 5.0]), torch.tensor([0.0, 5.0]), c)
    assert torch.allclose(w, torch.tensor([[0.75, 0.25], [0.5, 0.5]]), atol=1e-6)


def test_vgg_weights_are_buffers_out_of_checkpoints_and_optimizers(tmp_path):
    path = tmp_path / 'vgg16.pth'
    write_random_vgg(path)
    vgg = VGG16Features(str(path))
    assert vgg.style == 'torchvision'
    assert not list(vgg.parameters()) and not vgg.state_dict()
    feats = vgg(torch.rand(1, 3, 32, 32))
    assert [f.shape[1:] for f in feats] == [(64, 32, 32), (128, 16, 16), (256, 8, 8),
                                           (512, 4, 4), (512, 2, 2)]


def test_caffe_vgg_npz_is_read_in_bgr_0_255_minus_mean(tmp_path):
    path = tmp_path / 'vgg16.npz'
    state = write_random_vgg(path, seed=3, fmt='npz')
    vgg = VGG16Features(str(path), outputs=('conv1_1',))
    assert vgg.style == 'caffe'
    rgb = torch.rand(1, 3, 6, 6)
    bgr = rgb.flip(1) * 255 - torch.tensor([103.939, 116.779, 123.68]).view(1, 3, 1, 1)
    w, b = state['conv1_1']
    assert torch.allclose(vgg(rgb)[0], F.relu(F.conv2d(bgr, w, b, padding=1)), atol=1e-3)


def test_missing_vgg_file_is_one_error_naming_the_config_key(tmp_path):
    with pytest.raises(FileNotFoundError, match=r'model\.losses\.sim.*vgg_weights.*not found'):
        MODELS.build(dict(type='TwoStageDehazeFuse', fuser=dict(type='U2FusionNet'), losses=dict(
            sim=dict(type='U2FusionLoss', vgg_weights=str(tmp_path / 'absent.npz'),
                     fused='fuser_out', source1='fuser_ir', source2='fuser_vis'))))


def _ssim_valid(a, b):
    """Wang et al.'s SSIM with an 11×11 Gaussian (σ 1.5) over valid windows, in NumPy."""
    x = np.arange(11) - 5
    g = np.exp(-(x[:, None] ** 2 + x[None] ** 2) / (2 * 1.5 ** 2))
    g /= g.sum()

    def filt(img):
        h, w = img.shape
        return np.array([[np.sum(img[i:i + 11, j:j + 11] * g) for j in range(w - 10)]
                         for i in range(h - 10)])
    mu_a, mu_b = filt(a), filt(b)
    va, vb = filt(a * a) - mu_a ** 2, filt(b * b) - mu_b ** 2
    cov = filt(a * b) - mu_a * mu_b
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    return np.mean((2 * mu_a * mu_b + c1) * (2 * cov + c2) /
                   ((mu_a ** 2 + mu_b ** 2 + c1) * (va + vb + c2)))


def test_loss_is_weighted_ssim_plus_20_mse(tmp_path):
    path = tmp_path / 'vgg16.pth'
    write_random_vgg(path, seed=5)
    loss = U2FusionLoss(str(path), c=3200, vgg_input_size=32)
    torch.manual_seed(6)
    s1, s2 = torch.rand(2, 1, 16, 16), torch.rand(2, 1, 16, 16) * 0.5
    fused = (s1 + s2) / 2
    w = loss.weights(s1, s2)
    assert torch.allclose(w.sum(1), torch.ones(2))
    expected = 0.0
    for i in range(2):
        f, a, b = fused[i, 0].double().numpy(), s1[i, 0].double().numpy(), s2[i, 0].double().numpy()
        expected += (w[i, 0] * (1 - _ssim_valid(a, f)) + w[i, 1] * (1 - _ssim_valid(b, f)) +
                     20 * (w[i, 0] * np.mean((f - a) ** 2) + w[i, 1] * np.mean((f - b) ** 2)))
    assert loss(fused, s1, s2).item() == pytest.approx(float(expected) / 2, rel=1e-4)


# ------------------------------------------------------------------------------- optimizer
def test_tf_rmsprop_matches_tf1_update_rule_and_clips_weights():
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0, 49.99]))
    opt = TFRMSprop([p], lr=0.1, decay=0.6, momentum=0.15, epsilon=1e-10, weight_clip=50)
    ms, mom, theta = np.ones(3), np.zeros(3), np.array([1.0, -2.0, 49.99])
    for g in ([0.5, -1.0, -3.0], [0.2, 0.3, -3.0]):
        p.grad = torch.tensor(g)
        opt.step()
        g = np.array(g)
        ms = 0.6 * ms + 0.4 * g * g
        mom = 0.15 * mom + 0.1 * g / np.sqrt(ms + 1e-10)
        theta = np.clip(theta - mom, -50, 50)
        assert np.allclose(p.detach().numpy(), theta, atol=1e-6)
    assert p.detach()[2].item() == 50.0  # clipped
