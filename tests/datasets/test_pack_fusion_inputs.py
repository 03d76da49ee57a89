import numpy as np
import pytest
import torch

from mmhaze.datasets.transforms import PackFusionInputs, image_to_tensor


def test_dtypes_are_scaled_to_unit_range():
    assert image_to_tensor(np.full((2, 3), 255, np.uint8)).max() == 1.0
    assert image_to_tensor(np.full((2, 3, 1), 65535, np.uint16)).max() == 1.0
    t = image_to_tensor(np.full((2, 3, 3), 0.5, np.float32))
    assert t.shape == (3, 2, 3) and t.dtype == torch.float32
    with pytest.raises(ValueError, match=r'vis: float images must be in \[0, 1\]'):
        image_to_tensor(np.full((2, 2), 3.0, np.float32), 'vis')
    with pytest.raises(TypeError, match='unsupported dtype'):
        image_to_tensor(np.zeros((2, 2), np.int32))


def test_pack_builds_inputs_and_sample_sharing_memory():
    rng = np.random.default_rng(0)
    results = dict(vis=rng.integers(0, 256, (6, 5, 3), dtype=np.uint8),
                   ir=rng.integers(0, 256, (6, 5), dtype=np.uint8),
                   gt_clear=rng.random((6, 5, 3)).astype(np.float32),
                   gt_sem_seg=rng.integers(0, 4, (6, 5)), img_id='a', vis_path='x/a.png',
                   unrelated='dropped')
    packed = PackFusionInputs()(results)
    vis, ir = packed['inputs']['vis'], packed['inputs']['ir']
    assert vis.shape == (3, 6, 5) and ir.shape == (1, 6, 5)
    assert torch.allclose(vis[:, 2, 3] * 255, torch.from_numpy(results['vis'][2, 3]).float())
    s = packed['data_samples']
    assert s.vis.data.data_ptr() == vis.data_ptr()
    assert s.img_shape == (6, 5) and s.img_id == 'a' and 'unrelated' not in s.metainfo
    assert s.gt_sem_seg.data.shape == (1, 6, 5)


def test_pack_rejects_missing_and_mismatched_modalities():
    with pytest.raises(KeyError, match="no 'ir' image"):
        PackFusionInputs()(dict(vis=np.zeros((4, 4, 3), np.uint8)))
    with pytest.raises(ValueError, match='a_vis.png / a_ir.png'):
        PackFusionInputs()(dict(vis=np.zeros((4, 4, 3), np.uint8), ir=np.zeros((4, 5), np.uint8),
                                vis_path='a_vis.png', ir_path='a_ir.png'))
