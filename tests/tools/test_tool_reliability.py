"""tools/test.py and tools/infer.py: a checkpoint that does not fit, an unsafe checkpoint, bad
image files and images smaller than the model accepts are one line each; --out-dir is never
silently reused; --tile is refused for a model whose tiles differ unless --tile-approx, which
prints the drift; tiles show a bar; two runs of the same second keep both results (issue 11,
items 5, 7, 9, 10, 11, 12, 13)."""
import argparse
import json
import re
import shutil
import time

import cv2
import numpy as np
import pytest
import torch
from helpers import BASELINE_CONFIG as BASELINE
from helpers import TINY_TRAIN_OPTIONS, limit_file_size, run_in_child

TINY_MODEL = ['model.network.channels=8', 'model.network.dilations=[1,2]']
IASSF_TINY = 'configs/iassf/iassf_tiny_synthetic.py'
BAD_FILES = ('truncated', 'zero_byte', 'transparent', 'size_mismatch')


def _model_checkpoint(path, config, tiny=False):
    """The state dict of the baseline built from config (no training needed), saved safely."""
    from mmhaze.apis import load_config
    from mmhaze.registry import MODELS
    cfg = load_config(str(config))
    if tiny:  # TINY_MODEL
        cfg.model.network.channels, cfg.model.network.dilations = 8, [1, 2]
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    torch.save(dict(state_dict=model.state_dict(), meta=dict(iter=0)), path)
    return path


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory, repo_root):
    root = tmp_path_factory.mktemp('ckpts')
    full = _model_checkpoint(root / 'full.pth', repo_root / BASELINE)
    tiny = _model_checkpoint(root / 'tiny.pth', repo_root / BASELINE, tiny=True)
    state = torch.load(tiny, weights_only=True)['state_dict']
    renamed = root / 'renamed.pth'  # keys that match nothing: another model's checkpoint
    torch.save(dict(state_dict={f'other.{k}': v for k, v in state.items()}), renamed)
    unsafe = root / 'unsafe.pth'  # pickles a Python object: refused by weights_only
    torch.save(dict(state_dict=state, args=argparse.Namespace(lr=0.1)), unsafe)
    return dict(full=full, tiny=tiny, renamed=renamed, unsafe=unsafe)


def _test(tool, repo_root, ckpt, work, *extra):
    return tool('test').main([str(repo_root / BASELINE), str(ckpt), '--work-dir', str(work),
                              *extra, '--cfg-options', *TINY_TRAIN_OPTIONS])


def _one_error_line(err: str) -> str:
    assert 'Traceback' not in err
    lines = [line for line in err.splitlines() if line.startswith('error: ')]
    assert len(lines) == 1, err
    return lines[0]


# ------------------------------------------------------------------------------ item 5
def test_a_checkpoint_that_fits_nothing_is_refused(checkpoints, repo_root, tool, tmp_path,
                                                   capsys):
    """It used to exit 0 with a table of a random model (EN 4.02 vs 7.51)."""
    assert _test(tool, repo_root, checkpoints['renamed'], tmp_path / 'w') == 2
    line = _one_error_line(capsys.readouterr().err)
    # Nothing under the model's slots: the file is another model's (or an old layout's).
    assert line.startswith(f"error: {checkpoints['renamed']} does not fit the model: its "
                           "weights sit at ['other'], under none of the model's network slots "
                           "['network']: it is a checkpoint of another model")
    assert line.endswith('Is it a checkpoint of this config? tools/test.py --non-strict tests '
                         'the weights that fit (the tables then say so).')
    assert not list((tmp_path / 'w').glob('*/summary.json'))


def test_non_strict_tests_it_and_the_tables_say_so(checkpoints, repo_root, tool, tmp_path):
    assert _test(tool, repo_root, checkpoints['renamed'], tmp_path / 'w', '--non-strict') == 0
    (run,) = [p for p in (tmp_path / 'w').iterdir() if p.is_dir()]
    notes = json.loads((run / 'summary.json').read_text())['meta']['notes']
    assert notes[0].startswith('checkpoint loaded with --non-strict: ')
    assert "its weights sit at ['other']" in notes[0]
    assert f'- {notes[0]}' in (run / 'table.md').read_text()
    assert 'checkpoint loaded with --non-strict' in (run / 'table.tex').read_text()


