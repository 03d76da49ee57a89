"""MultiTestLoop / MultiValLoop: several datasets, one evaluator each, prefixed keys."""
import pytest
import torch
from helpers import BASELINE_CONFIG as BASELINE
from mmengine.config import Config


def _loader(seed, num=2, size=48):
    return dict(batch_size=1, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
                dataset=dict(type='SyntheticFusionDataset', num_samples=num, img_size=size,
                             seed=seed, modality='thermal', test_mode=True,
                             pipeline=[dict(type='PackFusionInputs')]))


def _evaluator(prefix):
    return [dict(type='FusionMetric', metrics=['EN', 'MI', 'VIF'], prefix=prefix),
            dict(type='ReferenceMetric', prefix=prefix)]


def _runner(tmp_path, repo_root, stage, loaders, evaluators):
    from mmhaze.apis import build_runner
    cfg = Config.fromfile(str(repo_root / BASELINE))
    cfg.work_dir = str(tmp_path)
    cfg.model.network.channels = 8
    cfg.model.network.dilations = [1, 2]
    cfg.visualizer.vis_backends = []
    cfg.default_hooks.logger.interval = 1
    cfg[f'{stage}_dataloader'] = loaders
    cfg[f'{stage}_evaluator'] = evaluators
    cfg[f'{stage}_cfg'] = dict(type='MultiTestLoop' if stage == 'test' else 'MultiValLoop')
    return build_runner(cfg)


def test_multi_test_loop_runs_every_dataset(tmp_path, repo_root):
    runner = _runner(tmp_path, repo_root, 'test', [_loader(1000), _loader(2000, num=3)],
                     [_evaluator('setA'), _evaluator('setB')])
    seen = []
    original = runner.call_hook

    def spy(name, **kwargs):
        seen.append(name)
        return original(name, **kwargs)

    runner.call_hook = spy
    metrics = runner.test()
    assert {k.split('/')[0] for k in metrics} == {'setA', 'setB'}
    assert {'setA/EN', 'setA/MI', 'setA/VIF', 'setA/PSNR_ref', 'setB/SSIM_ref'} <= set(metrics)
    assert seen.count('after_test_iter') == 5 and seen.count('after_test_epoch') == 1
    loop = runner.test_loop
    assert len(loop.evaluators) == 2 and len(loop.dataloaders) == 2
    fusion_b = loop.evaluators[1].metrics[0]
    assert [r['dataset'] for r in fusion_b.per_image_rows] == ['setB'] * 3
    mean_en = sum(r['EN'] for r in fusion_b.per_image_rows) / 3
    assert metrics['setB/EN'] == pytest.approx(mean_en)
    assert 0 < metrics['setA/EN'] <= 8 and torch.isfinite(torch.tensor(metrics['setA/VIF']))


def test_multi_val_loop_and_bad_configs(tmp_path, repo_root):
    runner = _runner(tmp_path / 'a', repo_root, 'val', [_loader(1000), _loader(2000)],
                     [_evaluator('setA'), _evaluator('setB')])
    runner._train_loop = None
    metrics = runner.val_loop.run()
    assert {'setA/EN', 'setB/EN'} <= set(metrics)
    mismatch = _runner(tmp_path / 'b', repo_root, 'test', [_loader(1000), _loader(2000)],
                       [_evaluator('setA')])
    with pytest.raises(ValueError, match='one evaluator'):
        mismatch.test()
    clash = _runner(tmp_path / 'c', repo_root, 'test', [_loader(1000), _loader(2000)],
                    [_evaluator('same'), _evaluator('same')])
    with pytest.raises(ValueError, match='own prefix'):
        clash.test()
