"""results_table.py merges the run folders of several two-stage runs: each run's method is a row,
the dehazer-output rows are named after each run's dehazer, rows the same in several runs (the
hazy input) are shown once, and rows of one name that differ are kept for each run with a note.

The run folders are tiny fakes written by the writer tools/test.py uses (two images each, one
dataset), so every merged value is a known mean."""
import math

import pytest

from mmhaze.evaluation.result_tables import merge_run_folders, write_run_folder

DATASET = 'roadscene_hazy'
CONVENTIONS = {'MI': 'MI in bits', 'PSNR_ref': 'PSNR against the clear image'}
DIRECTIONS = {'MI': '↑', 'PSNR_ref': '↑'}


def two_stage_run(root, method, fused_mi, dehazed, hazy, weights=None, config=None):
    """A run folder of ``method``: its fused row (MI of two images), the ``dehazer output``
    row and the ``hazy input`` row (MI and PSNR_ref pairs). ``weights``: the dehazer as
    ``meta.weights`` records it (a run without checkpoint); ``config``: the text of the config
    copy the run folder keeps."""
    rows = []
    for image in range(2):
        rows.append(dict(dataset=DATASET, method=method, image=f'{image:02d}',
                         MI=fused_mi[image]))
        for row, (mi, psnr) in (('dehazer output', dehazed), ('hazy input', hazy)):
            rows.append(dict(dataset=DATASET, method=row, image=f'{image:02d}', MI=mi[image],
                             PSNR_ref=psnr[image]))
    meta = dict(config=f'/somewhere/configs/two_stage/{method}.py', method=method,
                checkpoint='no checkpoint: training-free / init_cfg weights')
    if weights:
        meta['weights'] = dict(dehazer=weights, fuser='SeAFusionNet: init_cfg fuser.pth')
    run = root / method / '20260101_000000'
    write_run_folder(str(run), rows, meta, CONVENTIONS, DIRECTIONS, main_method=method)
    if config:
        (run / f'{method}.py').write_text(config)
    return str(run)


HAZY = ((4.4, 4.6), (16.0, 16.5))  # the hazy input: MI 4.5, PSNR_ref 16.25 on average
AOD = ((4.0, 4.2), (17.0, 19.0))  # AOD-Net's output: MI 4.1, PSNR_ref 18.0


@pytest.fixture
def runs(tmp_path):
    """Three runs on one hazed test set: AOD-Net → SeAFusion and → U2Fusion (no checkpoint:
    the dehazer in meta.weights), DehazeFormer-S → SeAFusion from a checkpoint (the dehazer in
    the config copy only), and DCP → SeAFusion on a set hazed with another seed."""
    aod = 'AODNet: init_cfg checkpoints/aodnet_release.pth'
    return dict(
        aod_sea=two_stage_run(tmp_path, 'aod_sea', (3.0, 3.2), AOD, HAZY, weights=aod),
        aod_u2=two_stage_run(tmp_path, 'aod_u2', (2.8, 3.0), AOD, HAZY, weights=aod),
        dfs_sea=two_stage_run(
            tmp_path, 'dfs_sea', (3.3, 3.5), ((3.4, 3.6), (12.0, 13.0)), HAZY,
            config="model = dict(type='TwoStageDehazeFuse', dehazer=dict(type='DehazeFormer', "
                   "arch='s'), fuser=dict(type='SeAFusionNet'))\n"),
        dcp_other=two_stage_run(
            tmp_path, 'dcp_other', (3.1, 3.1), ((4.1, 4.1), (12.5, 12.5)),
            ((4.0, 4.0), (15.0, 15.0)), weights='DarkChannelPriorDehazer: training-free'))


def _values(summary):
    return {row: {k: round(v, 6) for k, v in per[DATASET].items()} for row, per in summary.items()}


