"""HSVF's semantic stream: content/style encoders, the shared semantic space, the segmentation and
reconstruction heads and the segmentation loss — shapes, gradients and values."""
import math

import pytest
import torch
from hsvf_helpers import TINY_HRNET, tiny_semantic

from mmhaze.models.alignment import (
    HRNET_W18,
    HRNetContentEncoder,
    StyleEncoder,
    hrnet_output_channels,
    mean_of_softmaxes,
)
from mmhaze.models.heads import AdaINReconstructionHead, SegmentationHead
from mmhaze.models.losses import SegCrossEntropyLoss
from mmhaze.registry import MODELS


def test_hrnet_content_encoder_has_a_stem_per_modality_and_any_input_size():
    assert hrnet_output_channels(HRNET_W18) == [18, 36, 72, 144]  # HRNetV2-W18: 270 concat
    torch.manual_seed(0)
    nir = HRNetContentEncoder(in_channels=1, out_channels=12,
                              backbone=dict(type='mmseg.HRNet', extra=TINY_HRNET))
    assert type(nir.backbone).__name__ == 'HRNet'
    assert nir.backbone.conv1.in_channels == 1  # its own 1-channel stem
    assert nir.project.in_channels == 4 + 8 + 8 + 8
    x = torch.rand(2, 1, 37, 50, requires_grad=True)
    code = nir(x)
    assert code.shape == (2, 12, 10, 13)  # ceil(H/4) × ceil(W/4), padded to 32 inside
    # The layer-normalised code has zero mean and unit variance over channels at every pixel.
    assert torch.allclose(code.mean(1), torch.zeros(2, 10, 13), atol=1e-5)
    assert torch.allclose(code.var(1, unbiased=False), torch.ones(2, 10, 13), atol=1e-3)
    code.square().mean().backward()
    assert all(p.grad is not None for p in nir.parameters())
    with pytest.raises(ValueError, match='expected 1-channel input, got 3'):
        nir(torch.rand(1, 3, 32, 32))


def test_style_encoder_and_heads_shapes():
    style = StyleEncoder(in_channels=3, base_channels=4, num_downsamples=3, style_dim=5)
    assert style(torch.rand(2, 3, 32, 40)).shape == (2, 5)
    head = SegmentationHead(in_channels=6, num_classes=4, channels=8)
    assert head(torch.rand(2, 6, 8, 10)).shape == (2, 4, 8, 10)
    dec = AdaINReconstructionHead(in_channels=6, style_dim=5, out_channels=1, channels=8)
    out = dec(torch.rand(2, 6, 8, 10), torch.rand(2, 5))
    assert out.shape == (2, 1, 32, 40) and out.abs().max() <= 1


def test_adain_head_output_depends_on_the_style_code():
    torch.manual_seed(0)
    dec = AdaINReconstructionHead(in_channels=6, style_dim=5, out_channels=3, channels=8)
    content = torch.rand(1, 6, 4, 4)
    a, b = dec(content, torch.zeros(1, 5)), dec(content, torch.ones(1, 5))
    assert (a - b).abs().mean() > 1e-3


def test_semantic_alignment_outputs_and_gradients_reach_every_parameter():
    torch.manual_seed(0)
    net = MODELS.build(tiny_semantic(num_classes=5))
    vis, nir = torch.rand(2, 3, 32, 48) * 2 - 1, torch.rand(2, 1, 32, 48) * 2 - 1
    out = net(vis, nir)
    assert set(out) == net.output_names == {
        'content_vis', 'content_nir', 'seg_logits_vis', 'seg_logits_nir', 'seg_logits',
        'style_vis', 'style_nir', 'recon_vis', 'recon_nir'}
    assert out['content_vis'].shape == out['content_nir'].shape == (2, 8, 8, 12)
    assert out['seg_logits_vis'].shape == (2, 5, 8, 12)
    assert out['recon_vis'].shape == (2, 3, 32, 48) and out['recon_nir'].shape == (2, 1, 32, 48)
    # 'mean': the prediction is the average of the two softmaxes.
    expected = (out['seg_logits_vis'].softmax(1) + out['seg_logits_nir'].softmax(1)) / 2
    assert torch.allclose(out['seg_logits'].softmax(1), expected, atol=1e-5)
    labels = torch.randint(0, 5, (2, 32, 48))
    ce = SegCrossEntropyLoss()
    loss = ((out['content_vis'] - out['content_nir']).abs().mean()
            + ce(out['seg_logits_vis'], labels) + ce(out['seg_logits_nir'], labels)
            + (out['recon_vis'] - vis).abs().mean() + (out['recon_nir'] - nir).abs().mean())
    loss.backward()
    missing = [n for n, p in net.named_parameters() if p.grad is None or not p.grad.abs().sum()]
    assert missing == []
    # Without reconstruction only the codes and logits are computed.
    assert set(net(vis, nir, reconstruct=False)) == {
        'content_vis', 'content_nir', 'seg_logits_vis', 'seg_logits_nir', 'seg_logits'}


def test_vis_only_semantic_stream_ignores_nir_and_predicts_from_vis():
    net = MODELS.build(tiny_semantic(num_classes=3, modalities=('vis',), style=False))
    out = net(torch.rand(2, 3, 32, 32), None)
    assert set(out) == {'content_vis', 'seg_logits_vis', 'seg_logits'}
    assert torch.equal(out['seg_logits'], out['seg_logits_vis'])
    assert not hasattr(net.content_encoders, 'nir')
    with pytest.raises(ValueError, match=r"predict_from='nir' but modalities are \('vis',\)"):
        MODELS.build(tiny_semantic(num_classes=3, modalities=('vis',), predict_from='nir'))


def test_seg_cross_entropy_known_values_ignore_and_resize():
    ce = SegCrossEntropyLoss(loss_weight=2.0)
    logits = torch.zeros(1, 4, 2, 2, requires_grad=True)
    labels = torch.tensor([[[[0, 1, 2, 255], [3, 255, 255, 255],
                             [0, 0, 0, 0], [1, 1, 1, 1]]]])  # 4×4: logits are resized up
    assert ce(logits, labels).item() == pytest.approx(2 * math.log(4))
    onehot = torch.full((1, 3, 1, 2), -20.0)
    onehot[0, 1] = 20.0
    assert ce(onehot, torch.tensor([[[1, 1]]])).item() == pytest.approx(0, abs=1e-6)
    empty = ce(logits, torch.full((1, 4, 4), 255))
    assert empty.item() == 0 and empty.requires_grad
    with pytest.raises(ValueError, match='outside'):
        ce(logits, torch.full((1, 2, 2), 7))


def test_mean_of_softmaxes_keeps_a_single_prediction():
    x = torch.randn(2, 4, 3, 3)
    assert torch.allclose(mean_of_softmaxes([x, x]).softmax(1), x.softmax(1), atol=1e-6)
