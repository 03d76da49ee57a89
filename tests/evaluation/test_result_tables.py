import csv
import json
import math

from mmhaze.evaluation.result_tables import format_tables, summarise, write_run_folder

ROWS = [
    dict(dataset='msrs', method='ours', image='1', PSNR_ref=20.0, NIQE=3.0),
    dict(dataset='msrs', method='ours', image='2', PSNR_ref=22.0, NIQE=5.0),
    dict(dataset='msrs', method='hazy input', image='1', PSNR_ref=10.0, NIQE=2.0),
    dict(dataset='m3fd', method='ours', image='9', PSNR_ref=30.0, NIQE=float('nan')),
]
DIRS = {'PSNR_ref': '↑', 'NIQE': '↓'}


def test_summary_means_skip_nan():
    s = summarise(ROWS)
    assert s['ours']['msrs'] == {'PSNR_ref': 21.0, 'NIQE': 4.0}
    # no finite value: NaN, never a 0 that would be bolded as the best NIQE
    assert s['ours']['m3fd']['PSNR_ref'] == 30.0 and math.isnan(s['ours']['m3fd']['NIQE'])


def test_tables_bold_the_best_per_column_by_direction():
    tables = format_tables(summarise(ROWS[:3]), DIRS, {'NIQE': 'pyiqa, Y channel'})
    md = tables['md']
    assert '| method | PSNR_ref↑ | NIQE↓ |' in md
    assert '| ours | **21.0000** | 4.0000 |' in md
    assert '| hazy input | 10.0000 | **2.0000** |' in md  # lower NIQE is better
    assert '- NIQE: pyiqa, Y channel' in md
    assert r'\textbf{21.0000}' in tables['tex'] and r'$\downarrow$' in tables['tex']


def test_run_folder_files(tmp_path):
    paths = write_run_folder(str(tmp_path), ROWS, {'config': 'x.py'}, {}, DIRS, 'ours')
    rows = list(csv.DictReader(open(paths['per_image'])))
    assert rows[0].keys() >= {'dataset', 'method', 'image', 'PSNR_ref', 'NIQE'}
    summary = json.loads(open(paths['summary']).read())
    assert summary['results']['msrs']['PSNR_ref'] == 21.0
    assert summary['meta']['config'] == 'x.py' and summary['meta']['directions'] == DIRS
    assert 'msrs PSNR_ref↑' in open(paths['table_md']).read()  # two datasets: prefixed columns


def test_closer_to_zero_bolds_the_smallest_magnitude():
    """Q_SF's ideal is 0: the best of −0.02, 0.05 and 0.3 is −0.02 (neither max nor min)."""
    summary = {'a': {'tno': {'Q_SF': 0.3}}, 'b': {'tno': {'Q_SF': -0.02}},
               'c': {'tno': {'Q_SF': 0.05}}}
    tables = format_tables(summary, {'Q_SF': '→0'}, {})
    md = tables['md']
    assert '| method | Q_SF→0 |' in md
    assert '| b | **-0.0200** |' in md and '| a | 0.3000 |' in md and '| c | 0.0500 |' in md
    assert r'Q\_SF$\to 0$' in tables['tex'] and r'\textbf{-0.0200}' in tables['tex']
