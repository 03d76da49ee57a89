"""eval_folder.py says what it cannot score instead of averaging over fewer images, and reads a
16-bit IR image by the datasets' rule (issue 11, items 3 and 4)."""
import json
import math

import cv2
import numpy as np
import pytest


def _png(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    img = array[..., ::-1] if array.ndim == 3 else array
    assert cv2.imwrite(str(path), np.ascontiguousarray(img))
    return path


@pytest.fixture
def folders(tmp_path):
    """Three 48×48 pairs with fused images: vis/ ir/ fused/."""
    rng = np.random.default_rng(0)
    for i in range(3):
        vis = cv2.GaussianBlur(rng.integers(0, 256, (48, 48, 3), dtype=np.uint8), (5, 5), 1)
        ir = cv2.GaussianBlur(rng.integers(0, 256, (48, 48), dtype=np.uint8), (5, 5), 1)
        _png(tmp_path / 'vis' / f'0{i}.png', vis)
        _png(tmp_path / 'ir' / f'0{i}.png', ir)
        fused = ((vis.astype(np.float32) + ir[..., None]) / 2).round().astype(np.uint8)
        _png(tmp_path / 'fused' / f'0{i}.png', fused)
    return tmp_path


def _run(tool, root, *extra, metrics=('EN', 'MI')):
    args = ['--ir', str(root / 'ir'), '--vis', str(root / 'vis'), '--fused', str(root / 'fused'),
            '--metrics', *metrics, '--work-dir', str(root / 'out'), *extra]
    return tool('analysis_tools/eval_folder').main(args)


def _run_dir(root):
    (run,) = [p for p in (root / 'out').iterdir() if p.is_dir()]
    return run


def test_a_pair_without_fused_image_is_an_error_naming_both(folders, tool, capsys):
    (folders / 'fused' / '02.png').unlink()
    assert _run(tool, folders) == 2
    err = capsys.readouterr().err
    assert err == (f'error: {folders / "ir" / "02.png"} has no partner named 02.* in --fused '
                   f'{folders / "fused"} (--allow-missing leaves such images out, and the '
                   'tables count them)\n')
    assert not (folders / 'out').exists()


def test_allow_missing_counts_and_lists_what_it_left_out(folders, tool, monkeypatch):
    import mmengine.logging
    log = []
    monkeypatch.setattr(mmengine.logging, 'print_log', lambda msg, **kw: log.append(msg))
    (folders / 'fused' / '02.png').unlink()
    assert _run(tool, folders, '--allow-missing') == 0
    # (mmengine also logs the metric registry's first import when this test runs first.)
    assert [m for m in log if 'registry' not in m] == [
        f'--allow-missing: left out 02: {folders / "ir" / "02.png"} has no partner named 02.* '
        f'in --fused {folders / "fused"}']
    run = _run_dir(folders)
    summary = json.loads((run / 'summary.json').read_text())
    assert summary['image_counts'] == {'method': {'folder': {'N': 2, 'EN': 2, 'MI': 2}}}
    assert [(d['image'], d['dataset']) for d in summary['dropped']] == [('02', 'folder')]
    assert 'has no partner named 02.*' in summary['dropped'][0]['reason']
    table = (run / 'table.md').read_text()
    assert table.startswith('| method | N | EN↑ | MI↑ |\n|---|---:|---:|---:|\n| method | 2 |')
    assert ('- 1 image(s) left out of the means (N counts the others): folder/02; the reasons '
            'are in summary.json "dropped"') in table
    assert (run / 'per_image.csv').read_text().splitlines()[0] == 'dataset,method,image,EN,MI'


def test_size_mismatch_is_an_error_naming_both_files(folders, tool, capsys):
    _png(folders / 'fused' / '01.png', np.zeros((32, 48, 3), np.uint8))
    assert _run(tool, folders) == 2
    assert capsys.readouterr().err == (
        f'error: image sizes differ: {folders / "fused" / "01.png"} is 48×32 but '
        f'{folders / "ir" / "01.png"} is 48×48 (W×H); fused and source images must be '
        'pixel-registered\n')
    assert _run(tool, folders, '--skip-errors') == 0
    summary = json.loads((_run_dir(folders) / 'summary.json').read_text())
    assert summary['image_counts']['method']['folder']['N'] == 2
    assert [d['image'] for d in summary['dropped']] == ['01']


def test_a_metric_failing_on_an_image_stops_the_run_with_its_key(folders, tool, capsys):
    # VIF needs 41×41 pixels: one small triple fails it.
    for name in ('vis', 'ir', 'fused'):
        _png(folders / name / '09.png', np.full((24, 24, 3), 128, np.uint8))
    assert _run(tool, folders, metrics=('EN', 'VIF')) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: FusionMetric: VIF failed on image '09' "
                          f"({folders / 'vis' / '09.png'}): ValueError: ")
    assert len(err.splitlines()) == 1
    assert _run(tool, folders, '--skip-errors', metrics=('EN', 'VIF')) == 0
    run = _run_dir(folders)
    summary = json.loads((run / 'summary.json').read_text())
    # 09 was scored (its failure is FusionMetric's, which computes EN and VIF together): N
    # counts it, and the note says which keys lack it.
    assert summary['image_counts']['method']['folder'] == {'N': 4, 'EN': 3, 'VIF': 3}
    assert [(d['image'], d['metric'], d['keys']) for d in summary['dropped']] == [
        ('09', 'FusionMetric', ['EN', 'VIF'])]
    table = (run / 'table.md').read_text()
    assert '| method | N | EN↑ | VIF↑ |' in table
    reason = summary['dropped'][0]['reason']
    assert (f'- EN, VIF not computed on 1 of the 4 images (folder/09): {reason} — their means '
            'cover the other 3\n') in table


