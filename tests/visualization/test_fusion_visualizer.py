import numpy as np
import torch

from mmhaze.structures import FusionDataSample
from mmhaze.visualization import FusionVisualizer, labels_to_rgb, to_rgb_uint8


def test_grid_concatenates_present_panels():
    s = FusionDataSample()
    s.vis = torch.full((3, 8, 10), 0.5)
    s.ir = torch.ones(1, 8, 10)
    s.pred_fused = torch.zeros(3, 8, 10)
    s.gt_sem_seg = torch.tensor([[0, 1] * 5] * 8)[None]
    vis = FusionVisualizer.get_instance('test_grid_vis')
    grid = vis.render(s, palette=[(255, 0, 0), (0, 255, 0)])
    assert grid.shape == (8, 40, 3) and grid.dtype == np.uint8
    assert (grid[:, :10] == 128).all()  # 0.5 rounds to 128, like a saved PNG
    assert (grid[:, 10:20] == 255).all()  # 1-channel IR shown grey
    assert tuple(grid[0, 30]) == (255, 0, 0) and tuple(grid[0, 31]) == (0, 255, 0)


def test_helpers():
    assert to_rgb_uint8(torch.rand(3, 4, 4) * 2).max() == 255
    assert labels_to_rgb(torch.full((1, 2, 2), 300)).sum() == 0  # out-of-palette ids stay black