# ------------------------------------------------------------------------------ item 9
def test_an_unsafe_checkpoint_is_one_line_with_the_hint(checkpoints, repo_root, tool, tmp_path,
                                                        capsys):
    assert _test(tool, repo_root, checkpoints['unsafe'], tmp_path / 'w') == 2
    line = _one_error_line(capsys.readouterr().err)
    assert line.startswith(f"error: {checkpoints['unsafe']} is not a weights_only-safe "
                           'checkpoint')
    assert 'load it with --unsafe-load' in line
    _write_pairs(tmp_path / 'data')
    rc = tool('infer').main([str(repo_root / BASELINE), str(checkpoints['unsafe']),
                             '--vis', str(tmp_path / 'data' / 'vis'),
                             '--ir', str(tmp_path / 'data' / 'ir'),
                             '--out-dir', str(tmp_path / 'o')])
    assert rc == 2 and 'not a weights_only-safe' in _one_error_line(capsys.readouterr().err)
    rc = tool('train').main([str(repo_root / BASELINE), '--work-dir', str(tmp_path / 't'),
                             '--resume', str(checkpoints['unsafe']),
                             '--cfg-options', *TINY_TRAIN_OPTIONS])
    assert rc == 2 and '--unsafe-load' in _one_error_line(capsys.readouterr().err)


# ------------------------------------------------------------------------------ item 7
def _write_pairs(root, bad=None):
    """``root/{vis,ir}``: two 32×32 pairs, the second made bad in the way ``bad`` names."""
    rng = np.random.default_rng(0)
    for i in range(2):
        (root / 'vis').mkdir(parents=True, exist_ok=True)
        (root / 'ir').mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(root / 'vis' / f'{i}.png'), rng.integers(0, 255, (32, 32, 3), np.uint8))
        cv2.imwrite(str(root / 'ir' / f'{i}.png'), rng.integers(0, 255, (32, 32), np.uint8))
    culprit = root / 'vis' / '1.png'
    if bad == 'truncated':
        culprit.write_bytes(culprit.read_bytes()[:60])
    elif bad == 'zero_byte':
        culprit.write_bytes(b'')
    elif bad == 'transparent':
        rgba = np.full((32, 32, 4), 200, np.uint8)
        rgba[0, 0, 3] = 0
        cv2.imwrite(str(culprit), rgba)
    elif bad == 'size_mismatch':
        cv2.imwrite(str(root / 'ir' / '1.png'), np.zeros((24, 32), np.uint8))
    return culprit


EXPECTED = {
    'truncated': 'error: cannot decode {vis}: truncated, corrupt or not an image; re-export it '
                 'or remove the pair',
    'zero_byte': 'error: empty file (0 bytes): {vis}; re-export it or remove the pair',
    'transparent': 'error: {vis} has transparent pixels (4-channel image with alpha); composite '
                   'it onto a background or save it without alpha',
    'size_mismatch': 'error: pair sizes differ: vis 32×32 ({vis}) vs ir 32×24 ({ir}); the images '
                     'of a pair must be pixel-registered: fix or remove the pair',
}
INFER_SIZES = 'error: vis 32×32 and ir 32×24 differ in size: {vis} / {ir}; the images of a pair ' \
              'must be pixel-registered'


def _folder_config(tmp_path, root, workers: int, config_base):
    """The baseline tested — and trained — on the pairs in ``root``."""
    config = tmp_path / f'folder_{workers}.py'
    loader = (f'dict(_delete_=True, batch_size=1, num_workers={workers}, '
              f'persistent_workers=False, sampler=dict(type="DefaultSampler", shuffle=False), '
              f'dataset=dict(type="PairedFusionDataset", data_root={str(root)!r}, '
              f'pipeline=[dict(type="LoadFusionImages"), dict(type="PackFusionInputs")]))')
    config.write_text(
        f'_base_ = [{str(config_base)!r}]\n'
        f'test_dataloader = {loader}\ntrain_dataloader = {loader}\n'
        f'test_evaluator = [dict(type="FusionMetric", metrics=["EN"])]\n')
    return config


