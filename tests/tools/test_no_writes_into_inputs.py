"""No tool writes inside a folder it reads (train/test/infer/eval_folder/make_hazy share
``refuse_writes_into_inputs``), and an output file that cannot be created is refused before the
work that produces it (issue 19, items 4 and 6; test.py --out under a file)."""
import hashlib

import cv2
import numpy as np
import pytest
from helpers import BASELINE_CONFIG as BASELINE
from helpers import TINY_TRAIN_OPTIONS

TINY_MODEL = ['model.network.channels=8', 'model.network.dilations=[1,2]']


def _one_error_line(err: str) -> str:
    assert 'Traceback' not in err, err
    lines = [line for line in err.splitlines() if line.startswith('error: ')]
    assert len(lines) == 1, err
    return lines[0]


def _images(folder, n=2, channels=3):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(len(str(folder)))
    shape = (32, 32, channels) if channels > 1 else (32, 32)
    for i in range(n):
        cv2.imwrite(str(folder / f'{i}.png'), rng.integers(0, 255, shape, np.uint8))


def _digests(folder) -> dict:
    return {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory, repo_root):
    import torch

    from mmhaze.apis import load_config
    from mmhaze.registry import MODELS
    cfg = load_config(str(repo_root / BASELINE))
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp('ckpt') / 'full.pth'
    torch.save(dict(state_dict=MODELS.build(cfg.model).state_dict(), meta=dict(iter=0)), path)
    return path


# ------------------------------------------------------------------------------ item 4
def test_infer_never_writes_over_its_inputs(checkpoint, repo_root, tool, tmp_path, capsys):
    """--overwrite with --vis D/dehazed and --out-dir D replaced the input images."""
    data = tmp_path / 'D'
    _images(data / 'dehazed')
    _images(data / 'ir', channels=1)
    before = _digests(data / 'dehazed')
    rc = tool('infer').main([str(repo_root / BASELINE), str(checkpoint),
                             '--vis', str(data / 'dehazed'), '--ir', str(data / 'ir'),
                             '--out-dir', str(data), '--overwrite'])
    assert rc == 2
    assert _one_error_line(capsys.readouterr().err) == (
        f'error: the dehazed/ folder of --out-dir {data / "dehazed"} is --vis {data / "dehazed"}, '
        'which this run reads; mmhaze never writes into its inputs: choose an output outside it')
    assert _digests(data / 'dehazed') == before
    # One input file inside a folder the run writes: refused as well.
    rc = tool('infer').main([str(repo_root / BASELINE), str(checkpoint),
                             '--vis', str(data / 'dehazed' / '0.png'),
                             '--ir', str(data / 'ir' / '0.png'), '--out-dir', str(data),
                             '--overwrite'])
    assert rc == 2
    assert 'holds --vis' in _one_error_line(capsys.readouterr().err)
    assert _digests(data / 'dehazed') == before
    # Inputs beside the outputs are fine: D/{vis,ir} in, D/{dehazed,fused} out.
    (data / 'dehazed').rename(data / 'vis')
    assert tool('infer').main([str(repo_root / BASELINE), str(checkpoint),
                               '--vis', str(data / 'vis'), '--ir', str(data / 'ir'),
                               '--out-dir', str(data), '--overwrite']) == 0
    assert sorted(p.name for p in (data / 'fused').iterdir()) == ['0.png', '1.png']
    assert _digests(data / 'vis') == before


# ------------------------------------------------------------------------------ item 6
def test_test_tool_refuses_a_work_dir_or_output_inside_its_dataset(checkpoint, repo_root,
                                                                   tool, tmp_path, capsys):
    data = tmp_path / 'D'
    _images(data / 'vis')
    _images(data / 'ir', channels=1)
    before = _digests(data / 'vis')
    common = ['--cfg-options', *TINY_TRAIN_OPTIONS,
              f'+test_dataloader.dataset.data_root={data}']
    rc = tool('test').main([str(repo_root / BASELINE), str(checkpoint), '--work-dir',
                            str(data / 'vis'), *common])
    assert rc == 2
    assert _one_error_line(capsys.readouterr().err) == (
        f'error: work dir {data / "vis"} is inside test_dataloader.dataset.data_root {data}, '
        'which this run reads; mmhaze never writes into its inputs: choose an output outside it')
    assert _digests(data / 'vis') == before  # no run folder, no dumped config
    rc = tool('test').main([str(repo_root / BASELINE), str(checkpoint), '--work-dir',
                            str(tmp_path / 'w'), '--save-preds', str(data / 'preds'), *common])
    assert rc == 2
    assert _one_error_line(capsys.readouterr().err).startswith(
        f'error: --save-preds {data / "preds"} is inside test_dataloader.dataset.data_root')
    assert sorted(p.name for p in data.iterdir()) == ['ir', 'vis']
    # A training's work dir inside its data: refused the same way.
    rc = tool('train').main([str(repo_root / BASELINE), '--work-dir', str(data / 'work'),
                             '--cfg-options', *TINY_TRAIN_OPTIONS,
                             f'+train_dataloader.dataset.data_root={data}'])
    assert rc == 2
    assert _one_error_line(capsys.readouterr().err).startswith(
        f'error: work dir {data / "work"} is inside train_dataloader.dataset.data_root {data}')


def test_eval_folder_never_writes_into_its_fused_input(tool, tmp_path, capsys):
    for name, channels in (('ir', 1), ('vis', 3), ('fused', 3)):
        _images(tmp_path / name, channels=channels)
    before = _digests(tmp_path / 'fused')
    rc = tool('analysis_tools/eval_folder').main([
        '--ir', str(tmp_path / 'ir'), '--vis', str(tmp_path / 'vis'), '--fused',
        str(tmp_path / 'fused'), '--metrics', 'EN', '--work-dir', str(tmp_path / 'fused')])
    assert rc == 2
    assert _one_error_line(capsys.readouterr().err) == (
        f'error: --work-dir {tmp_path / "fused"} is --fused {tmp_path / "fused"}, which this run '
        'reads; mmhaze never writes into its inputs: choose an output outside it')
    assert _digests(tmp_path / 'fused') == before


# ------------------------------------------------------------------------------ test.py --out
def test_an_out_file_that_cannot_be_created_is_refused_before_the_test(checkpoint, repo_root,
                                                                       tool, tmp_path,
                                                                       capsys):
    """`--out user.json/m.json` failed with a 19-line traceback after the whole test ran."""
    (tmp_path / 'user.json').write_text('{}')
    out = tmp_path / 'user.json' / 'm.json'
    rc = tool('test').main([str(repo_root / BASELINE), str(checkpoint), '--work-dir',
                            str(tmp_path / 'w'), '--out', str(out), '--cfg-options',
                            *TINY_TRAIN_OPTIONS])
    assert rc == 2
    assert _one_error_line(capsys.readouterr().err) == (
        f'error: --out {out}: {tmp_path / "user.json"} is a file, not a folder')
    assert not (tmp_path / 'w').exists()  # refused before the runner was built
