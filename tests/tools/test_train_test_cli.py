"""tools/train.py → checkpoint → --resume → tools/test.py, in-process, on 32 px scenes."""
import csv
import json

import pytest
import torch
from helpers import BASELINE_CONFIG as BASELINE


@pytest.fixture(scope='module')
def trained(tmp_path_factory, repo_root):
    """One 4-iteration training run shared by the tests of this module."""
    from helpers import TINY_TRAIN_OPTIONS, load_tool
    work = tmp_path_factory.mktemp('train')
    rc = load_tool('train').main([str(repo_root / BASELINE), '--work-dir', str(work),
                                  '--cfg-options', *TINY_TRAIN_OPTIONS])
    assert rc == 0
    return work


def test_train_writes_weights_only_safe_checkpoints(trained):
    assert (trained / 'iter_4.pth').is_file() and (trained / 'iter_2.pth').is_file()
    # Plain torch.load with weights_only=True: no pickled mmengine objects inside.
    ckpt = torch.load(trained / 'iter_4.pth', weights_only=True)
    assert ckpt['meta']['iter'] == 4
    assert 'train/loss' in ckpt['message_hub']['log_scalars']
    assert (trained / 'last_checkpoint').read_text().strip().endswith('iter_4.pth')


def test_resume_continues_from_the_checkpoint(trained, tmp_path, repo_root, tool):
    import shutil

    from mmengine.runner import Runner
    work = tmp_path / 'resume'
    shutil.copytree(trained, work)
    seen = {}
    original_train = Runner.train

    def spy_train(self):
        model = original_train(self)
        seen['iter'] = self.iter
        seen['loss_history'] = self.message_hub.get_scalar('train/loss').data[0].copy()
        return model

    options = [o for o in __import__('helpers').TINY_TRAIN_OPTIONS
               if not o.startswith(('train_cfg.max_iters', 'param_scheduler'))]
    options += ['train_cfg.max_iters=6', 'param_scheduler.0.T_max=6', 'param_scheduler.0.end=6']
    Runner.train = spy_train
    try:
        rc = tool('train').main([str(repo_root / BASELINE), '--work-dir', str(work), '--resume',
                                 '--cfg-options', *options])
    finally:
        Runner.train = original_train
    assert rc == 0
    assert seen['iter'] == 6
    # 4 losses restored from the checkpoint's message hub + 2 new ones.
    assert len(seen['loss_history']) == 6
    assert (work / 'iter_6.pth').is_file()


def test_test_tool_writes_the_result_run_folder(trained, tmp_path, repo_root, tool, capsys):
    out_json = tmp_path / 'metrics.json'
    preds = tmp_path / 'preds'
    rc = tool('test').main([str(repo_root / BASELINE), str(trained / 'iter_4.pth'),
                            '--work-dir', str(tmp_path / 'test'), '--out', str(out_json),
                            '--save-preds', str(preds), '--show-dir', str(tmp_path / 'grids'),
                            '--method-name', 'tiny',
                            '--cfg-options', *__import__('helpers').TINY_TRAIN_OPTIONS])
    assert rc == 0
    run_dirs = [p for p in (tmp_path / 'test').iterdir() if p.is_dir()]
    assert len(run_dirs) == 1
    run = run_dirs[0]
    for name in ('per_image.csv', 'summary.json', 'table.md', 'table.tex', 'table.csv'):
        assert (run / name).is_file(), name
    rows = list(csv.DictReader(open(run / 'per_image.csv')))
    assert {r['method'] for r in rows} == {'tiny', 'hazy input'}
    assert len(rows) == 6  # 3 test images × (model, hazy input)
    summary = json.loads((run / 'summary.json').read_text())
    assert set(summary['results']['synthetic']) == {'PSNR_ref', 'SSIM_ref'}
    mean_psnr = sum(float(r['PSNR_ref']) for r in rows if r['method'] == 'tiny') / 3
    assert summary['results']['synthetic']['PSNR_ref'] == pytest.approx(mean_psnr)
    metrics = json.loads(out_json.read_text())
    assert metrics['synthetic/PSNR_ref'] == pytest.approx(mean_psnr)
    assert '| tiny |' in capsys.readouterr().out
    assert len(list((preds / 'synthetic' / 'fused').glob('*.png'))) == 3
    assert len(list((preds / 'synthetic' / 'dehazed').glob('*.png'))) == 3
    assert len(list((tmp_path / 'grids' / 'synthetic').glob('*.png'))) == 3

    # Results are never overwritten: the same --out again is refused before anything runs.
    rc = tool('test').main([str(repo_root / BASELINE), str(trained / 'iter_4.pth'),
                            '--out', str(out_json)])
    assert rc == 2
    assert 'already exists' in capsys.readouterr().err


def test_tools_report_bad_input_in_one_line(repo_root, tool, capsys, tmp_path):
    assert tool('train').main([str(tmp_path / 'missing.py')]) == 2
    assert 'config file not found' in capsys.readouterr().err
    rc = tool('train').main([str(repo_root / BASELINE), '--cfg-options',
                             'model.type=ConvDehazeFusr'])
    assert rc == 2
    err = capsys.readouterr().err
    assert "`model.type`" in err and "did you mean 'ConvDehazeFuser'" in err
    assert 'Traceback' not in err
    assert tool('test').main([str(repo_root / BASELINE), str(tmp_path / 'no.pth')]) == 2
    assert 'checkpoint not found' in capsys.readouterr().err
    rc = tool('train').main([str(repo_root / BASELINE), '--resume', str(tmp_path / 'no.pth')])
    assert rc == 2
    assert '--resume: checkpoint not found' in capsys.readouterr().err


def test_train_flags(repo_root, tool, capsys):
    if not torch.cuda.is_available():
        assert tool('train').main([str(repo_root / BASELINE), '--amp']) == 2
        assert 'needs a CUDA device' in capsys.readouterr().err
    from mmhaze.apis import enable_auto_scale_lr, load_config
    cfg = load_config(str(repo_root / BASELINE))
    enable_auto_scale_lr(cfg)
    assert cfg.auto_scale_lr.enable is True and cfg.auto_scale_lr.base_batch_size == 8