def test_two_stage_runs_merge_into_one_row_per_method_and_per_dehazer(runs):
    summary, directions, conventions, notes, _, _ = merge_run_folders(
        [runs['aod_sea'], runs['aod_u2'], runs['dfs_sea']])
    assert _values(summary) == {
        'aod_sea': {'MI': 3.1},
        'aod_u2': {'MI': 2.9},
        'dfs_sea': {'MI': 3.4},
        'AODNet output (dehazer alone)': {'MI': 4.1, 'PSNR_ref': 18.0},
        'DehazeFormer-S output (dehazer alone)': {'MI': 3.5, 'PSNR_ref': 12.5},
        'hazy input': {'MI': 4.5, 'PSNR_ref': 16.25},
    }
    assert list(summary) == ['aod_sea', 'aod_u2', 'dfs_sea', 'AODNet output (dehazer alone)',
                             'DehazeFormer-S output (dehazer alone)', 'hazy input']
    assert notes == ["'AODNet output (dehazer alone)': the same in 2 runs (aod_sea, aod_u2), "
                     'shown once',
                     "'hazy input': the same in all 3 runs, shown once"]
    assert directions == DIRECTIONS and conventions == CONVENTIONS


def test_rows_of_one_name_that_differ_are_kept_for_each_run_and_said(runs):
    summary, _, _, notes, _, _ = merge_run_folders([runs['aod_sea'], runs['aod_u2'],
                                              runs['dcp_other']])
    values = _values(summary)
    assert list(summary) == ['aod_sea', 'aod_u2', 'dcp_other', 'AODNet output (dehazer alone)',
                             'DarkChannelPriorDehazer output (dehazer alone)',
                             'hazy input (aod_sea)', 'hazy input (aod_u2)',
                             'hazy input (dcp_other)']
    assert values['hazy input (aod_sea)'] == values['hazy input (aod_u2)'] == {
        'MI': 4.5, 'PSNR_ref': 16.25}
    assert values['hazy input (dcp_other)'] == {'MI': 4.0, 'PSNR_ref': 15.0}
    assert values['DarkChannelPriorDehazer output (dehazer alone)'] == {'MI': 4.1,
                                                                        'PSNR_ref': 12.5}
    assert notes[-1] == ("'hazy input' differs between runs on roadscene_hazy (MI 4.5 in "
                         'aod_sea, 4 in dcp_other): shown for each of the 3 runs, as '
                         "'hazy input (<run>)'")


def test_a_dehazer_output_no_record_names_keeps_its_row_name(tmp_path, runs):
    """A run folder that records neither the dehazer's weights nor a config copy keeps
    'dehazer output'; rows of that name still merge only when they are the same."""
    bare = two_stage_run(tmp_path, 'bare', (1.0, 1.0), AOD, HAZY)
    summary, _, _, notes, _, _ = merge_run_folders([bare, runs['aod_sea']])
    assert list(summary) == ['bare', 'aod_sea', 'dehazer output',
                             'AODNet output (dehazer alone)', 'hazy input']
    assert _values(summary)['dehazer output'] == _values(summary)[
        'AODNet output (dehazer alone)']
    assert notes == ["'hazy input': the same in both runs, shown once"]


def test_the_tool_writes_the_merged_table_and_still_refuses_a_method_twice(runs, tool, tmp_path,
                                                                           capsys):
    out = tmp_path / 'merged'
    assert tool('analysis_tools/results_table').main(
        [runs['aod_sea'], runs['aod_u2'], runs['dcp_other'], '--metrics', 'PSNR_ref',
         '--out', str(out)]) == 0
    md = (out / 'table.md').read_text()
    assert '| hazy input (dcp_other) | 15.0000 |' in md
    assert '| AODNet output (dehazer alone) | **18.0000** |' in md
    assert '| aod_sea | – |' in md  # the fused rows have no PSNR_ref
    assert ("- 'hazy input' differs between runs on roadscene_hazy (PSNR_ref 16.25 in aod_sea, "
            '15 in dcp_other)') in md
    csv = (out / 'table.csv').read_text().splitlines()
    assert csv[0] == 'method,roadscene_hazy/PSNR_ref'
    assert [line.split(',')[0] for line in csv[1:]] == [
        'aod_sea', 'aod_u2', 'dcp_other', 'AODNet output (dehazer alone)',
        'DarkChannelPriorDehazer output (dehazer alone)', 'hazy input (aod_sea)',
        'hazy input (aod_u2)', 'hazy input (dcp_other)']
    assert math.isclose(float(csv[4].split(',')[1]), 18.0)
    capsys.readouterr()
    assert tool('analysis_tools/results_table').main([runs['aod_sea'], runs['aod_sea']]) == 2
    assert "method 'aod_sea' on 'roadscene_hazy' is in both" in capsys.readouterr().err


