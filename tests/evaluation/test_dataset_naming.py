"""Result tables and log keys name a test set by its dataset, and IASSF's test config reports
IASSF's metrics."""
import csv
import json

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

BASELINE = 'configs/conv_dehaze_fuser/conv_dehaze_fuser_synthetic-thermal.py'
IASSF_RELEASE_TEST = 'configs/iassf/iassf_official_iassf-msrs-test.py'
IASSF_EIGHT = {'MI', 'Qabf', 'Qcv', 'SCD', 'VIFF', 'SF', 'PI', 'NIQE'}


def _folder_dataset(root, n=2, size=(40, 48)):
    rng = np.random.default_rng(0)
    for i in range(n):
        clear = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
        hazy = (clear * 0.5 + 100).astype(np.uint8)
        ir = rng.integers(0, 256, size, dtype=np.uint8)
        for folder, img in (('vis', hazy), ('clear', clear), ('ir', ir)):
            (root / folder).mkdir(parents=True, exist_ok=True)
            assert cv2.imwrite(str(root / folder / f'{i:02d}.png'), img)


def test_swapped_test_set_names_the_table(tmp_path, repo_root, tool):
    """A config that inherits the synthetic test set (whose evaluators once carried
    prefix='synthetic') and swaps in a folder dataset reports under that dataset's name."""
    data = tmp_path / 'data'
    _folder_dataset(data)
    config = tmp_path / 'swapped.py'
    config.write_text(
        f"_base_ = [{str(repo_root / BASELINE)!r}]\n"
        "model = dict(network=dict(channels=8, dilations=[1, 2]))\n"
        "test_dataloader = dict(_delete_=True, batch_size=1, num_workers=0,\n"
        "    sampler=dict(type='DefaultSampler', shuffle=False),\n"
        f"    dataset=dict(type='PairedFusionDataset', data_root={str(data)!r}, layout='generic',\n"
        "                 dataset_name='foggy_town', test_mode=True,\n"
        "                 pipeline=[dict(type='LoadFusionImages'),\n"
        "                           dict(type='PackFusionInputs')]))\n")
    from mmhaze.registry import MODELS
    cfg = Config.fromfile(str(config))
    ckpt = tmp_path / 'random.pth'
    torch.save(dict(state_dict=MODELS.build(cfg.model).state_dict()), ckpt)
    out = tmp_path / 'metrics.json'
    rc = tool('test').main([str(config), str(ckpt), '--work-dir', str(tmp_path / 'work'),
                            '--out', str(out)])
    assert rc == 0
    run = next(p for p in (tmp_path / 'work').iterdir() if p.is_dir())
    summary = json.loads((run / 'summary.json').read_text())
    assert set(summary['results']) == {'foggy_town'}
    assert {r['dataset'] for r in csv.DictReader(open(run / 'per_image.csv'))} == {'foggy_town'}
    assert 'foggy_town/PSNR_ref' in json.loads(out.read_text())
    assert 'synthetic' not in (run / 'table.md').read_text()


def test_a_prefix_the_user_sets_still_names_the_set():
    from mmhaze.evaluation import ReferenceMetric
    from mmhaze.structures import FusionDataSample
    s = FusionDataSample(metainfo=dict(img_id='a', dataset_name='msrs'))
    s.pred_dehazed = s.gt_clear = s.vis = torch.rand(3, 16, 16)
    named, plain = ReferenceMetric(prefix='my_msrs'), ReferenceMetric()
    for metric in (named, plain):
        metric.process({}, [s.to_dict()])
    assert set(named.evaluate(1)) == {'my_msrs/PSNR_ref', 'my_msrs/SSIM_ref'}
    assert set(plain.evaluate(1)) == {'msrs/PSNR_ref', 'msrs/SSIM_ref'}
    assert {r['dataset'] for r in named.per_image_rows} == {'my_msrs'}


@pytest.mark.shared_data('niqe/niqe_modelparameters.mat', 'fade')
def test_iassf_release_config_reports_iassf_metrics(repo_root, shared_data):
    """The config that tests on the IASSF release applies IASSF's evaluator: the eight metrics
    of the paper (against the clear image) and PSNR/SSIM of the dehazed image."""
    from mmhaze.evaluation.functional.no_reference import check_pi_files
    from mmhaze.registry import METRICS
    from mmhaze.structures import FusionDataSample
    cfg = Config.fromfile(str(repo_root / IASSF_RELEASE_TEST))
    assert cfg.test_dataloader.dataset.layout == 'iassf'
    configured = {k for ev in cfg.test_evaluator for k in ev['metrics']}
    assert configured == IASSF_EIGHT | {'PSNR_ref', 'SSIM_ref'}
    fusion = next(ev for ev in cfg.test_evaluator if ev['type'] == 'FusionMetric')
    assert fusion['vis_key'] == 'gt_clear'
    try:
        check_pi_files()
        missing = set()
    except FileNotFoundError:  # PI's NRQM_model.mat cannot be had offline: score the others
        missing = {'PI'}
    gen = torch.Generator().manual_seed(0)
    s = FusionDataSample(metainfo=dict(img_id='00001', dataset_name='iassf_msrs'))
    s.gt_clear = torch.rand(3, 200, 208, generator=gen)
    s.vis = (s.gt_clear.data * 0.5 + 0.4).clamp(0, 1)
    s.ir = torch.rand(3, 200, 208, generator=gen)
    s.pred_fused = ((s.gt_clear.data + s.ir.data) / 2)
    s.pred_dehazed = (s.gt_clear.data * 0.9)
    reported = {}
    for ev in cfg.test_evaluator:
        ev = dict(ev, metrics=[m for m in ev['metrics'] if m not in missing])
        metric = METRICS.build(ev)
        metric.process({}, [s.to_dict()])
        reported.update(metric.evaluate(1))
    expected = (IASSF_EIGHT - missing) | {'PSNR_ref', 'SSIM_ref'}
    assert {k for k in reported if k.count('/') == 1} == {f'iassf_msrs/{k}' for k in expected}
    assert all(np.isfinite(v) for v in reported.values())
