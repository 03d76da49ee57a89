"""Suite presets (mmhaze/evaluation/suites.py): each gives exactly its suite's columns, the
footnotes name it, eval_folder.py --suite prints them, and one table never holds one key under
two conventions.

The expected columns are written here from the suites' own sources, not read back from
suites.py:
- VIFB: the 13 files of xingchenzhang/VIFB ``metrics/`` (metricsAvg_gradient.m → AG, …; there
  is no N_abf file, although the issue lists it);
- IVIF_ZOO: the return tuple of RollingPlain/IVIF_ZOO ``Metric/eval_torch.py`` evaluation_one;
- Tang: the ``easy = 1`` sheets of Linfeng-Tang/Evaluation-for-Image-Fusion
  ``Evaluation_for_Single_Algorithm.m``;
- CDDFuse: the printed header of Zhaozixiang1228/MMIF-CDDFuse ``test_IVF.py``;
- Liu et al. 2012: the issue's list: the 12 columns of zhengliu6699/imageFusionMetrics
  ``fusionAssess.m`` (Q_MI … Q_CB) and Haghighat's FMI of mhaghighat/fmi ``fmi.m`` on pixels, DCT
  and edges (its wavelet feature needs MATLAB's Wavelet Toolbox: not in the preset).
"""
import csv
import json

import numpy as np
import pytest
import torch

from mmhaze.evaluation.metrics import FusionMetric
from mmhaze.evaluation.result_tables import collect_rows
from mmhaze.evaluation.suites import SUITES, metric_suite
from mmhaze.utils.errors import UserError

EXPECTED_COLUMNS = {
    'vifb': ['AG', 'CE', 'EI', 'EN', 'MI', 'PSNR', 'Qabf', 'Qcb', 'Qcv', 'RMSE', 'SF', 'SSIM',
             'SD'],
    'ivif_zoo': ['CE', 'NMI', 'QNCIE', 'TE', 'EI', 'Qy', 'Qcb', 'EN', 'MI', 'SF', 'AG', 'SD',
                 'CC', 'SCD', 'VIF', 'MSE', 'PSNR', 'Qabf', 'Nabf', 'SSIM', 'MS_SSIM'],
    'tang': ['EN', 'SF', 'SD', 'PSNR', 'MSE', 'MI', 'VIF', 'AG', 'CC', 'SCD', 'Qabf'],
    'cddfuse': ['EN', 'SD', 'SF', 'MI', 'SCD', 'VIF', 'Qabf', 'SSIM'],
    'liu2012': ['Q_MI', 'Q_TE', 'Q_NCIE', 'Q_G', 'Q_M', 'Q_SF', 'Q_P', 'Q_S', 'Q_C', 'Q_Y',
                'Q_CV', 'Q_CB', 'FMI_pixel', 'FMI_dct', 'FMI_edge'],
}
# the suites whose column order is their table's order (VIFB's order is its config file's)
ORDERED = ('ivif_zoo', 'tang', 'cddfuse', 'liu2012')
# MS-SSIM's five scales of an 11-tap window need a side above 160 pixels
SIZE = {'ivif_zoo': 176}


def _sample(size: int, seed: int = 0, img_id: str = 'x') -> dict:
    gen = torch.Generator().manual_seed(seed)
    vis = torch.rand(3, size, size, generator=gen)
    ir = torch.rand(1, size, size, generator=gen)
    # a smooth fused image with some of each source, so no metric sees a degenerate input
    fused = (0.5 * vis + 0.5 * ir).clamp(0, 1)
    return dict(img_id=img_id, vis=dict(data=vis), ir=dict(data=ir),
                pred_fused=dict(data=fused))


def test_every_preset_is_tested():
    assert set(SUITES) == set(EXPECTED_COLUMNS)


@pytest.mark.parametrize('suite', sorted(EXPECTED_COLUMNS))
def test_preset_gives_exactly_its_suite_columns(suite):
    expected = EXPECTED_COLUMNS[suite]
    assert len(expected) == len(set(expected))
    metric = FusionMetric(suite=suite, prefix='toy')
    assert sorted(metric.metrics) == sorted(expected)
    if suite in ORDERED:
        assert list(metric.metrics) == expected
    metric.process({}, [_sample(SIZE.get(suite, 64))])
    out = metric.evaluate(1)
    assert sorted(out) == sorted(f'toy/{k}' for k in expected)
    assert all(np.isfinite(v) for v in out.values()), out
    # every footnote names the preset
    conventions = metric.conventions()
    assert sorted(conventions) == sorted(expected)
    for key, text in conventions.items():
        assert f'{suite} preset' in text, (key, text)