def test_the_runs_image_counts_and_notes_carry_into_the_merged_table(runs, tmp_path, tool,
                                                                     capsys):
    """A run whose NIQE failed on one image (too small) said so under its own table, with its N
    column; the merged table keeps both: N per row, and the note prefixed with its run."""
    rows = [dict(dataset=DATASET, method=method, image=image, MI=mi)
            for image in ('00', '01') for method, mi in (('small', 3.0), ('hazy input', 4.5))]
    rows[2]['MI'] = math.nan  # MI of 'small' failed on image 01
    failed = [dict(dataset=DATASET, image='01', metric='FusionMetric', keys=['MI'],
                   reason='ValueError: too small')]
    small = tmp_path / 'small' / '20260101_000000'
    write_run_folder(str(small), rows, dict(method='small'), CONVENTIONS, DIRECTIONS,
                     main_method='small', dropped=failed)
    merged = merge_run_folders([runs['aod_sea'], str(small)])
    assert merged.incomplete
    assert merged.counts['small'][DATASET] == {'N': 2, 'MI': 1}
    assert merged.counts['AODNet output (dehazer alone)'][DATASET]['N'] == 2
    own = [n for n in merged.notes if n.startswith('small: ')]
    assert own and all('MI' in n for n in own)
    assert tool('analysis_tools/results_table').main([runs['aod_sea'], str(small)]) == 0
    out = capsys.readouterr().out
    assert '| method | N | MI↑ |' in out and '| small | 2 | 3.0000 |' in out
    assert 'small: ' in out


def test_figures_name_each_dehazer_output_as_the_merged_table_does(runs):
    """plot_results.py --rows 'dehazer output' takes every dehazer's output row, named like the
    merged table; one of those names picks that dehazer's."""
    from mmhaze.visualization.run_results import RunResults
    paths = [runs['aod_sea'], runs['aod_u2'], runs['dfs_sea']]
    results = RunResults(paths, extra_rows=['dehazer output', 'hazy input'])
    assert results.labels == ['aod_sea', 'aod_u2', 'dfs_sea', 'AODNet output (dehazer alone)',
                              'DehazeFormer-S output (dehazer alone)', 'hazy input']
    assert results.method('DehazeFormer-S output (dehazer alone)').run.path.endswith(
        'dfs_sea/20260101_000000')
    assert results.values(DATASET, 'DehazeFormer-S output (dehazer alone)', 'PSNR_ref') \
        .tolist() == [12.0, 13.0]
    one = RunResults(paths, extra_rows=['DehazeFormer-S output (dehazer alone)'])
    assert one.labels[-1] == 'DehazeFormer-S output (dehazer alone)'
    with pytest.raises(ValueError, match="no run folder has rows named 'GCANet output"):
        RunResults(paths, extra_rows=['GCANet output (dehazer alone)'])


@pytest.mark.parametrize('relative, merged', [(1e-13, True), (1e-6, False)])
def test_rows_differing_only_in_the_last_bits_are_the_same_row(tmp_path, relative, merged):
    """Two versions of the metric code sum in another order (1e-12 apart): still one row. A
    difference a table could show (1e-6) keeps them apart."""
    near = ((4.4 * (1 + relative), 4.6), (16.0, 16.5))
    first = two_stage_run(tmp_path, 'first', (3.0, 3.2), AOD, HAZY)
    second = two_stage_run(tmp_path, 'second', (2.8, 3.0), AOD, near)
    summary, _, _, notes, _, _ = merge_run_folders([first, second])
    assert ('hazy input' in summary) is merged
    assert ('hazy input (second)' in summary) is not merged
    assert ("'hazy input': the same in both runs, shown once" in notes) is merged
