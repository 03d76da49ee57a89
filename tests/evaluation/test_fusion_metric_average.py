import pytest
import torch

from mmhaze.evaluation import FusionMetric
from mmhaze.evaluation.metrics import AVERAGE_ROW
from mmhaze.structures import FusionDataSample


def test_average_row_scores_the_trivial_fusion():
    torch.manual_seed(0)
    clear = torch.rand(3, 48, 48)
    hazy = clear * 0.4 + 0.5
    ir = torch.rand(1, 48, 48)
    s = FusionDataSample(metainfo=dict(img_id='x'))
    s.vis, s.ir, s.gt_clear = hazy, ir, clear
    s.pred_fused = (hazy + ir) / 2  # a "model" that outputs exactly the average
    metric = FusionMetric(metrics=['MI', 'Qabf'], vis_key='gt_clear', include_average=True)
    metric.process({}, [s.to_dict()])
    res = metric.evaluate(1)
    assert res[f'{AVERAGE_ROW}/MI'] == pytest.approx(res['MI'])
    assert res[f'{AVERAGE_ROW}/Qabf'] == pytest.approx(res['Qabf'])
    assert {r['method'] for r in metric.per_image_rows} == {'model', AVERAGE_ROW}


def test_float32_option_agrees_with_float64():
    torch.manual_seed(1)
    s = FusionDataSample(metainfo=dict(img_id='y'))
    s.vis, s.ir = torch.rand(3, 48, 48), torch.rand(1, 48, 48)
    s.pred_fused = (s.vis.data * 0.7 + s.ir.data * 0.3)
    keys = ['EN', 'MI', 'Qabf', 'SCD', 'VIF']
    results = {}
    for dtype in ('float64', 'float32'):
        metric = FusionMetric(metrics=keys, dtype=dtype)
        metric.process({}, [s.to_dict()])
        results[dtype] = metric.evaluate(1)
    for k in keys:
        assert results['float32'][k] == pytest.approx(results['float64'][k], rel=1e-3)
    with pytest.raises(ValueError, match='dtype'):
        FusionMetric(dtype='float16')
