"""tools/test.py on two-stage configs: no checkpoint argument (training-free and init_cfg
weights, said so in the meta), one table whose rows are the fused output, the dehazer's output
and the hazy input."""
import csv
import json

import pytest
from helpers import load_tool

TINY_TEST = ['test_dataloader.dataset.img_size=32', 'test_dataloader.dataset.num_samples=3',
             'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False']


def _run_dir(work):
    runs = [p for p in work.iterdir() if p.is_dir()]
    assert len(runs) == 1
    return runs[0]


def test_training_free_pipeline_without_checkpoint(repo_root, tool, tmp_path, capsys):
    rc = tool('test').main([str(repo_root / 'configs/two_stage/dcp_average_synthetic.py'),
                            '--work-dir', str(tmp_path), '--method-name', 'DCP+avg',
                            '--cfg-options', *TINY_TEST])
    assert rc == 0
    run = _run_dir(tmp_path)
    summary = json.loads((run / 'summary.json').read_text())
    meta = summary['meta']
    assert meta['checkpoint'] == 'no checkpoint: training-free / init_cfg weights'
    assert meta['weights'] == {'dehazer': 'DarkChannelPriorDehazer: training-free',
                               'fuser': 'AverageFusion: training-free'}
    rows = list(csv.DictReader(open(run / 'per_image.csv')))
    assert [r['method'] for r in rows].count('DCP+avg') == 3
    by_method = summary['results_by_method']
    assert set(by_method) == {'DCP+avg', 'dehazer output', 'hazy input'}
    for method in by_method:
        assert set(by_method[method]['synthetic']) == {'MI', 'Qabf', 'PSNR_ref', 'SSIM_ref'}
    # DCP dehazes: its output is closer to the clear image than the hazy input
    assert (by_method['dehazer output']['synthetic']['PSNR_ref'] >
            by_method['hazy input']['synthetic']['PSNR_ref'])
    table = (run / 'table.md').read_text()
    for row in ('| DCP+avg |', '| dehazer output |', '| hazy input |'):
        assert row in table
    assert '| DCP+avg |' in capsys.readouterr().out


@pytest.mark.shared_data('u2fusion/u2fusion_tf_weights.npz')
def test_released_u2fusion_loads_through_init_cfg(repo_root, tool, tmp_path, shared_data):
    converted = tmp_path / 'u2fusion_release.pth'
    assert load_tool('model_converters/u2fusion_tf_to_mmhaze').main(
        [str(shared_data / 'u2fusion/u2fusion_tf_weights.npz'), str(converted)]) == 0
    rc = tool('test').main([str(repo_root / 'configs/two_stage/dcp_u2fusion_synthetic.py'),
                            '--work-dir', str(tmp_path / 'run'), '--cfg-options', *TINY_TEST,
                            f'model.fuser.init_cfg.checkpoint={converted}'])
    assert rc == 0
    meta = json.loads((_run_dir(tmp_path / 'run') / 'summary.json').read_text())['meta']
    assert meta['weights']['fuser'] == f'U2FusionNet: init_cfg {converted}'


def test_untrained_networks_without_checkpoint_are_refused(repo_root, tool, tmp_path, capsys):
    config = repo_root / 'configs/two_stage/dehazeformer-t_u2fusion_synthetic.py'
    rc = tool('test').main([str(config), '--work-dir', str(tmp_path), '--cfg-options',
                            *TINY_TEST, 'model.dehazer.init_cfg=None'])
    assert rc == 2
    err = capsys.readouterr().err
    assert 'model.dehazer (DehazeFormer, 687,404 parameters)' in err
    assert 'random weights' in err and 'Traceback' not in err


def test_missing_init_cfg_file_is_one_line_naming_the_slot(repo_root, tool, tmp_path, capsys):
    config = repo_root / 'configs/two_stage/dcp_u2fusion_synthetic.py'
    rc = tool('test').main([str(config), '--work-dir', str(tmp_path), '--cfg-options',
                            *TINY_TEST, f'model.fuser.init_cfg.checkpoint={tmp_path}/no.pth'])
    assert rc == 2
    err = capsys.readouterr().err
    assert f'model.fuser.init_cfg.checkpoint: {tmp_path}/no.pth not found' in err
    assert 'Traceback' not in err
