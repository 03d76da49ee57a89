"""FusionMetric and SegMetric on data-sample dicts."""
import math

import pytest
import torch

from mmhaze.evaluation.functional import mutual_information, qcv
from mmhaze.evaluation.metrics import (
    ExtraRowMetric,
    FusionMetric,
    MetricComputeError,
    MetricInputError,
    SegMetric,
)


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


@pytest.mark.parametrize('gray_weights', ['matlab', 'bt601', 'pil'])
def test_fusion_metric_turns_each_colour_image_gray_once(monkeypatch, gray_weights):
    """The wrapper converts each colour image to gray once, not once per metric, and every
    metric equals its function called on the colour images (which converts them itself)."""
    import mmhaze.evaluation.functional.image_ops as image_ops
    import mmhaze.evaluation.metrics.fusion_metric as fusion_metric
    from mmhaze.evaluation.functional import metric_spec
    s = _sample(size=48)
    keys = ['EN', 'SD', 'SF', 'AG', 'MI', 'Qabf', 'Qcv', 'SCD', 'VIF', 'VIFF', 'SSIM', 'CC']
    metric = FusionMetric(metrics=keys, gray_weights=gray_weights, include_average=True)
    calls = []
    convert = image_ops.rgb_to_gray

    def counted(x, *args, **kwargs):
        calls.append(tuple(x.shape))
        return convert(x, *args, **kwargs)

    monkeypatch.setattr(image_ops, 'rgb_to_gray', counted)
    monkeypatch.setattr(fusion_metric, 'rgb_to_gray', counted)
    rows = metric.evaluate_sample(s)
    # fused, hazy VIS and the average row's image are colour; IR is gray already
    assert calls == [(1, 3, 48, 48)] * 3
    monkeypatch.setattr(image_ops, 'rgb_to_gray', convert)
    f, a, b = (_8bit(s[k]['data']).float() for k in ('pred_fused', 'ir', 'vis'))
    for key in keys:
        spec = metric_spec(key)
        args = (f, a, b) if spec.needs_sources else (f,)
        expected = spec.function(*args, gray_weights=gray_weights).item()
        assert rows['model'][key] == expected, key


def test_a_failing_image_stops_the_run_naming_the_image_and_the_metric():
    """An image whose metric raised used to be skipped (or NaN, dropped from the mean) with
    only a log line (issue 11, item 3)."""
    with pytest.raises(ValueError, match="options.MI.bse.*did you mean 'base'"):
        FusionMetric(options=dict(MI=dict(bse=2)))
    with pytest.raises(ValueError, match=r"'VIFP' is unknown \(did you mean 'VIF'\?\)"):
        FusionMetric(metrics=['VIFP'])
    nan_sample = _sample('broken')
    nan_sample['pred_fused']['data'][0, 0, 0] = float('nan')
    nan_sample['vis_path'] = 'data/vis/broken.png'
    tiny = _sample('tiny', size=16)  # too small for VIF only
    metric = FusionMetric(metrics=['EN', 'VIF'])
    with pytest.raises(MetricInputError) as err:
        metric.process({}, [nan_sample])
    assert str(err.value) == ("FusionMetric: pred_fused of image 'broken' "
                              '(data/vis/broken.png) holds NaN or inf values')
    with pytest.raises(MetricComputeError) as err:
        metric.process({}, [tiny])
    assert str(err.value).startswith("FusionMetric: VIF failed on image 'tiny': ValueError: ")
    assert '41×41' in str(err.value)
    unsized = _sample('unsized')
    unsized['ir']['data'] = unsized['ir']['data'][:, :40]
    with pytest.raises(MetricInputError, match=r"image 'unsized' has inputs of different sizes "
                                               r'\(H×W\): pred_fused 48×48, ir 40×48, vis 48×48'):
        metric.process({}, [unsized])
    no_ir = _sample('no_ir')
    del no_ir['ir']
    with pytest.raises(MetricInputError, match="FusionMetric: image 'no_ir' has no 'ir' "
                                               r'\(the IR source\)'):
        metric.process({}, [no_ir])


def test_skip_errors_leaves_images_out_and_says_which(monkeypatch):
    import mmhaze.evaluation.metrics.base_image_metric as base
    log = []
    monkeypatch.setattr(base, 'print_log', lambda msg, **kw: log.append(msg))
    nan_sample = _sample('broken')
    nan_sample['pred_fused']['data'][0, 0, 0] = float('nan')
    good = _sample('good', seed=1)
    metric = FusionMetric(metrics=['EN', 'VIF'], skip_errors=True, prefix='toy')
    metric.process({}, [nan_sample, _sample('tiny', size=16), good])
    out = metric.evaluate(3)
    assert [r['image'] for r in metric.per_image_rows] == ['good']
    assert [(s['image'], s['metric']) for s in metric.skipped] == [
        ('broken', 'FusionMetric'), ('tiny', 'FusionMetric')]
    assert metric.skipped[0]['reason'] == ("MetricInputError: FusionMetric: pred_fused of image "
                                           "'broken' holds NaN or inf values")
    # The metric's default precision is float32 per pixel: the same math on the same image.
    f, a, b = (_8bit(good[k]['data']).float() for k in ('pred_fused', 'ir', 'vis'))
    from mmhaze.evaluation.functional import vif
    assert out['toy/VIF'] == pytest.approx(vif(f, a, b).item(), rel=1e-12)
    assert "FusionMetric (skip_errors=True): left out image 'tiny': MetricComputeError" in log[1]
    from mmhaze.evaluation.result_tables import collect_dropped
    assert [d['image'] for d in collect_dropped([metric])] == ['broken', 'tiny']
    # An extra row leaves images out as its inner metric says.
    extra = ExtraRowMetric(row='dehazer output', metric=dict(
        type='FusionMetric', metrics=['EN'], pred_key='pred_fused', skip_errors=True))
    extra.process({}, [nan_sample, good])
    extra.evaluate(2)
    assert [s['image'] for s in extra.skipped] == ['broken']
    assert [r['method'] for r in extra.per_image_rows] == ['dehazer output']


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
    from mmhaze.evaluation.result_tables import collect_rows, summarise
    rows, conventions, directions = collect_rows([metric], 'ours')
    assert summarise(rows)['ours']['seg']['mIoU'] == pytest.approx(out['seg/mIoU'])
    assert directions == {'mIoU': '↑'} and 'mmseg' in conventions['mIoU']
    with pytest.raises(KeyError, match='lacks pred_sem_seg'):
        metric.process({}, [dict(img_id='n', gt_sem_seg=dict(data=gt[None]))])