@pytest.mark.parametrize('bad', BAD_FILES)
def test_bad_files_are_one_line_in_test_and_infer(bad, checkpoints, repo_root, tool, tmp_path,
                                                  capsys, monkeypatch):
    root = tmp_path / 'data'
    vis = _write_pairs(root, bad)
    ir = root / 'ir' / '1.png'
    expected = EXPECTED[bad].format(vis=vis, ir=ir)
    # Through a dataloader worker process (its traceback used to be 17–58 lines) for one kind.
    workers = 1 if bad == 'truncated' else 0
    config = _folder_config(tmp_path, root, workers, repo_root / BASELINE)
    rc = tool('test').main([str(config), str(checkpoints['tiny']), '--work-dir',
                            str(tmp_path / 'w'), '--cfg-options', *TINY_MODEL])
    assert rc == 2
    assert _one_error_line(capsys.readouterr().err) == expected
    if bad == 'transparent':  # the same file met in training (with the clear images it needs)
        (root / 'clear').mkdir()
        for name in ('0.png', '1.png'):
            shutil.copy(root / 'vis' / '0.png', root / 'clear' / name)
        rc = tool('train').main([str(config), '--work-dir', str(tmp_path / 't'),
                                 '--cfg-options', *TINY_MODEL, 'train_cfg.max_iters=2',
                                 'train_dataloader.batch_size=2'])  # the bad one in batch 1
        assert rc == 2
        assert _one_error_line(capsys.readouterr().err) == expected
    rc = tool('infer').main([str(repo_root / BASELINE), str(checkpoints['full']),
                             '--vis', str(root / 'vis'), '--ir', str(root / 'ir'),
                             '--out-dir', str(tmp_path / f'out_{bad}')])
    assert rc == 2
    line = _one_error_line(capsys.readouterr().err)
    assert line == (INFER_SIZES.format(vis=vis, ir=ir) if bad == 'size_mismatch' else expected)
    if bad == 'zero_byte':  # the traceback is one variable away
        from mmhaze.datasets.transforms import ImageReadError
        monkeypatch.setenv('MMHAZE_DEBUG', '1')
        with pytest.raises(ImageReadError, match='empty file'):
            tool('infer').main([str(repo_root / BASELINE), str(checkpoints['full']),
                                '--vis', str(root / 'vis'), '--ir', str(root / 'ir'),
                                '--out-dir', str(tmp_path / 'debug')])


# ------------------------------------------------------------------------------ items 11, 12
def test_infer_never_reuses_a_non_empty_out_dir_silently(checkpoints, repo_root, tool,
                                                         tmp_path, capsys):
    root = tmp_path / 'data'
    _write_pairs(root)
    out = tmp_path / 'out'
    mine = out / 'fused' / '0.png'
    mine.parent.mkdir(parents=True)
    mine.write_bytes(b'an earlier result')
    args = [str(repo_root / BASELINE), str(checkpoints['full']), '--vis', str(root / 'vis'),
            '--ir', str(root / 'ir'), '--out-dir', str(out)]
    assert tool('infer').main(args) == 2
    assert _one_error_line(capsys.readouterr().err) == (
        f'error: --out-dir {out} is not empty; choose a new folder, or pass --skip-existing '
        '(compute only the missing outputs) or --overwrite (replace them)')
    assert tool('infer').main(args + ['--skip-existing']) == 0
    assert mine.read_bytes() == b'an earlier result'  # kept
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob('*.png')) == [
        'dehazed/0.png', 'dehazed/1.png', 'fused/0.png', 'fused/1.png']
    assert tool('infer').main(args + ['--skip-existing']) == 0
    assert capsys.readouterr().out.count('skipped (outputs exist)') == 2
    assert tool('infer').main(args + ['--overwrite']) == 0
    assert cv2.imread(str(mine)).shape == (32, 32, 3)  # replaced by a real PNG


def test_tiled_inference_shows_a_progress_bar(checkpoints, repo_root, tool, tmp_path, capsys):
    rng = np.random.default_rng(0)
    cv2.imwrite(str(tmp_path / 'v.png'), rng.integers(0, 255, (64, 64, 3), np.uint8))
    cv2.imwrite(str(tmp_path / 'i.png'), rng.integers(0, 255, (64, 64), np.uint8))
    rc = tool('infer').main([str(repo_root / BASELINE), str(checkpoints['full']),
                             '--vis', str(tmp_path / 'v.png'), '--ir', str(tmp_path / 'i.png'),
                             '--out-dir', str(tmp_path / 'out'), '--tile', '32',
                             '--overlap', '16', '--tile-approx'])
    assert rc == 0
    err = capsys.readouterr().err
    assert 'v.png tiles' in err and '9/9' in err  # 3×3 tiles of 32 px, step 16


# ------------------------------------------------------------------------------ item 10
@pytest.fixture(scope='module')
def iassf_checkpoint(tmp_path_factory, repo_root):
    return _model_checkpoint(tmp_path_factory.mktemp('iassf') / 'iassf_tiny.pth',
                             repo_root / IASSF_TINY)


