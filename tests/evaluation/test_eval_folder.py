"""tools/test.py (two datasets, MultiTestLoop) → --save-preds PNGs → eval_folder.py gives the
same per-image values → results_table.py merges run folders."""
import csv
import json
import math

import numpy as np
import pytest

FUSION = ['EN', 'SD', 'SF', 'AG', 'MI', 'Qabf', 'Qcv', 'SCD', 'VIF', 'VIFF', 'SSIM', 'CC']
CONFIG = """
_base_ = [{demo!r}]
model = dict(network=dict(channels=8, dilations=[1, 2]))
_synth = dict(type='SyntheticFusionDataset', img_size=48, modality='thermal',
              pipeline=[dict(type='PackFusionInputs')])
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                        dataset=dict(img_size=32, num_samples=8))
_test = [dict(batch_size=1, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
              dataset=dict(_synth, num_samples=n, seed=s, test_mode=True))
         for s, n in ((1000, 2), (2000, 1))]
_metrics = [[dict(type='FusionMetric', prefix=p), dict(type='ReferenceMetric', prefix=p)]
            for p in ('setA', 'setB')]
val_dataloader = _test
val_evaluator = _metrics
val_cfg = dict(type='MultiValLoop')
test_dataloader = _test
test_evaluator = _metrics
test_cfg = dict(type='MultiTestLoop')
train_cfg = dict(max_iters=2, val_interval=2)
param_scheduler = [dict(type='CosineAnnealingLR', T_max=2, by_epoch=False, begin=0, end=2)]
default_hooks = dict(checkpoint=dict(interval=2), logger=dict(interval=1))
vis_backends = []
visualizer = dict(vis_backends=[])
"""


def _write_png(path, array):
    import cv2
    path.parent.mkdir(parents=True, exist_ok=True)
    img = array[..., ::-1] if array.ndim == 3 and array.shape[2] == 3 else array
    assert cv2.imwrite(str(path), np.ascontiguousarray(img))


@pytest.fixture(scope='module')
def tested(tmp_path_factory, repo_root):
    from helpers import load_tool
    root = tmp_path_factory.mktemp('e2e')
    config = root / 'multi.py'
    base = repo_root / 'configs/conv_dehaze_fuser/conv_dehaze_fuser_synthetic-thermal.py'
    config.write_text(CONFIG.format(demo=str(base)))
    assert load_tool('train').main([str(config), '--work-dir', str(root / 'train')]) == 0
    preds = root / 'preds'
    assert load_tool('test').main([str(config), str(root / 'train' / 'iter_2.pth'),
                                   '--work-dir', str(root / 'test'), '--save-preds', str(preds),
                                   '--method-name', 'tiny']) == 0
    run = next(p for p in (root / 'test').iterdir() if p.is_dir())
    # the sources, as the datasets render them, written where eval_folder can read them
    from mmhaze.datasets import SyntheticFusionDataset
    for seed, num in ((1000, 2), (2000, 1)):
        ds = SyntheticFusionDataset(num_samples=num, img_size=48, seed=seed, modality='thermal')
        for i in range(num):
            info = ds.get_data_info(i)
            for key, folder in (('vis', 'vis'), ('ir', 'ir'), ('gt_clear', 'clear')):
                _write_png(root / 'sources' / folder / f"{info['img_id']}.png",
                           info[key][..., 0] if key == 'ir' else info[key])
    return root, run


def _rows(run):
    return {(r['method'], r['image']): r for r in csv.DictReader(open(run / 'per_image.csv'))}


def test_test_tool_writes_one_table_for_both_datasets(tested):
    root, run = tested
    summary = json.loads((run / 'summary.json').read_text())
    assert set(summary['results']) == {'setA', 'setB'}
    assert set(summary['results']['setA']) == set(FUSION) | {'PSNR_ref', 'SSIM_ref'}
    assert summary['meta']['directions']['Qcv'] == '↓'
    assert 'bits' in summary['meta']['conventions']['MI']
    table = (run / 'table.md').read_text()
    assert 'setA MI↑' in table and 'setB Qcv↓' in table and '- VIF: vifp(IR,F)' in table
    assert len(_rows(run)) == 3


def test_eval_folder_reproduces_test_tool_values(tested, tool):
    root, run = tested
    src, preds = root / 'sources', root / 'preds' / 'synthetic'
    assert tool('analysis_tools/eval_folder').main([
        '--ir', str(src / 'ir'), '--vis', str(src / 'vis'), '--fused', str(preds / 'fused'),
        '--clear', str(src / 'clear'), '--dehazed', str(preds / 'dehazed'),
        '--method', 'tiny', '--dataset', 'folder', '--work-dir', str(root / 'folder')]) == 0
    folder_run = next(p for p in (root / 'folder').iterdir() if p.is_dir())
    expected, got = _rows(run), _rows(folder_run)
    assert set(got) == set(expected)
    for key, row in expected.items():
        for metric in FUSION + ['PSNR_ref', 'SSIM_ref']:
            a, b = float(row[metric]), float(got[key][metric])
            assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), (key, metric, a, b)
    conv = json.loads((folder_run / 'summary.json').read_text())['meta']['conventions']
    assert conv['MI'] == json.loads((run / 'summary.json').read_text())['meta']['conventions'][
        'MI']


def test_eval_folder_bad_input(tested, tool, tmp_path, capsys):
    root, _ = tested
    src = root / 'sources'
    lonely = tmp_path / 'fused'
    _write_png(lonely / 'nobody.png', np.zeros((48, 48, 3), np.uint8))
    rc = tool('analysis_tools/eval_folder').main([
        '--ir', str(src / 'ir'), '--vis', str(src / 'vis'), '--fused', str(lonely),
        '--work-dir', str(tmp_path / 'out')])
    assert rc == 2 and 'nobody.png has no partner' in capsys.readouterr().err
    rc = tool('analysis_tools/eval_folder').main([
        '--ir', str(src / 'ir'), '--vis', str(src / 'vis'), '--fused', str(src / 'vis'),
        '--metrics', 'MI', 'mIoU', '--work-dir', str(tmp_path / 'out')])
    assert rc == 2 and "unknown keys 'mIoU'" in capsys.readouterr().err


def test_results_table_merges_runs(tested, tool, tmp_path, capsys):
    root, run = tested
    folder_run = next(p for p in (root / 'folder').iterdir() if p.is_dir()) if (
        root / 'folder').exists() else None
    if folder_run is None:
        pytest.skip('needs the eval_folder run of the previous test')
    out = tmp_path / 'merged'
    assert tool('analysis_tools/results_table').main(
        [str(run), str(folder_run), '--metrics', 'MI', 'Qcv', '--out', str(out)]) == 0
    md = (out / 'table.md').read_text()
    head = '| setA MI↑ | setA Qcv↓ | setB MI↑ | setB Qcv↓ | folder MI↑ | folder Qcv↓ |'
    assert f'| method {head}' in md
    assert tool('analysis_tools/results_table').main([str(run), str(run)]) == 2
    assert 'is in both' in capsys.readouterr().err
