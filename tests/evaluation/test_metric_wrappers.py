"""FusionMetric and SegMetric on data-sample dicts."""
import math

import pytest
import torch

from mmhaze.evaluation.functional import mutual_information, qcv
from mmhaze.evaluation.metrics import FusionMetric, SegMetric


def _sample(img_id='x', size=48, seed=0):
    gen = torch.Generator().manual_seed(seed)
    vis = torch.rand(3, size, size, generator=gen)
    ir = torch.rand(1, size, size, generator=gen)
    clear = torch.rand(3, size, size, generator=gen)
    fused = (vis + ir) / 2
    return dict(img_id=img_id, vis=dict(data=vis), ir=dict(data=ir), gt_clear=dict(data=clear),
                pred_fused=dict(data=fused))


def _8bit(x):
    return torch.round(x.float().clamp(0, 1) * 255).double()[None]


def test_fusion_metric_values_and_reference_choice():
    s = _sample()
    metric = FusionMetric(metrics=['MI', 'Qcv'], prefix='toy')
    clear = FusionMetric(metrics=['MI'], vis_key='gt_clear',
                         options=dict(MI=dict(base=math.e, saturate_255=True)))
    metric.process({}, [s])
    clear.process({}, [s])
    out = metric.evaluate(1)
    # the wrappers compute in float32 by default (FusionMetric(dtype=...))
    f, a, b = (_8bit(s[k]['data']).float() for k in ('pred_fused', 'ir', 'vis'))
    assert out['toy/MI'] == pytest.approx(mutual_information(f, a, b).item(), rel=1e-12)
    assert out['toy/Qcv'] == pytest.approx(qcv(f, a, b).item(), rel=1e-12)
    c = _8bit(s['gt_clear']['data']).float()
    expected = mutual_information(f, a, c, base=math.e, saturate_255=True).item()
    assert clear.evaluate(1)['MI'] == pytest.approx(expected, rel=1e-12)
    conv = clear.conventions()['MI']
    assert 'nats' in conv and 'quirk' in conv and 'clear VIS' in conv
    assert 'bits' in metric.conventions()['MI'] and metric.directions['Qcv'] == '↓'


def test_fusion_metric_bad_input_is_reported_per_image(monkeypatch):
    import mmhaze.evaluation.metrics.fusion_metric as fm
    import mmhaze.evaluation.metrics.metric_utils as mu
    log = []
    for module in (fm, mu):
        monkeypatch.setattr(module, 'print_log', lambda msg, **kw: log.append(msg))
    with pytest.raises(ValueError, match="options.MI.bse.*did you mean 'base'"):
        FusionMetric(options=dict(MI=dict(bse=2)))
    with pytest.raises(ValueError, match='unknown metrics'):
        FusionMetric(metrics=['VIFP'])
    nan_sample = _sample('broken')
    nan_sample['pred_fused']['data'][0, 0, 0] = float('nan')
    tiny = _sample('tiny', size=16)  # too small for VIF only
    metric = FusionMetric(metrics=['EN', 'VIF'])
    metric.process({}, [nan_sample, tiny, _sample('good', seed=1)])
    out = metric.evaluate(3)
    rows = {r['image']: r for r in metric.per_image_rows}
    assert math.isnan(rows['broken']['EN']) and math.isnan(rows['tiny']['VIF'])
    assert math.isfinite(rows['tiny']['EN'])
    assert out['VIF'] == pytest.approx(rows['good']['VIF'])
    log = '\n'.join(log)
    assert "image 'broken': pred_fused holds NaN" in log
    assert "VIF of image 'tiny' is NaN" in log and '41×41' in log


def test_seg_metric_miou_through_mmseg():
    metric = SegMetric(prefix='seg')
    metric.dataset_meta = dict(classes=('a', 'b', 'c'))
    gt = torch.tensor([[0, 0, 1, 1], [2, 2, 2, 255]])
    pred = torch.tensor([[0, 1, 1, 1], [2, 2, 0, 0]])
    sample = dict(img_id='s', dataset_name='toy', gt_sem_seg=dict(data=gt[None]),
                  pred_sem_seg=dict(data=pred[None]))
    metric.process({}, [sample])
    out = metric.evaluate(1)
    # IoU: a = 1/3 (1 ∩, 3 ∪), b = 2/3, c = 2/3 (pixel 255 ignored)
    assert out['seg/mIoU'] == pytest.approx((1 / 3 + 2 / 3 + 2 / 3) / 3)
    assert metric.dataset_rows == [dict(dataset='seg', method='model', mIoU=out['seg/mIoU'])]
    from mmhaze.evaluation.benchmark import collect_rows, summarise
    rows, conventions, directions = collect_rows([metric], 'ours')
    assert summarise(rows)['ours']['seg']['mIoU'] == pytest.approx(out['seg/mIoU'])
    assert directions == {'mIoU': '↑'} and 'mmseg' in conventions['mIoU']
    with pytest.raises(KeyError, match='lacks pred_sem_seg'):
        metric.process({}, [dict(img_id='n', gt_sem_seg=dict(data=gt[None]))])