def test_an_image_smaller_than_the_model_accepts_is_one_line(iassf_checkpoint, repo_root, tool,
                                                             tmp_path, capsys, monkeypatch):
    """A 9×7 input died 90 lines deep in a reflect-padded conv ("Padding size should be less
    than the corresponding input dimension"); now the preprocessor refuses it, naming the file,
    its size and the model's minimum, before any network runs."""
    from mmhaze.models.task_models import DehazeFuseModel
    root = tmp_path / 'data'
    _write_pairs(root)
    small = root / 'vis' / '0.png'  # the first pair of the test set: nothing runs before it
    rng = np.random.default_rng(1)
    cv2.imwrite(str(small), rng.integers(0, 255, (7, 9, 3), np.uint8))
    cv2.imwrite(str(root / 'ir' / '0.png'), rng.integers(0, 255, (7, 9), np.uint8))
    expected = (f'error: {small} is 9×7 px (W×H): IASSF needs at least 9 px per side '
                '(min_input_size); enlarge or remove the image, or reflect-pad it up and crop '
                'the outputs back with pad_small=True in model.data_preprocessor (tools/test.py '
                '--cfg-options +model.data_preprocessor.pad_small=True; tools/infer.py '
                '--pad-small)')
    runs = []
    forward = DehazeFuseModel.forward_networks
    monkeypatch.setattr(DehazeFuseModel, 'forward_networks',
                        lambda self, *a, **k: runs.append(1) or forward(self, *a, **k))
    config = _folder_config(tmp_path, root, 0, repo_root / IASSF_TINY)
    test_args = [str(config), str(iassf_checkpoint), '--work-dir', str(tmp_path / 'w')]
    assert tool('test').main(test_args) == 2
    assert _one_error_line(capsys.readouterr().err) == expected
    infer_args = [str(repo_root / IASSF_TINY), str(iassf_checkpoint), '--vis',
                  str(root / 'vis'), '--ir', str(root / 'ir')]
    assert tool('infer').main(infer_args + ['--out-dir', str(tmp_path / 'o')]) == 2
    assert _one_error_line(capsys.readouterr().err) == expected
    assert runs == []
    # The opt-in: reflect-padded up to the minimum, outputs cropped back to 9×7.
    assert tool('infer').main(infer_args + ['--out-dir', str(tmp_path / 'p'),
                                            '--pad-small']) == 0
    assert cv2.imread(str(tmp_path / 'p' / 'fused' / '0.png')).shape == (7, 9, 3)
    assert cv2.imread(str(tmp_path / 'p' / 'dehazed' / '1.png')).shape == (32, 32, 3)
    assert tool('test').main(test_args + ['--cfg-options',
                                          '+model.data_preprocessor.pad_small=True']) == 0
    assert len(list((tmp_path / 'w').glob('*/summary.json'))) == 1


# ------------------------------------------------------------------------------ item 12
IASSF_TILE_REFUSAL = (
    "error: --tile: tiles of IASSF would not reproduce its whole-image output (IASSFRestorer: "
    "RescaleNorm (feature mean and std over the whole input), the haze density's min–max and "
    'the restoration prompt (global average pooling, prompt pool resized to the input size) '
    'are per image; PromptEmbeddingFusionUNet: RescaleNorm (feature mean and std over the whole '
    'input) and the fusion prompt (global average pooling, prompt pool resized to the input '
    'size) are per image); run without --tile, or pass --tile-approx to tile anyway (the drift '
    'is then measured on an overlapping crop and printed)')


