"""LRRNet (Li, Xu, Wu, Lu, Kittler; IEEE TPAMI, 2023, doi:10.1109/TPAMI.2023.3268209), as released.

A learnable low-rank representation: each source is encoded by an unrolled LISTA solver whose
codes split into a low-rank and a sparse part; a small decoder maps each part back to an
image and fuses the low-rank and the sparse images of the two sources.
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from mmhaze.registry import MODELS

from .release_layers import reflect_conv

#: How the release (``testing_fusion_lrr.py``, ``utils.py``) made its published outputs: each
#: source read by OpenCV as gray, 0–255 floats, min–max normalised on its own,
#: (x − min)/(max − min + 1e-5); the ``'fuse'`` output min–max stretched the same way in
#: float32 (ε 1e-5 on the span), ×255, truncated to uint8.
LRRNET_PROTOCOLS = {
    'release': dict(type='ReleaseProtocol', vis_read='opencv_gray', ir_read='opencv_gray',
                    source_norm='minmax', source_norm_eps=1e-5, stretch='minmax',
                    stretch_form='normalize', stretch_eps=1e-5, rounding='truncate',
                    precision='float32'),
}
FUSION_TYPES = ('cat', 'add')


def soft_threshold(x: torch.Tensor, threshold: torch.Tensor) -> torch.Tensor:
    """``sign(x)·max(|x| − θ, 0)`` with one θ per channel (``threshold``: 1×C)."""
    theta = threshold.reshape(1, -1, 1, 1)
    return torch.sign(x) * torch.clamp(x.abs() - theta, min=0)


class LISTABlock(nn.Module):
    """One unrolled iteration: ``Z ← soft(λ_z·Z + A(X − D(Z)), θ)`` with the synthesis conv
    ``D`` (codes → image) and the analysis conv ``A`` (image → codes)."""

    def __init__(self, codes: int, channels: int, kernel_size: int):
        super().__init__()
        self.synthesis = reflect_conv(codes, channels, kernel_size)
        self.analysis = reflect_conv(channels, codes, kernel_size)

    def forward(self, x: torch.Tensor, codes: torch.Tensor, threshold: torch.Tensor,
                code_weight: torch.Tensor) -> torch.Tensor:
        residual = x - self.synthesis(codes)
        return soft_threshold(code_weight * codes + self.analysis(residual), threshold)


class LowRankSparseEncoder(nn.Module):
    """An image → (low-rank codes, sparse codes), ``n`` channels each.

    A conv to 2n channels and a soft threshold give the first codes; ``num_blocks`` LISTA
    iterations refine them. The thresholds θ (one per code channel) and the weight λ_z of the
    previous codes are learned and shared by every iteration.
    """

    def __init__(self, n: int = 128, channels: int = 1, kernel_size: int = 3,
                 num_blocks: int = 4):
        super().__init__()
        self.n = n
        self.conv_in = reflect_conv(channels, 2 * n, kernel_size)
        self.threshold = nn.Parameter(torch.rand(1, 2 * n))
        self.code_weight = nn.Parameter(torch.rand(1, 1))
        self.blocks = nn.ModuleList([LISTABlock(2 * n, channels, kernel_size)
                                     for _ in range(num_blocks)])

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        codes = soft_threshold(self.conv_in(x), self.threshold)
        for block in self.blocks:
            codes = block(x, codes, self.threshold, self.code_weight)
        return codes[:, :self.n], codes[:, self.n:]


@MODELS.register_module()
class LRRNet(BaseModule):
    """Visible and IR (1 channel each, [0, 1]; the release min–max normalises each) → fused
    image (linear output, about [0, 1]; the release min–max stretches it).

    Two encoders (:class:`LowRankSparseEncoder`, IR and visible; 128 + 128 code channels,
    four LISTA iterations), four 3×3 convs mapping the low-rank and the sparse codes of each
    source to one channel, the two low-rank images fused by a 3×3 conv on their
    concatenation [IR, VIS] (``fusion_type='cat'``, as released; ``'add'``: on their sum), the
    two sparse images likewise; the output is the sum of the two. Reflect padding throughout.
    49,204 parameters.
    """

    value_range = (0.0, 1.0)
    protocols = LRRNET_PROTOCOLS
    min_input_size = 2  # reflect padding by 1 needs 2 pixels
    tile_exact = True  # reflect padding at tile edges: exact away from the borders

    def __init__(self, n: int = 128, kernel_size: int = 3, num_blocks: int = 4,
                 fusion_type: str = 'cat', init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if fusion_type not in FUSION_TYPES:
            raise ValueError(f'fusion_type must be one of {FUSION_TYPES}, got {fusion_type!r}')
        self.fusion_type = fusion_type
        self.ir_encoder = LowRankSparseEncoder(n, 1, kernel_size, num_blocks)
        self.vis_encoder = LowRankSparseEncoder(n, 1, kernel_size, num_blocks)
        self.ir_low = reflect_conv(n, 1, kernel_size)
        self.ir_sparse = reflect_conv(n, 1, kernel_size)
        self.vis_low = reflect_conv(n, 1, kernel_size)
        self.vis_sparse = reflect_conv(n, 1, kernel_size)
        fused_in = 2 if fusion_type == 'cat' else 1
        self.fuse_low = reflect_conv(fused_in, 1, kernel_size)
        self.fuse_sparse = reflect_conv(fused_in, 1, kernel_size)
        # conv_in, two convs per LISTA iteration, the decoder's two
        self.tile_overlap = (kernel_size // 2) * (1 + 2 * num_blocks + 2)

    def _merge(self, conv: nn.Module, ir: torch.Tensor, vis: torch.Tensor) -> torch.Tensor:
        return conv(torch.cat([ir, vis], dim=1) if self.fusion_type == 'cat' else ir + vis)

    def forward(self, vis: torch.Tensor, ir: torch.Tensor) -> torch.Tensor:
        ir_low, ir_sparse = self.ir_encoder(ir[:, :1])
        vis_low, vis_sparse = self.vis_encoder(vis[:, :1])
        low = self._merge(self.fuse_low, self.ir_low(ir_low), self.vis_low(vis_low))
        sparse = self._merge(self.fuse_sparse, self.ir_sparse(ir_sparse),
                             self.vis_sparse(vis_sparse))
        return low + sparse
