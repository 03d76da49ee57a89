"""CSF: classification saliency-based fusion (Xu, Zhang, Ma; IEEE TCI 7:824–836, 2021), as
released (TensorFlow; the checkpoints and ``generate.py`` of VIF-Benchmark)."""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from mmhaze.registry import MODELS

from .release_layers import ConvBN, reflect_conv, tf_leaky_relu

#: How VIF-Benchmark's ``CSF/generate.py`` fuses: each source read by scipy's
#: ``imread(flatten=True, mode='YCbCr')`` (Pillow RGB → YCbCr → 'F'), (x/255 − 0.5)·2; the
#: output /2 + 0.5 saved by scipy's ``imsave`` (bytescale: min–max to 0–255 in float32, + 0.5,
#: truncated).
CSF_PROTOCOLS = {
    'release': dict(type='ReleaseProtocol', vis_read='pillow_ycbcr_f',
                    ir_read='pillow_ycbcr_f', stretch='minmax', stretch_form='bytescale',
                    rounding='half_up', precision='float32'),
}
#: The classifier's classes: which source a feature map came from.
VIS_CLASS, IR_CLASS = 0, 1


class CSFEncoder(nn.Module):
    """5×5 convs 1 → 16 → 24 → 24 → 24, reflect padding, leaky ReLU 0.2. 38,888 parameters."""

    def __init__(self, widths: tuple[int, ...] = (1, 16, 24, 24, 24)):
        super().__init__()
        self.convs = nn.ModuleList([reflect_conv(a, b, 5) for a, b in zip(widths[:-1],
                                                                          widths[1:])])
        self.out_channels = widths[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv in self.convs:
            x = tf_leaky_relu(conv(x))
        return x


class CSFDecoder(nn.Module):
    """5×5 convs 24 → 16 → 16 → 16 (leaky ReLU 0.2) → 1, tanh; reflect padding. 22,849
    parameters."""

    def __init__(self, widths: tuple[int, ...] = (24, 16, 16, 16, 1)):
        super().__init__()
        self.convs = nn.ModuleList([reflect_conv(a, b, 5) for a, b in zip(widths[:-1],
                                                                          widths[1:])])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv in self.convs[:-1]:
            x = tf_leaky_relu(conv(x))
        return torch.tanh(self.convs[-1](x))


class CSFClassifier(nn.Module):
    """Encoder features → two logits (visible, infrared): four 5×5 convs 24 → 32 → 64 → 32 → 2,
    each with batch normalisation (ε = 1e-3, always its moving statistics: the release runs it
    with ``training=False``), leaky ReLU 0.2 and a 2×2 max pool ('SAME': odd sizes keep their
    last row/column), then the spatial mean. 123,590 parameters (+ 260 batch-norm statistics).

    :meth:`input_gradient` is the gradient of one logit with respect to the features, written
    out layer by layer rather than by autograd, so that it runs under ``torch.no_grad``, exports
    to ONNX and breaks ties as TF's gradients do.
    """

    def __init__(self, widths: tuple[int, ...] = (24, 32, 64, 32, 2)):
        super().__init__()
        self.layers = nn.ModuleList([ConvBN(reflect_conv(a, b, 5))
                                     for a, b in zip(widths[:-1], widths[1:])])

    @staticmethod
    def _normalize(layer: ConvBN, x: torch.Tensor) -> torch.Tensor:
        bn = layer.bn
        return F.batch_norm(x, bn.running_mean, bn.running_var, bn.weight, bn.bias,
                            training=False, eps=bn.eps)

    def _forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Logits and each layer's pre-activation."""
        pre = []
        for layer in self.layers:
            z = self._normalize(layer, layer.conv(x))
            pre.append(z)
            x = F.max_pool2d(tf_leaky_relu(z), 2, 2, ceil_mode=True)
        return x.mean(dim=(2, 3)), pre

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._forward(x)[0]

    def input_gradient(self, x: torch.Tensor, cls: int) -> torch.Tensor:
        """``∂ logit_cls / ∂ x`` per sample (B×24×H×W). As TF differentiates the release's
        graph: a 2×2 window's gradient goes to its first maximum in raster order, leaky ReLU's
        ``max(z, 0.2z)`` passes 1 where z ≥ 0 (else 0.2)."""
        _, pre = self._forward(x)
        last = F.max_pool2d(pre[-1], 2, 2, ceil_mode=True)
        one_hot = (torch.arange(last.shape[1], device=x.device) == cls).to(x.dtype)
        grad = one_hot.view(1, -1, 1, 1) / (last.shape[-2] * last.shape[-1])
        grad = grad.expand_as(last)
        for layer, z in zip(reversed(self.layers), reversed(pre)):
            grad = max_pool_input_gradient(tf_leaky_relu(z), grad)
            grad = grad * torch.where(z >= 0, 1.0, 0.2).to(z.dtype)
            bn = layer.bn
            grad = grad * (bn.weight / torch.sqrt(bn.running_var + bn.eps)).view(1, -1, 1, 1)
            grad = F.conv_transpose2d(grad, layer.conv.weight)  # onto the padded input
            grad = reflect_pad_input_gradient(grad, layer.conv.padding[0])
        return grad


def max_pool_input_gradient(y: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """The input gradient of a 2×2, stride-2 max pool (odd sizes: ceil mode) of ``y`` given the
    output gradient: each window's to its first maximum in raster order."""
    h, w = y.shape[-2:]
    padded = F.pad(y, (0, w % 2, 0, h % 2), value=float('-inf'))
    pooled = F.max_pool2d(padded, 2, 2)
    taken = torch.zeros_like(pooled, dtype=torch.bool)
    parts = []
    for dy, dx in ((0, 0), (0, 1), (1, 0), (1, 1)):
        hit = (padded[..., dy::2, dx::2] == pooled) & ~taken
        taken = taken | hit
        parts.append(grad * hit.to(grad.dtype))
    b, c, ph, pw = grad.shape
    out = torch.stack(parts, -1).view(b, c, ph, pw, 2, 2).permute(0, 1, 2, 4, 3, 5)
    return out.reshape(b, c, 2 * ph, 2 * pw)[..., :h, :w]


def reflect_pad_input_gradient(grad: torch.Tensor, pad: int) -> torch.Tensor:
    """The gradient with respect to ``x`` of ``F.pad(x, (pad,) * 4, 'reflect')``, given the
    gradient of the padded tensor: each padded row/column adds onto the one it mirrors."""
    if pad == 0:
        return grad
    for dim in (-2, -1):
        size = grad.shape[dim] - 2 * pad
        core = grad.narrow(dim, pad, size)
        # Padded index pad − 1 − i mirrors i + 1; the far side's mirrors end at size − 2.
        near = grad.narrow(dim, 0, pad).flip(dim)
        far = grad.narrow(dim, pad + size, pad).flip(dim)
        before = (0, 0, 1, size - 1 - pad) if dim == -2 else (1, size - 1 - pad)
        after = (0, 0, size - 1 - pad, 1) if dim == -2 else (size - 1 - pad, 1)
        grad = core + F.pad(near, before) + F.pad(far, after)
    return grad


@MODELS.register_module()
class CSF(BaseModule):
    """Visible and IR (1 channel each, in [−1, 1]) → fused image in [−1, 1].

    One encoder applied to each source; the features are averaged per element with weights
    from the classifier's saliency: how much each feature element moves the logit of "this is
    the visible (infrared) image", measured on an image moved from one source toward the other,
    and turned into a softmax with temperature ``temperature``. The decoder reconstructs the
    fused image. 185,327 parameters (encoder 38,888, decoder 22,849, classifier 123,590).

    The saliency, as the release's ``generate.py`` computes it (a faithful reproduction,
    quirks included): with ``s`` = ``interpolation_samples`` and the visible image shifted to
    the IR's mean, ``v' = vis − mean(vis) + mean(ir)``, the IR saliency is
    ``|∂ logit_ir / ∂ features|`` at ``v' + (ir − v')/s`` and the visible saliency
    ``|∂ logit_vis / ∂ features|`` at ``ir + (v' − ir)/s``, each divided by ``s``. The release
    builds ``s`` such interpolated images and weighs the k-th gradient by 0.25^k, but it
    differentiates the logit of the batch's first image only, so the other ``s − 1`` gradients
    are zero: only the first interpolation step counts, and the mean over the ``s`` steps is that
    gradient / ``s``. The IR saliency is shifted to the visible one's mean; the weights are
    ``softmax(sal_vis / T, sal_ir / T)`` per element (computed as a sigmoid of the difference,
    the same value without overflow). They are constants: no gradient flows through them.

    The weights are discontinuous in the features: a pooling window's gradient goes to its
    maximum, and with T = 1.5e-4 the softmax is nearly a switch. Where two values of a window
    are within float32 noise, two correct float32 evaluations (TF's convolutions and PyTorch's
    differ by ~1e-6) can route it differently; ``configs/csf/README.md`` gives the measured
    effect on the release's outputs.
    """

    value_range = (-1.0, 1.0)
    protocols = CSF_PROTOCOLS
    tile_exact = False
    tile_inexact_reason = 'its saliency weights use whole-image means'
    # The classifier pools three times before its last 5×5 reflect-padded conv, which needs
    # 3 pixels: ceil(H / 8) ≥ 3.
    min_input_size = 17

    def __init__(self, temperature: float = 0.00015, interpolation_samples: int = 10,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if temperature <= 0 or interpolation_samples < 1:
            raise ValueError('temperature must be > 0 and interpolation_samples ≥ 1, got '
                             f'{temperature}, {interpolation_samples}')
        self.temperature = float(temperature)
        self.interpolation_samples = int(interpolation_samples)
        self.encoder = CSFEncoder()
        self.decoder = CSFDecoder()
        self.classifier = CSFClassifier()

    def class_saliency(self, image: torch.Tensor, cls: int) -> torch.Tensor:
        """``|∂ logit_cls / ∂ features|`` of the classifier at the encoder features of
        ``image`` (B×24×H×W), per sample; a constant."""
        feats = self.encoder(image).detach()
        return self.classifier.input_gradient(feats, cls).abs().detach()

    def fusion_weights(self, vis: torch.Tensor, ir: torch.Tensor
                       ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-element weights (visible, infrared) of the two sources' features."""
        s = self.interpolation_samples
        dims = (1, 2, 3)
        shifted = vis - vis.mean(dims, keepdim=True) + ir.mean(dims, keepdim=True)
        toward_ir = shifted + (ir - shifted) / s
        toward_vis = ir + (1 / s) * (shifted - ir)
        sal_ir = self.class_saliency(toward_ir, IR_CLASS) / s
        sal_vis = self.class_saliency(toward_vis, VIS_CLASS) / s
        sal_ir = sal_ir + sal_vis.mean(dims, keepdim=True) - sal_ir.mean(dims, keepdim=True)
        logit = (sal_vis - sal_ir) / self.temperature
        return torch.sigmoid(logit), torch.sigmoid(-logit)

    def forward(self, vis: torch.Tensor, ir: torch.Tensor) -> torch.Tensor:
        vis, ir = vis[:, :1], ir[:, :1]
        w_vis, w_ir = self.fusion_weights(vis, ir)
        return self.decoder(w_vis * self.encoder(vis) + w_ir * self.encoder(ir))