def test_tile_is_refused_for_iassf_unless_approximate_which_prints_the_drift(
        iassf_checkpoint, repo_root, tool, tmp_path, capsys):
    """--tile on IASSF silently changed outputs by up to 34 grey levels (mean 2.9)."""
    rng = np.random.default_rng(0)
    cv2.imwrite(str(tmp_path / 'scene.png'), rng.integers(0, 255, (48, 64, 3), np.uint8))
    cv2.imwrite(str(tmp_path / 'scene_ir.png'), rng.integers(0, 255, (48, 64), np.uint8))
    out = tmp_path / 'out'
    args = [str(repo_root / IASSF_TINY), str(iassf_checkpoint), '--vis',
            str(tmp_path / 'scene.png'), '--ir', str(tmp_path / 'scene_ir.png'), '--out-dir',
            str(out), '--tile', '32', '--no-progress']
    assert tool('infer').main(args) == 2
    assert _one_error_line(capsys.readouterr().err) == IASSF_TILE_REFUSAL
    assert not out.exists()
    assert tool('infer').main(args + ['--tile-approx']) == 0
    drift, written = [line for line in capsys.readouterr().out.splitlines()
                      if line.startswith('scene: ')]
    # Tiles of 32 px overlapping by 16; the crop spans two of them along the longer side and
    # one across, centred.
    found = re.fullmatch(r'scene: tiling drift on the 48×32 crop at x=8, y=8 \(tiled vs whole '
                         r'crop\): dehazed max (\d+), mean (\d+\.\d\d); fused max (\d+), mean '
                         r'(\d+\.\d\d) grey levels', drift)
    assert found, drift
    assert int(found[1]) > 0 and float(found[2]) > 0  # the tiles do change the output
    assert written == f'scene: {out}/dehazed/scene.png, {out}/fused/scene.png'


# ------------------------------------------------------------------------------ item 13
def test_two_test_runs_of_the_same_second_keep_both_results(checkpoints, repo_root, tool,
                                                            tmp_path, monkeypatch):
    real = time.strftime
    monkeypatch.setattr(time, 'strftime', lambda fmt, *a: '20250101_000000'
                        if fmt == '%Y%m%d_%H%M%S' else real(fmt, *a))
    for _ in range(2):
        assert _test(tool, repo_root, checkpoints['tiny'], tmp_path / 'w') == 0
    runs = sorted(p.name for p in (tmp_path / 'w').iterdir() if p.is_dir())
    assert runs == ['20250101_000000', '20250101_000000_1']
    for run in runs:
        assert (tmp_path / 'w' / run / 'summary.json').is_file()
        assert (tmp_path / 'w' / run / f'{run}.log').is_file()


# ------------------------------------------------------------------------------ issue 19
def test_a_device_this_machine_lacks_is_one_line(checkpoints, repo_root, tool, tmp_path, capsys):
    """`infer.py --device cuda` without a GPU was a 42-line traceback."""
    if torch.cuda.is_available():
        pytest.skip('this machine has a CUDA device')
    _write_pairs(tmp_path / 'data')
    rc = tool('infer').main([str(repo_root / BASELINE), str(checkpoints['full']),
                             '--vis', str(tmp_path / 'data' / 'vis'),
                             '--ir', str(tmp_path / 'data' / 'ir'),
                             '--out-dir', str(tmp_path / 'o'), '--device', 'cuda'])
    assert rc == 2
    assert _one_error_line(capsys.readouterr().err) == (
        f'error: --device cuda: this machine has no CUDA device (PyTorch {torch.__version__} '
        'sees none); use --device cpu')
    assert not (tmp_path / 'o').exists()


def test_infer_on_a_full_disk_is_one_line(checkpoints, repo_root, tool, tmp_path):
    """It was a 27-line OSError traceback."""
    _write_pairs(tmp_path / 'data')
    out = tmp_path / 'o'

    def infer_on_a_full_disk():
        import mmhaze.utils.fileio as fileio
        write = fileio.atomic_write_bytes

        def write_on_a_full_disk(*args):  # the limit starts at the first output
            limit_file_size(1000)
            return write(*args)

        fileio.atomic_write_bytes = write_on_a_full_disk
        return tool('infer').main([str(repo_root / BASELINE), str(checkpoints['full']),
                                   '--vis', str(tmp_path / 'data' / 'vis'),
                                   '--ir', str(tmp_path / 'data' / 'ir'), '--out-dir', str(out)])

    status, err = run_in_child(tmp_path, infer_on_a_full_disk)
    assert status == 1
    assert _one_error_line(err) == (
        f'error: cannot write {out / "dehazed" / "0.png"}: File too large; nothing was written '
        'under that name (free some disk space or raise the file size limit (ulimit -f))')
    assert not [p for p in out.rglob('*') if p.is_file()]  # no partial PNG, no temporary


def test_a_work_dir_that_is_a_file_is_one_line(repo_root, tool, tmp_path, capsys):
    """`train.py --work-dir FILE` was a 28-line traceback."""
    taken = tmp_path / 'notes.txt'
    taken.write_text('mine')
    for work in (taken, taken / 'sub'):
        assert tool('train').main([str(repo_root / BASELINE), '--work-dir', str(work),
                                   '--cfg-options', *TINY_TRAIN_OPTIONS]) == 2
        line = _one_error_line(capsys.readouterr().err)
        assert line == (f'error: work dir {taken} is a file, not a folder' if work == taken
                        else f'error: work dir {work}: {taken} is a file, not a folder')
    assert taken.read_text() == 'mine'


