"""GIFNet (Cheng et al., "One Model for ALL: Low-Level Task Interaction Is a Key to
Task-Agnostic Image Fusion", CVPR 2025), as released (github.com/AWCXV/GIFNet, ``Final.model``).

One network fuses infrared-visible, multi-focus and multi-exposure pairs: a dense conv encoder
shared by every task, a two-stream transformer whose streams were trained on two tasks (the
IVIF stream on infrared-visible fusion, the MFIF stream on multi-focus fusion) and exchange
queries and features, and a conv decoder that mixes the shared and the transformer features.
The transformer blocks are DehazeFormer's (RescaleNorm, reflect-padded shifted windows with an
MLP relative-position bias, a depthwise conv on V), reused from
:mod:`mmhaze.models.backbones.dehazeformer_blocks`.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from mmhaze.registry import MODELS

from ..backbones.dehazeformer_blocks import (
    ConvMlp,
    PatchEmbed,
    PatchUnEmbed,
    RescaleNorm,
    WindowSelfAttention,
    depth_gain,
    shifted_window_attention,
    trunc_xavier_,
)
from ..utils.padding import pad_to_multiple
from .release_layers import dense_forward, reflect_conv

#: How the release's ``test.py`` read and saved (its gray mode, which made both published
#: images): each source ``cv2.imread(…, IMREAD_GRAYSCALE)``, /255 (ToTensor); the output ×255
#: in float32, ``astype(np.uint8)``: truncation, no clipping.
GIFNET_PROTOCOLS = {
    'release': dict(type='ReleaseProtocol', vis_read='opencv_gray', ir_read='opencv_gray',
                    stretch=None, rounding='uint8_cast', precision='float32'),
}


class GIFNetStream(nn.Module):
    """One task stream of a GIFNet block: RescaleNorm, Q/K (1×1), V (1×1), a 5×5 depthwise conv
    on V (reflect padded), the output projection (1×1) and the MLP (1×1 convs, ×2 hidden)."""

    def __init__(self, dim: int, mlp_ratio: float, network_depth: int):
        super().__init__()
        self.norm = RescaleNorm(dim)
        self.qk = nn.Conv2d(dim, 2 * dim, 1)
        self.v = nn.Conv2d(dim, dim, 1)
        self.conv = nn.Conv2d(dim, dim, 5, padding=2, groups=dim, padding_mode='reflect')
        self.proj = nn.Conv2d(dim, dim, 1)
        self.mlp = ConvMlp(dim, int(dim * mlp_ratio), network_depth=network_depth)
        gain = depth_gain(network_depth)
        for conv in (self.qk, self.v, self.conv, self.proj):
            trunc_xavier_(conv.weight, 1.0 if conv is self.qk else gain)
            nn.init.zeros_(conv.bias)

    def project(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """(Q/K, V, rescale, rebias) of the normalised input."""
        y, rescale, rebias = self.norm(x)
        return self.qk(y), self.v(y), rescale, rebias

    def finish(self, x: torch.Tensor, attended: torch.Tensor, v: torch.Tensor,
               rescale: torch.Tensor, rebias: torch.Tensor) -> torch.Tensor:
        """``x + proj(conv(V) + attention)·rescale + rebias``, then ``+ mlp``."""
        x = x + (self.proj(self.conv(v) + attended) * rescale + rebias)
        return x + self.mlp(x)


class GIFNetBlock(nn.Module):
    """A two-stream DehazeFormer block: the MFIF stream attends with its own Q, K, V; the IVIF
    stream attends with its own K and V and — in unshifted blocks — the MFIF stream's queries.
    Both streams share one window attention (its relative-position MLP)."""

    def __init__(self, dim: int, num_heads: int, window_size: int, shift_size: int,
                 mlp_ratio: float, network_depth: int):
        super().__init__()
        self.dim = dim
        self.window_size = window_size
        self.shift_size = shift_size
        self.ivif = GIFNetStream(dim, mlp_ratio, network_depth)
        self.mfif = GIFNetStream(dim, mlp_ratio, network_depth)
        self.attn = WindowSelfAttention(dim, window_size, num_heads)

    def _attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return shifted_window_attention(torch.cat([q, k, v], dim=1), self.attn,
                                        self.window_size, self.shift_size)

    def forward(self, mfif: torch.Tensor, ivif: Optional[torch.Tensor] = None
                ) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        d = self.dim
        qk_m, v_m, rescale_m, rebias_m = self.mfif.project(mfif)
        out_m = self.mfif.finish(mfif, self._attend(qk_m[:, :d], qk_m[:, d:], v_m), v_m,
                                 rescale_m, rebias_m)
        if ivif is None:
            return out_m, None
        qk_i, v_i, rescale_i, rebias_i = self.ivif.project(ivif)
        queries = qk_m[:, :d] if self.shift_size == 0 else qk_i[:, :d]
        out_i = self.ivif.finish(ivif, self._attend(queries, qk_i[:, d:], v_i), v_i,
                                 rescale_i, rebias_i)
        return out_m, out_i


class GIFNetTransformer(nn.Module):
    """The two-stream transformer on the shared features: the input reflect-padded to a multiple
    of ``pad_multiple`` (bottom/right), a 3×3 embedding per stream, the blocks (odd ones shift
    their windows by half), after each even-indexed block the IVIF stream added to the MFIF
    stream with a learnt weight, and a 3×3 un-embedding of the MFIF stream, cropped back.

    The release's test runs every task through the MFIF stream (``trainingTag=2``). The IVIF
    stream matters only up to the last even-indexed block (later it feeds nothing), so it is
    not computed beyond; its later blocks, the IVIF-task mixing weights (used by the
    release's IVIF training step) and the MFIF mixing weights of odd-indexed blocks (which the
    release creates but never reads) are kept, frozen, so that the weights are the release's.
    """

    def __init__(self, dim: int = 98, depth: int = 2, num_heads: int = 2, window_size: int = 8,
                 mlp_ratio: float = 2.0, pad_multiple: int = 4):
        super().__init__()
        self.pad_multiple = pad_multiple
        self.embed_ivif = PatchEmbed(1, dim, dim, kernel_size=3)
        self.embed_mfif = PatchEmbed(1, dim, dim, kernel_size=3)
        self.blocks = nn.ModuleList([
            GIFNetBlock(dim, num_heads, window_size, 0 if i % 2 == 0 else window_size // 2,
                        mlp_ratio, network_depth=depth)
            for i in range(depth)])
        self.ivif_mix = nn.ParameterList([nn.Parameter(torch.rand(1)) for _ in range(depth)])
        self.mfif_mix = nn.ParameterList([nn.Parameter(torch.rand(1)) for _ in range(depth)])
        self.unembed = PatchUnEmbed(1, dim, dim, kernel_size=3)
        #: IVIF-stream blocks [0, ivif_depth) feed the output (through the even-indexed mixes).
        self.ivif_depth = (depth - 1) // 2 * 2 + 1

    def unread_parameters(self) -> Iterator[nn.Parameter]:
        """The parameters the forward never reads (see the class docstring)."""
        yield from self.ivif_mix.parameters()
        yield from self.mfif_mix[1::2].parameters()
        for block in self.blocks[self.ivif_depth:]:
            yield from block.ivif.parameters()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, size = pad_to_multiple(x, self.pad_multiple)
        mfif, ivif = self.embed_mfif(x), self.embed_ivif(x)
        for i, block in enumerate(self.blocks):
            mfif, ivif = block(mfif, ivif if i < self.ivif_depth else None)
            if i % 2 == 0:
                mfif = mfif + self.mfif_mix[i] * ivif
        return self.unembed(mfif)[..., :size[0], :size[1]]


def conv_decoder(channels: list[int]) -> nn.ModuleList:
    """3×3 reflect-padded convs through ``channels`` (ReLU between, tanh applied by the caller)."""
    return nn.ModuleList([reflect_conv(a, b) for a, b in zip(channels[:-1], channels[1:])])


def run_decoder(x: torch.Tensor, convs: nn.ModuleList) -> torch.Tensor:
    for conv in convs[:-1]:
        x = F.relu(conv(x))
    return torch.tanh(convs[-1](x))


@MODELS.register_module()
class GIFNet(BaseModule):
    """Visible and IR (1 channel each, [0, 1]) → fused image in [0, 1].

    - shared encoder on ``[IR, VIS]``: three 3×3 reflect-padded convs (ReLU) to 32 channels
      each, densely concatenated behind the input → 98 channels;
    - the two-stream transformer (:class:`GIFNetTransformer`, 98 channels, 2 blocks, 2 heads,
      8×8 windows) on them;
    - fusion head on ``[shared, transformer]`` (196): 1×1 convs without bias 196 → 98 (ReLU)
      → 128, then 3×3 reflect-padded convs 128 → 64 → 32 → 16 → 1 (ReLU; tanh), ``/2 + 0.5``.

    **822,780 parameters**, as released: the reconstruction decoder (98 → 64 → 32 → 16 → 1;
    the release trains the encoder with it, its test never runs it), the IVIF-task mixing
    weights, the odd blocks' MFIF mixing weights and the last block's IVIF stream are kept and
    frozen (:meth:`unread_parameters`, 160,402): nothing here reads them. The release's
    relative-position tables are recomputed (the converter checks them).
    """

    value_range = (0.0, 1.0)
    protocols = GIFNET_PROTOCOLS
    min_input_size = 2  # the 3×3 reflect padding of the encoder
    tile_exact = False
    tile_inexact_reason = ('RescaleNorm (feature mean and std over the whole input) and '
                           "attention windows anchored at the image's top-left corner")

    def __init__(self, channels: int = 32, decoder_channels: tuple[int, ...] = (64, 32, 16),
                 depth: int = 2, num_heads: int = 2, window_size: int = 8,
                 mlp_ratio: float = 2.0, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        widths = [2 + i * channels for i in range(3)]
        self.encoder = nn.ModuleList([reflect_conv(w, channels) for w in widths])
        dim = 2 + 3 * channels
        self.reconstruction_decoder = conv_decoder([dim, *decoder_channels, 1])
        self.transformer = GIFNetTransformer(dim, depth, num_heads, window_size, mlp_ratio)
        head_dim = 2 * decoder_channels[0]
        self.mix = nn.Sequential(nn.Conv2d(2 * dim, dim, 1, bias=False), nn.ReLU(),
                                 nn.Conv2d(dim, head_dim, 1, bias=False))
        self.decoder = conv_decoder([head_dim, *decoder_channels, 1])
        for param in self.unread_parameters():
            param.requires_grad_(False)

    def unread_parameters(self) -> Iterator[nn.Parameter]:
        """The release's parameters that its test forward (and this one) never reads."""
        yield from self.reconstruction_decoder.parameters()
        yield from self.transformer.unread_parameters()

    def encode(self, vis: torch.Tensor, ir: torch.Tensor) -> torch.Tensor:
        """The shared features (the release's ``forward_encoder(ir, vis)``)."""
        return dense_forward(torch.cat([ir[:, :1], vis[:, :1]], dim=1), self.encoder, F.relu,
                             new_first=False)

    def forward(self, vis: torch.Tensor, ir: torch.Tensor) -> torch.Tensor:
        shared = self.encode(vis, ir)
        mixed = self.mix(torch.cat([shared, self.transformer(shared)], dim=1))
        return run_decoder(mixed, self.decoder) / 2 + 0.5
