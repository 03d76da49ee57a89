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


# ------------------------------------------------------------------------------ issue 19
def test_a_hazy_test_config_on_a_dataset_with_clear_images_is_one_line(repo_root, tool,
                                                                       tmp_path, capsys):
    """It was a 48-line traceback from the loading transform."""
    import cv2
    import numpy as np
    data = tmp_path / 'data'
    for folder, shape in (('vis', (32, 32, 3)), ('ir', (32, 32)), ('clear', (32, 32, 3))):
        (data / folder).mkdir(parents=True)
        cv2.imwrite(str(data / folder / '0.png'), np.full(shape, 100, np.uint8))
    config = tmp_path / 'hazy_test.py'
    config.write_text(
        f"_base_ = ['{repo_root / 'configs/two_stage/dcp_average_roadscene-test.py'}']\n"
        "test_evaluator = [dict(type='FusionMetric', metrics=['MI'], vis_key='gt_clear')]\n"
        f"test_dataloader = dict(num_workers=0, persistent_workers=False, dataset=dict("
        f"data_root='{data}', layout='generic'))\n")
    assert tool('test').main([str(config), '--work-dir', str(tmp_path / 'w')]) == 2
    err = capsys.readouterr().err
    assert 'Traceback' not in err and err.strip() == (
        f'error: {data / "vis" / "0.png"}: the pipeline reads it as a clear image to haze '
        '(LoadFusionImages vis_is_clear=True), but the dataset has a clear image for it '
        f'({data / "clear" / "0.png"}), so its visible images are hazy already: use a config '
        'whose pipeline has no vis_is_clear (nor SynthesizeHaze), or set data_prefix.clear=None '
        'to haze these images')


def test_an_init_cfg_naming_a_truncated_checkpoint_is_one_line(repo_root, tool, tmp_path,
                                                               capsys):
    """It was a 38-line traceback ending in "unexpected EOF"."""
    import torch
    full = tmp_path / 'full.pth'
    torch.save(dict(state_dict={'fuser.x': torch.zeros(1000)}), full)
    cut = tmp_path / 'cut.pth'
    cut.write_bytes(full.read_bytes()[:1500])
    config = repo_root / 'configs/two_stage/dcp_u2fusion_synthetic.py'
    rc = tool('test').main([str(config), '--work-dir', str(tmp_path / 'w'), '--cfg-options',
                            *TINY_TEST, f'model.fuser.init_cfg.checkpoint={cut}'])
    assert rc == 2
    err = capsys.readouterr().err
    assert 'Traceback' not in err and err.strip().startswith(
        f'error: model.fuser.init_cfg.checkpoint: cannot read {cut} as a PyTorch checkpoint (')
    assert err.strip().endswith('the file is truncated, corrupt or not a checkpoint; copy or '
                                'export it again')


def test_a_stage_training_a_frozen_network_is_refused_before_training(repo_root, tool,
                                                                      tmp_path, capsys):
    config = repo_root / 'configs/two_stage/dehazeformer-tiny_u2fusion-tiny_staged_synthetic.py'
    rc = tool('train').main([str(config), '--work-dir', str(tmp_path / 'w'), '--cfg-options',
                             '+model.fuser.frozen=True'])
    assert rc == 2
    assert capsys.readouterr().err.splitlines() == [
        'error: invalid config:',
        "  config key `model.stages[1].train`: 'fuser' is frozen (frozen=True) and never trains",
        "  config key `model.stages[2].train`: 'fuser' is frozen (frozen=True) and never trains"]
    assert not (tmp_path / 'w').exists()