def test_test_tool_options_it_cannot_use_are_one_line(checkpoints, iassf_checkpoint, repo_root,
                                                      tool, tmp_path, capsys):
    """An unknown metric in --cfg-options (46 lines, after the model was built) and a dict
    value (a RecursionError in mmengine's option parser, 43 lines)."""
    with pytest.raises(SystemExit) as exit_:  # the option parser stops the tool
        _test(tool, repo_root, checkpoints['tiny'], tmp_path / 'w', '--cfg-options',
              *TINY_TRAIN_OPTIONS, 'test_evaluator=[dict(type=FusionMetric,metrics=[MI,XYZ])]')
    assert exit_.value.code == 2
    assert _one_error_line(capsys.readouterr().err).startswith(
        'error: --cfg-options test_evaluator=[dict(type=FusionMetric,metrics=[MI,XYZ])]: a '
        'value cannot be a dict; ')
    options = [str(repo_root / IASSF_TINY), str(iassf_checkpoint), '--work-dir',
               str(tmp_path / 'w'), '--cfg-options', 'test_evaluator.1.metrics=[EN,XYZ]',
               'test_dataloader.num_workers=0']
    assert tool('test').main(options) == 2  # loader arguments torch refuses: the config check
    assert capsys.readouterr().err == (
        'error: invalid config:\n  config key `test_dataloader.persistent_workers`: True needs '
        'worker processes (test_dataloader.num_workers is 0): set it False too\n')
    rc = tool('test').main(options + ['test_dataloader.persistent_workers=False'])
    assert rc == 2
    from mmhaze.evaluation.functional.metric_registry import metric_keys
    assert _one_error_line(capsys.readouterr().err) == (
        f"error: test_evaluator: FusionMetric: 'XYZ' is unknown; FusionMetric computes "
        f"{metric_keys('fusion')}")
    option = f"+model.init_cfg=dict(type='Pretrained',checkpoint='{checkpoints['tiny']}')"
    with pytest.raises(SystemExit) as exit_:
        tool('test').main([str(repo_root / BASELINE), '--cfg-options', option])
    assert exit_.value.code == 2
    assert _one_error_line(capsys.readouterr().err) == (
        f'error: --cfg-options {option}: a value cannot be a dict; set each of its keys '
        'instead: model.init_cfg.KEY=VALUE (written +model.init_cfg.KEY=VALUE when the config '
        'does not have it yet)')


def test_a_model_level_pretrained_init_cfg_is_tested_with_its_weights(checkpoints, repo_root,
                                                                      tool, tmp_path):
    """test.py refused it as "would be tested with random weights"."""
    assert _test(tool, repo_root, checkpoints['tiny'], tmp_path / 'ckpt') == 0
    options = ['--cfg-options', *TINY_TRAIN_OPTIONS, '+model.init_cfg.type=Pretrained',
               f'+model.init_cfg.checkpoint={checkpoints["tiny"]}']
    assert tool('test').main([str(repo_root / BASELINE), '--work-dir', str(tmp_path / 'init'),
                              *options]) == 0
    (a,), (b,) = ((tmp_path / w).glob('*/summary.json') for w in ('ckpt', 'init'))
    a, b = json.loads(a.read_text()), json.loads(b.read_text())
    assert a['results'] == b['results']  # the same weights, to the last digit
    assert b['meta']['weights'] == {'network': f'ConvDehazeFuseNet: model.init_cfg '
                                               f'{checkpoints["tiny"]}'}


def test_profile_test_with_an_unsafe_checkpoint_is_one_line(checkpoints, repo_root, tool,
                                                            capsys):
    """It was a 26-line UnpicklingError traceback."""
    rc = tool('analysis_tools/profile_test').main([
        str(repo_root / BASELINE), str(checkpoints['unsafe']), '--cfg-options',
        *TINY_TRAIN_OPTIONS])
    assert rc == 2
    line = _one_error_line(capsys.readouterr().err)
    assert line.startswith(f"error: {checkpoints['unsafe']} is not a weights_only-safe "
                           'checkpoint: it pickles the Python global argparse.Namespace')
