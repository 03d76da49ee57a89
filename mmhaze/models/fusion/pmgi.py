"""PMGI (Zhang, Xu, Xiao, Guo, Ma; AAAI 2020), the IR-VIS release (TensorFlow)."""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from mmhaze.registry import MODELS

from .release_layers import same_conv, tf_leaky_relu

#: ``'release'``: how Tang's published TNO results (Linfeng-Tang/Evaluation-for-Image-Fusion)
#: were made — each source as plain 8-bit gray, (x − 127.5)/127.5; the output ×127.5 + 127.5
#: saved by scipy's ``imsave`` (bytescale: min–max to 0–255 in float32, + 0.5, truncated).
#: ``'test_one_image'``: the repository's script as written, which reads each source by scipy's
#: ``imread(flatten=True, mode='YCbCr')`` (Pillow RGB → YCbCr → 'F', one grey level lower on
#: some values); its outputs differ from the published ones by up to 2 grey levels.
PMGI_PROTOCOLS = {
    'release': dict(type='ReleaseProtocol', vis_read='pillow_l', ir_read='pillow_l',
                    stretch='minmax', stretch_form='bytescale', rounding='half_up',
                    precision='float32'),
    'test_one_image': dict(type='ReleaseProtocol', vis_read='pillow_ycbcr_f',
                           ir_read='pillow_ycbcr_f', stretch='minmax',
                           stretch_form='bytescale', rounding='half_up', precision='float32'),
}
PATHS = ('ir', 'vis')


class PMGIConv(nn.Module):
    """A 'SAME' conv, normalised per image and channel (mean and biased variance over H×W,
    ε = 1e-5, learnable γ/β), leaky ReLU 0.2.

    The release's ``tf.contrib.layers.batch_norm`` runs in its default training mode at test
    time, on batches of one image: that is this per-image normalisation, whatever the batch
    size here; its moving statistics are never used.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int):
        super().__init__()
        self.conv = same_conv(in_channels, out_channels, kernel_size)
        self.norm = nn.InstanceNorm2d(out_channels, eps=1e-5, affine=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return tf_leaky_relu(self.norm(self.conv(x)))


class PMGIPath(nn.Module):
    """One of the two paths (the release's ``layerN`` / ``layerN_vi``); ``layer2_3`` and
    ``layer3_4`` see both paths' latest features."""

    def __init__(self, width: int = 16):
        super().__init__()
        self.layer1 = PMGIConv(3, width, 5)
        self.layer2 = PMGIConv(width, width, 3)
        self.layer2_3 = PMGIConv(2 * width, width, 1)
        self.layer3 = PMGIConv(3 * width, width, 3)
        self.layer3_4 = PMGIConv(2 * width, width, 1)
        self.layer4 = PMGIConv(4 * width, width, 3)


@MODELS.register_module()
class PMGI(BaseModule):
    """Visible and IR (1 channel each, in [−1, 1]) → fused image in [−1, 1].

    Two paths of equal structure, one fed ``[ir, ir, vis]``, the other ``[vis, vis, ir]``:
    5×5 conv, 3×3 conv, then twice a 1×1 conv over both paths' latest features (the paths'
    information exchange) and a 3×3 conv over the path's dense concatenation; every conv
    normalised per image (:class:`PMGIConv`). The eight 16-channel maps
    ``[ir1, vis1, ir2, vis2, ir3, vis3, ir4, vis4]`` are fused by a 1×1 conv and tanh.
    TF's ``'SAME'`` zero padding. 42,017 parameters (41,633 conv weights and biases + 384
    normalisation γ/β).
    """

    value_range = (-1.0, 1.0)
    protocols = PMGI_PROTOCOLS
    tile_exact = False
    tile_inexact_reason = 'its normalisation uses the statistics of the whole image'

    def __init__(self, width: int = 16, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.paths = nn.ModuleDict({p: PMGIPath(width) for p in PATHS})
        self.fuse = nn.Conv2d(8 * width, 1, 1)

    def forward(self, vis: torch.Tensor, ir: torch.Tensor) -> torch.Tensor:
        ir, vis = ir[:, :1], vis[:, :1]
        ir_path, vis_path = self.paths['ir'], self.paths['vis']
        x1 = {'ir': ir_path.layer1(torch.cat([ir, ir, vis], 1)),
              'vis': vis_path.layer1(torch.cat([vis, vis, ir], 1))}
        x2 = {p: self.paths[p].layer2(x1[p]) for p in PATHS}
        mixed = torch.cat([x2['ir'], x2['vis']], 1)
        x23 = {p: self.paths[p].layer2_3(mixed) for p in PATHS}
        x3 = {p: self.paths[p].layer3(torch.cat([x1[p], x2[p], x23[p]], 1)) for p in PATHS}
        mixed = torch.cat([x3['ir'], x3['vis']], 1)
        x34 = {p: self.paths[p].layer3_4(mixed) for p in PATHS}
        x4 = {p: self.paths[p].layer4(torch.cat([x1[p], x2[p], x3[p], x34[p]], 1))
              for p in PATHS}
        feats = [x[p] for x in (x1, x2, x3, x4) for p in PATHS]
        return torch.tanh(self.fuse(torch.cat(feats, 1)))
