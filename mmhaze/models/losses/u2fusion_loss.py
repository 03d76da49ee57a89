"""U2Fusion's similarity loss with information-measurement weights (Xu et al., TPAMI 2022).

For each source I_k the release measures how much information it carries (no gradient): the
64×64 training patch is resized (nearest) to ``vgg_input_size``² and replicated to RGB, VGG-16
gives the post-ReLU features conv1_2, conv2_2, conv3_3, conv4_3, conv5_3, each is filtered per
channel by the 3×3 kernel (centre −1, neighbours 1/8, zero padding), and
``g_k = mean_layers mean_{C,H,W}(response²)``. The weights are ``softmax(g_1/c, g_2/c)`` with the
task constant c (3200 VIS-IR, 3500 multi-exposure, 100 multi-focus), and

    L = mean_b[ω1(1 − SSIM(I1, F)) + ω2(1 − SSIM(I2, F))]
        + 20 · mean_b[ω1·MSE(F, I1) + ω2·MSE(F, I2)]

(SSIM: 11×11 Gaussian σ 1.5, valid window, C1 = 0.01², C2 = 0.03², kornia's; MSE per image).
The EWC term of the paper is 0 in the release (λ = 0) and not implemented.
"""
from __future__ import annotations

from collections.abc import Sequence

import kornia
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmhaze.registry import MODELS

from ..backbones.vgg16_features import VGG16Features

#: The release's task constants c (``main.py``: c = [3200, 3500, 100]).
TASK_CONSTANTS = {'vis_ir': 3200.0, 'multi_exposure': 3500.0, 'multi_focus': 100.0}


def feature_gradient_energy(features: Sequence[torch.Tensor]) -> torch.Tensor:
    """B: the mean over layers of mean((K ∗ f)²), K the 3×3 kernel (−1 centre, 1/8 around),
    applied per channel with zero "SAME" padding."""
    energies = []
    for feat in features:
        c = feat.shape[1]
        kernel = torch.full((3, 3), 1.0 / 8, dtype=feat.dtype, device=feat.device)
        kernel[1, 1] = -1.0
        response = F.conv2d(feat, kernel.expand(c, 1, 3, 3), padding=1, groups=c)
        energies.append(response.square().mean(dim=(1, 2, 3)))
    return torch.stack(energies, dim=1).mean(dim=1)


def information_weights(energy1: torch.Tensor, energy2: torch.Tensor, c: float) -> torch.Tensor:
    """B×2 softmax of ``(g1/c, g2/c)``: the weights of source 1 and source 2."""
    return torch.softmax(torch.stack([energy1 / c, energy2 / c], dim=1), dim=1)


@MODELS.register_module()
class U2FusionLoss(nn.Module):
    """``loss_weight · (SSIM term + mse_weight · MSE term)``, weighted per sample by the
    sources' information (see the module docstring).

    Bind ``fused``, ``source1``, ``source2`` to 1-channel images, e.g. TwoStageDehazeFuse's
    ``fuser_out``, ``fuser_ir``, ``fuser_vis``.

    Args:
        vgg_weights: local VGG-16 weights file (``.npz`` of the Caffe/TF ``vgg16.npy`` U2Fusion
            uses, or torchvision's ``.pth``); required, read once when the loss is built. The
            network is a frozen instrument: its weights are non-persistent buffers, in no
            checkpoint and no optimizer.
        c: the task constant (3200 for VIS-IR); or a name of :data:`TASK_CONSTANTS`.
        mse_weight: 20 in the release.
        vgg_input_size: the resize before VGG (224 in the release; smaller only for tests).
        value_range: the range of the bound images (mapped to [0, 1] first).
    """

    def __init__(self, vgg_weights: str, c: float | str = 'vis_ir', mse_weight: float = 20.0,
                 loss_weight: float = 1.0, vgg_input_size: int = 224,
                 value_range: Sequence[float] = (0.0, 1.0)):
        super().__init__()
        if isinstance(c, str):
            if c not in TASK_CONSTANTS:
                raise ValueError(f'c must be a number or one of {sorted(TASK_CONSTANTS)}, '
                                 f'got {c!r}')
            c = TASK_CONSTANTS[c]
        if c <= 0:
            raise ValueError(f'c must be positive, got {c}')
        self.c, self.mse_weight, self.loss_weight = float(c), float(mse_weight), float(loss_weight)
        self.vgg_input_size = int(vgg_input_size)
        self.value_range = tuple(float(v) for v in value_range)
        self.vgg = VGG16Features(vgg_weights, where='U2FusionLoss.vgg_weights')

    def to_unit(self, x: torch.Tensor) -> torch.Tensor:
        lo, hi = self.value_range
        return x if (lo, hi) == (0.0, 1.0) else (x - lo) / (hi - lo)

    @torch.no_grad()
    def information(self, source: torch.Tensor) -> torch.Tensor:
        """B: the information measure g of a 1-channel source in [0, 1]."""
        size = (self.vgg_input_size, self.vgg_input_size)
        x = F.interpolate(source.float(), size=size, mode='nearest')
        return feature_gradient_energy(self.vgg(x.expand(-1, 3, -1, -1)))

    def weights(self, source1: torch.Tensor, source2: torch.Tensor) -> torch.Tensor:
        return information_weights(self.information(source1), self.information(source2), self.c)

    def forward(self, fused: torch.Tensor, source1: torch.Tensor,
                source2: torch.Tensor) -> torch.Tensor:
        fused, source1, source2 = (self.to_unit(x) for x in (fused, source1, source2))
        if not fused.shape[1] == source1.shape[1] == source2.shape[1] == 1:
            raise ValueError('U2FusionLoss compares 1-channel images (bind fuser_out, fuser_ir '
                             f'and fuser_vis of a Y-channel fuser); got {fused.shape[1]}, '
                             f'{source1.shape[1]}, {source2.shape[1]} channels')
        w = self.weights(source1, source2)

        def ssim(a, b):
            return kornia.metrics.ssim(a, b, 11, max_val=1.0, padding='valid').mean(dim=(1, 2, 3))

        ssim_term = w[:, 0] * (1 - ssim(source1, fused)) + w[:, 1] * (1 - ssim(source2, fused))
        mse_term = (w[:, 0] * (fused - source1).square().mean(dim=(1, 2, 3)) +
                    w[:, 1] * (fused - source2).square().mean(dim=(1, 2, 3)))
        return self.loss_weight * (ssim_term.mean() + self.mse_weight * mse_term.mean())

    def extra_repr(self) -> str:
        return (f'c={self.c}, mse_weight={self.mse_weight}, loss_weight={self.loss_weight}, '
                f'vgg_input_size={self.vgg_input_size}, vgg_style={self.vgg.style!r}')