def test_preset_reading_settings_and_selection():
    vifb = FusionMetric(suite='vifb', metrics=['CE', 'Qcb'])
    assert vifb.metrics == ('CE', 'Qcb') and vifb.color == 'channels'
    assert vifb.dtype == torch.float64
    assert 'per RGB channel' in vifb.conventions()['CE']
    zoo = FusionMetric(suite='ivif_zoo', metrics=['CE'])
    assert zoo.gray_weights == 'pil' and zoo.color == 'gray'
    # the suite's name for another metric: the footnote names the registered one
    assert '(CE_sigmoid)' in zoo.conventions()['CE']
    assert metric_suite('ivif_zoo').column('CE').metric == 'CE_sigmoid'
    with pytest.raises(ValueError, match="suite 'vifb' reads images with color='channels'"):
        FusionMetric(suite='vifb', color='gray')
    with pytest.raises(ValueError,
                       match=r"'Nabf' \(did you mean 'Qabf'\?\) not in the suite 'vifb'"):
        FusionMetric(suite='vifb', metrics=['Nabf'])
    with pytest.raises(ValueError, match="unknown metric suite 'vfib'.*'vifb'"):
        FusionMetric(suite='vfib')
    # user options apply over the suite's, and the footnote says so
    user = FusionMetric(suite='vifb', metrics=['MI'], options=dict(MI=dict(minmax=False)))
    assert user.column_options['MI']['minmax'] is False
    assert 'vifb preset + user options' in user.conventions()['MI']


def test_one_table_refuses_one_key_under_two_conventions():
    vifb = FusionMetric(suite='vifb', metrics=['CE', 'EN'])
    zoo = FusionMetric(suite='ivif_zoo', metrics=['CE'])
    tang = FusionMetric(suite='tang', metrics=['EN'])
    sample = _sample(48)
    for metric in (vifb, zoo, tang):
        metric.process({}, [sample])
        metric.evaluate(1)
    with pytest.raises(UserError, match=r"report 'CE' under different conventions"):
        collect_rows([vifb, zoo], 'ours')
    # VIFB's EN (per channel) and Tang's EN (gray) differ too
    with pytest.raises(UserError, match="'EN'"):
        collect_rows([vifb, tang], 'ours')
    # one key under one convention twice is one column
    again = FusionMetric(suite='ivif_zoo', metrics=['CE'])
    again.process({}, [sample])
    again.evaluate(1)
    rows, conventions, _ = collect_rows([zoo, again], 'ours')
    assert len(rows) == 1 and list(conventions) == ['CE']
    assert rows[0]['CE'] == pytest.approx(zoo.per_image_rows[0]['CE'], rel=0, abs=0)


def _write_png(path, array):
    from PIL import Image
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def test_eval_folder_suite_vifb_prints_the_vifb_columns(tool, tmp_path, capsys):
    rng = np.random.default_rng(0)
    for stem in ('a', 'b'):
        vis = rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)
        ir = rng.integers(0, 256, (40, 48), dtype=np.uint8)
        fused = ((vis.astype(np.uint16) + ir[..., None]) // 2).astype(np.uint8)
        _write_png(tmp_path / 'vis' / f'{stem}.png', vis)
        _write_png(tmp_path / 'ir' / f'{stem}.png', ir)
        _write_png(tmp_path / 'fused' / f'{stem}.png', fused)
    rc = tool('analysis_tools/eval_folder').main([
        '--ir', str(tmp_path / 'ir'), '--vis', str(tmp_path / 'vis'),
        '--fused', str(tmp_path / 'fused'), '--suite', 'vifb', '--method', 'avg',
        '--work-dir', str(tmp_path / 'out')])
    assert rc == 0
    printed = capsys.readouterr().out
    header = next(line for line in printed.splitlines() if line.startswith('| method'))
    cells = [c.strip() for c in header.strip('|').split('|')][1:]
    assert sorted(c.split()[-1].rstrip('↑↓') for c in cells) == sorted(EXPECTED_COLUMNS['vifb'])
    run = next((tmp_path / 'out').iterdir())
    rows = list(csv.DictReader(open(run / 'per_image.csv')))
    assert len(rows) == 2
    assert set(rows[0]) == {'dataset', 'method', 'image', *EXPECTED_COLUMNS['vifb']}
    meta = json.loads((run / 'summary.json').read_text())['meta']
    assert meta['suite'] == 'vifb'
    assert all('vifb preset' in text for text in meta['conventions'].values())
    rc = tool('analysis_tools/eval_folder').main([
        '--ir', str(tmp_path / 'ir'), '--vis', str(tmp_path / 'vis'),
        '--fused', str(tmp_path / 'fused'), '--suite', 'vifbb',
        '--work-dir', str(tmp_path / 'bad')])
    assert rc == 2 and "unknown metric suite 'vifbb'" in capsys.readouterr().err


def test_test_tool_takes_a_suite_through_the_evaluator_config(tool, tmp_path, repo_root):
    base = repo_root / 'configs/two_stage/dcp_average_synthetic.py'  # needs no checkpoint
    config = tmp_path / 'vifb_suite.py'
    config.write_text(f"_base_ = [{str(base)!r}]\n"
                      "test_evaluator = [dict(type='FusionMetric', suite='vifb')]\n")
    assert tool('test').main([str(config), '--work-dir', str(tmp_path / 'out'), '--cfg-options',
                              'test_dataloader.dataset.num_samples=1',
                              'test_dataloader.num_workers=0',
                              'test_dataloader.persistent_workers=False']) == 0
    run = next(p for p in (tmp_path / 'out').iterdir() if p.is_dir())
    rows = list(csv.DictReader(open(run / 'per_image.csv')))
    assert len(rows) == 1
    assert set(rows[0]) == {'dataset', 'method', 'image', *EXPECTED_COLUMNS['vifb']}
    conventions = json.loads((run / 'summary.json').read_text())['meta']['conventions']
    assert sorted(conventions) == sorted(EXPECTED_COLUMNS['vifb'])
    assert all('vifb preset' in text for text in conventions.values())
