"""Side-by-side grids of one pair: hazy | ir | dehazed | fused | clear | labels."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

import numpy as np
import torch
from mmengine.visualization import Visualizer

from mmhaze.registry import VISUALIZERS

DEFAULT_PANELS = ('vis', 'ir', 'pred_dehazed', 'pred_fused', 'gt_clear', 'gt_sem_seg',
                  'pred_sem_seg')


def _palette(n: int) -> np.ndarray:
    rng = np.random.default_rng(42)
    return rng.integers(0, 255, (max(n, 256), 3), dtype=np.uint8)


def to_rgb_uint8(x: torch.Tensor) -> np.ndarray:
    """C×H×W [0, 1] tensor (1 or 3 channels) → H×W×3 uint8, rounded like a saved PNG."""
    # One float temporary (the clamped copy, scaled and rounded in place: the same float32
    # products and round-half-to-even as NumPy's rint), not three of the image's size.
    levels = x.detach().float().cpu().clamp(0, 1).mul_(255.0).round_().to(torch.uint8)
    if levels.shape[0] == 1:
        levels = levels.expand(3, -1, -1)
    return np.ascontiguousarray(levels[:3].permute(1, 2, 0).numpy())


def labels_to_rgb(labels: torch.Tensor, palette: Optional[Sequence] = None) -> np.ndarray:
    lab = labels.detach().cpu().numpy().reshape(labels.shape[-2:]).astype(np.int64)
    pal = np.asarray(palette, np.uint8) if palette is not None else _palette(256)
    out = np.zeros(lab.shape + (3,), np.uint8)
    valid = (lab >= 0) & (lab < len(pal))
    out[valid] = pal[lab[valid]]
    return out


@VISUALIZERS.register_module()
class FusionVisualizer(Visualizer):
    """Renders a ``FusionDataSample`` as one row of panels, in ``panels`` order (absent ones
    are skipped), and writes it through the vis backends (``add_datasample``)."""

    def __init__(self, name: str = 'visualizer', panels: Sequence[str] = DEFAULT_PANELS,
                 **kwargs):
        super().__init__(name=name, **kwargs)
        self.panels = tuple(panels)

    def render(self, data_sample, palette: Optional[Sequence] = None) -> np.ndarray:
        """H×(k·W)×3 uint8 grid of the panels present in ``data_sample``."""
        palette = palette or (self.dataset_meta or {}).get('palette')
        tiles: list[np.ndarray] = []
        for key in self.panels:
            if key not in data_sample:
                continue
            data = getattr(data_sample, key).data
            tile = labels_to_rgb(data, palette) if 'sem_seg' in key else to_rgb_uint8(data)
            tiles.append(tile)
        if not tiles:
            raise ValueError('the data sample has none of the panels ' + ', '.join(self.panels))
        h = min(t.shape[0] for t in tiles)
        w = min(t.shape[1] for t in tiles)
        return np.concatenate([t[:h, :w] for t in tiles], axis=1)

    def add_datasample(self, name: str, data_sample, step: int = 0, **kwargs) -> np.ndarray:
        grid = self.render(data_sample)
        self.add_image(name, grid, step)
        return grid