def _small_folders(root, size):
    rng = np.random.default_rng(0)
    for i in range(3):
        for name, shape in (('vis', (size, size, 3)), ('ir', (size, size)),
                            ('fused', (size, size, 3))):
            _png(root / name / f'0{i}.png', rng.integers(0, 256, shape, dtype=np.uint8))
    return root


# NIQE needs 192×192 pixels, VIF 41×41: on smaller images each fails on every image. EN is in
# NoReferenceMetric's run a column of its own; with VIF it is in the same FusionMetric, which
# fails as a whole: both columns are then n/a.
@pytest.mark.parametrize('failing, size, na_keys, reason', [
    pytest.param('NIQE', 64, ['NIQE'], "NoReferenceMetric: NIQE failed on image '00' ({}): "
                 'ValueError: NIQE needs images of at least 192×192 pixels (two scales of 96×96 '
                 'blocks), got 64×64 after a 0-pixel border crop',
                 marks=pytest.mark.shared_data('niqe/niqe_modelparameters.mat'), id='NIQE'),
    pytest.param('VIF', 32, ['EN', 'VIF'], "FusionMetric: VIF failed on image '00' ({}): "
                 'ValueError: ', id='VIF'),
])
def test_a_metric_failing_on_every_image_is_a_column_of_na_with_its_reason(
        failing, size, na_keys, reason, tmp_path, tool, capsys):
    """`--metrics EN NIQE --skip-errors` on 64×64 images dropped the NIQE column and showed
    `N = 3` above a note saying that 3 images were left out (issue 19, item 10)."""
    folders = _small_folders(tmp_path, size)
    assert _run(tool, folders, '--skip-errors', metrics=('EN', failing)) == 0
    run = _run_dir(folders)
    summary = json.loads((run / 'summary.json').read_text())
    assert summary['image_counts'] == {'method': {'folder': {
        'N': 3, 'EN': 0 if 'EN' in na_keys else 3, failing: 0}}}
    results = summary['results']['folder']
    assert [k for k in ('EN', failing) if results[k] is None] == na_keys
    dropped = summary['dropped']
    assert [(d['image'], d['keys']) for d in dropped] == [(f'0{i}', na_keys) for i in range(3)]
    assert dropped[0]['reason'].startswith(
        'MetricComputeError: ' + reason.format(folders / 'vis' / '00.png'))
    note = (f'{", ".join(na_keys)} not computed on any of the 3 images (folder/00, folder/01, '
            f'folder/02): {dropped[0]["reason"]} — n/a in the table; each image\'s reason is '
            'in summary.json "dropped"')
    assert summary['meta']['notes'] == [note]
    en = 'n/a' if 'EN' in na_keys else f'{results["EN"]:.4f}'
    direction = {'NIQE': '↓', 'VIF': '↑'}[failing]
    printed = capsys.readouterr().out
    table = printed[printed.index('| method |'):]
    assert table.split('\n')[:3] == [
        f'| method | N | EN↑ | {failing}{direction} |', '|---|---:|---:|---:|',
        f'| method | 3 | {en} | n/a |']
    assert table.endswith(f'- {note}\n\n')
    assert (run / 'table.md').read_text().endswith(f'- {note}\n')
    assert (run / 'per_image.csv').read_text().splitlines()[0] == \
        f'dataset,method,image,EN,{failing}'


