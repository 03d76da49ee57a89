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
    each with batch normalisation (ε = 1e-3), leaky ReLU 0.2 and a 2×2 max pool ('SAME': odd
    sizes keep their last row/column), then the spatial mean. 123,590 parameters (+ 260
    batch-norm statistics)."""

    def __init__(self, widths: tuple[int, ...] = (24, 32, 64, 32, 2)):
        super().__init__()
        self.layers = nn.ModuleList([ConvBN(reflect_conv(a, b, 5))
                                     for a, b in zip(widths[:-1], widths[1:])])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = F.max_pool2d(tf_leaky_relu(layer(x)), 2, 2, ceil_mode=True)
        return x.mean(dim=(2, 3))


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
        with torch.enable_grad():
            feats = self.encoder(image).detach().requires_grad_(True)
            logit = self.classifier(feats)[:, cls].sum()  # samples are independent (eval BN)
            (grad,) = torch.autograd.grad(logit, feats)
        return grad.abs().detach()

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
