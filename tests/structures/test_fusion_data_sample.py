import pytest
import torch
from mmengine.structures import PixelData

from mmhaze.structures import FusionDataSample, field_list, stack_field


def test_fields_wrap_tensors_and_keep_metainfo():
    s = FusionDataSample(metainfo=dict(img_id='00004N', haze=dict(beta=0.01)))
    s.vis = torch.rand(3, 8, 10)
    s.ir = PixelData(data=torch.rand(1, 8, 10))
    s.gt_sem_seg = torch.zeros(1, 8, 10, dtype=torch.long)
    assert isinstance(s.vis, PixelData) and s.vis.shape == (8, 10)
    assert s.ir.data.shape == (1, 8, 10)
    assert s.img_id == '00004N' and s.haze['beta'] == 0.01
    assert 'pred_fused' not in s
    s.pred_fused = torch.ones(3, 8, 10)
    assert 'pred_fused' in s
    del s.pred_fused
    assert 'pred_fused' not in s
    with pytest.raises(AssertionError):
        s.gt_clear = 'not pixel data'


def test_stack_and_list_fields():
    samples = [FusionDataSample() for _ in range(3)]
    for i, s in enumerate(samples):
        s.vis = torch.full((3, 4, 4), float(i))
    batch = stack_field(samples, 'vis')
    assert batch.shape == (3, 3, 4, 4) and batch[2].max() == 2
    assert len(field_list(samples, 'vis')) == 3
    with pytest.raises(KeyError, match="field 'gt_clear'"):
        stack_field(samples, 'gt_clear')
