import torch
import torch.nn.functional as F

from mmhaze.models.utils import reflect_pad


def test_reflect_pad_matches_torch_and_survives_tiny_inputs():
    x = torch.arange(20.0).view(1, 1, 4, 5)
    assert torch.equal(reflect_pad(x, (2, 3, 1, 2)), F.pad(x, (2, 3, 1, 2), mode='reflect'))
    row = torch.tensor([[[[0.0, 1.0, 2.0]]]])
    # Periodic reflection (OpenCV BORDER_REFLECT_101): ... 2 1 | 0 1 2 | 1 0 1 2 1 ...
    assert reflect_pad(row, (2, 5, 0, 0)).flatten().tolist() == [2, 1, 0, 1, 2, 1, 0, 1, 2, 1]
    assert reflect_pad(torch.ones(1, 1, 1, 1), (3, 3, 3, 3)).shape == (1, 1, 7, 7)