def test_16bit_ir_is_read_by_the_datasets_rule_with_one_warning(folders, tool):
    from mmhaze.datasets.transforms.loading import normalize_uint16
    rng = np.random.default_rng(1)
    raw = {}
    for i in range(3):  # raw thermal counts far below 65535, as cameras store them
        counts = (3000 + 2000 * rng.random((48, 48))).astype(np.uint16)
        _png(folders / 'ir' / f'0{i}.png', counts)
        raw[i] = counts
    with pytest.warns(UserWarning, match=r'16-bit IR image .*00\.png: normalised to \[0, 1\] by '
                                         r"the \{'mode': 'percentile'") as record:
        assert _run(tool, folders) == 0
    assert sum('16-bit IR image' in str(w.message) for w in record) == 1  # one warning
    got = json.loads((_run_dir(folders) / 'summary.json').read_text())['results']['folder']['MI']
    # The same images with the IR normalised as PairedFusionDataset does, stored as 8 bits.
    rule = dict(mode='percentile', low=1.0, high=99.0)
    for i, counts in raw.items():
        unit = normalize_uint16(counts, rule, 'ir')
        _png(folders / 'ir8' / f'0{i}.png', np.round(unit * 255).astype(np.uint8))
    args = ['--ir', str(folders / 'ir8'), '--vis', str(folders / 'vis'), '--fused',
            str(folders / 'fused'), '--metrics', 'MI', '--work-dir', str(folders / 'out8')]
    assert tool('analysis_tools/eval_folder').main(args) == 0
    (run8,) = (folders / 'out8').iterdir()
    expected = json.loads((run8 / 'summary.json').read_text())['results']['folder']['MI']
    assert got == pytest.approx(expected, rel=1e-12)
    # /65535 (what eval_folder used to do) gives another number.
    assert not math.isclose(got, _mi_full_range(tool, folders), rel_tol=1e-3)


def _mi_full_range(tool, root):
    args = ['--ir', str(root / 'ir'), '--vis', str(root / 'vis'), '--fused', str(root / 'fused'),
            '--metrics', 'MI', '--uint16-norm', 'full', '--work-dir', str(root / 'outfull')]
    assert tool('analysis_tools/eval_folder').main(args) == 0
    (run,) = (root / 'outfull').iterdir()
    return json.loads((run / 'summary.json').read_text())['results']['folder']['MI']


def test_a_mean_over_fewer_images_is_counted_in_the_tables(tmp_path):
    from mmhaze.evaluation.result_tables import write_run_folder
    rows = [dict(dataset='d', method='m', image='a', EN=7.0, MI=float('nan')),
            dict(dataset='d', method='m', image='b', EN=5.0, MI=3.0)]
    paths = write_run_folder(str(tmp_path / 'run'), rows, {}, {}, {'EN': '↑', 'MI': '↑'})
    summary = json.loads((tmp_path / 'run' / 'summary.json').read_text())
    assert summary['results'] == {'d': {'EN': 6.0, 'MI': 3.0}}
    assert summary['image_counts'] == {'m': {'d': {'N': 2, 'EN': 2, 'MI': 1}}}
    assert paths['markdown'] == (
        '| method | N | EN↑ | MI↑ |\n|---|---:|---:|---:|\n| m | 2 | 6.0000 | 3.0000 |\n\n'
        '- m on d: MI averaged over 1 of 2 images (NaN values left out)\n')
    # Complete rows: no N column, no note.
    full = write_run_folder(str(tmp_path / 'full'), rows[1:], {}, {}, {'EN': '↑'})
    assert full['markdown'].startswith('| method | EN↑ | MI |')


def test_the_run_announces_its_image_sizes_to_the_compile_rule(folders, tool, monkeypatch):
    """eval_folder tells the metric kernels' ``auto`` compile rule the sizes it will evaluate
    (from the file headers), so a run compiles only what pays back within it."""
    import contextlib

    from mmhaze.evaluation.functional import compiled
    _png(folders / 'fused' / 'bad.png', np.zeros((8, 8), np.uint8)).write_bytes(b'no image')
    for kind in ('vis', 'ir'):
        _png(folders / kind / 'bad.png', np.zeros((8, 8), np.uint8))
    (folders / 'vis' / '01.png').unlink()
    for kind in ('ir', 'fused'):
        (folders / kind / '01.png').unlink()
    _png(folders / 'vis' / '05.png', np.zeros((40, 56, 3), np.uint8))
    _png(folders / 'ir' / '05.png', np.zeros((40, 56), np.uint8))
    _png(folders / 'fused' / '05.png', np.zeros((40, 56, 3), np.uint8))
    announced = []

    @contextlib.contextmanager
    def record(sizes):
        announced.append(sorted(sizes))
        yield

    monkeypatch.setattr(compiled, 'announce_image_sizes', record)
    assert _run(tool, folders, '--skip-errors') == 0
    # an unreadable header is left out of the announcement (and out of the run)
    assert announced == [[(40, 56), (48, 48), (48, 48)]]
