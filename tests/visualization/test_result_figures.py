"""plot_results.py on two small run folders (three methods, two datasets): the files it writes,
the violins and tiles read back from the figure objects, the zoom inset's pixels, the automatic
choice of images, the HTML report's links, and its refusal to overwrite."""
import json
from html.parser import HTMLParser

import numpy as np
import pytest
from browser_helpers import find_chromium

DATASETS = ('setA', 'setB')
STEMS = ('img0', 'img1', 'img2')
SIZE = 64
PALETTE = [[70, 130, 180], [107, 142, 35], [220, 20, 60]]
DIRECTIONS = {'MI': '↑', 'Qcv': '↓'}
CONVENTIONS = {'MI': 'MI in bits', 'Qcv': 'Chen–Varshney'}


def _image(seed, channels=3):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (SIZE, SIZE, channels), dtype=np.uint8)


def _values(method_index, dataset_index, stem_index):
    """MI: img1 is where the methods disagree most (largest range), img0 least."""
    spread = {0: 0.1, 1: 2.0, 2: 0.7}[stem_index]
    return {'MI': 5.0 + dataset_index + spread * method_index,
            'Qcv': 300.0 - 10 * method_index + stem_index}


def _write_run(root, name, method_index, with_input_row, hsvf=False):
    from mmhaze.engine.hooks import write_png
    from mmhaze.evaluation.result_tables import write_run_folder
    run = root / name / '20260101_000000'
    rows = []
    for d, dataset in enumerate(DATASETS):
        for s, stem in enumerate(STEMS):
            rows.append(dict(dataset=dataset, method=name, image=stem,
                             **_values(method_index, d, s)))
            if with_input_row:
                rows.append(dict(dataset=dataset, method='hazy input', image=stem,
                                 **_values(2, d, s)))
            folder = run / 'images' / dataset
            sources = {'vis': _image(s), 'ir': np.repeat(_image(10 + s, 1), 3, 2),
                       'gt_clear': _image(20 + s)}
            outputs = {'pred_fused': _image(100 * method_index + s),
                       'pred_dehazed': _image(100 * method_index + 50 + s)}
            if hsvf:
                outputs['visual_fused'] = _image(100 * method_index + 70 + s)
                outputs['pred_sem_seg'] = (np.arange(SIZE)[:, None] // 22
                                           + np.zeros((1, SIZE), int)).astype(np.uint8)
            for field, image in {**sources, **outputs}.items():
                write_png(str(folder / field / f'{stem}.png'), image)
    meta = dict(model='HSVF' if hsvf else 'TwoStageDehazeFuse',
                intermediates=['visual_fused'] if hsvf else [],
                datasets={d: dict(classes=['sky', 'tree', 'person'], palette=PALETTE)
                          for d in DATASETS})
    (run / 'images' / 'meta.json').write_text(json.dumps(meta))
    write_run_folder(str(run), rows, dict(config=f'configs/{name}.py', method=name),
                     CONVENTIONS, DIRECTIONS, main_method=name)
    return run


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp('runs')
    return [_write_run(root, 'method_a', 0, with_input_row=True),
            _write_run(root, 'method_b', 1, with_input_row=False, hsvf=True)]


@pytest.fixture(scope='module')
def results(runs):
    from mmhaze.visualization.run_results import RunResults
    return RunResults([str(r) for r in runs], extra_rows=['hazy input'])


def test_run_results_joins_methods_datasets_and_images(results, runs):
    assert results.labels == ['method_a', 'method_b', 'hazy input']
    assert results.datasets == list(DATASETS) and results.metrics == ['MI', 'Qcv']
    np.testing.assert_allclose(results.values('setB', 'method_b', 'MI'), [6.1, 8.0, 6.7])
    assert results.output_path('method_b', 'setA', 'pred_fused', 'img2') == str(
        runs[1] / 'images/setA/pred_fused/img2.png')
    # a comparison row shows the image it scored, and has no dehazed image
    assert results.output_path('hazy input', 'setA', 'pred_fused', 'img0').endswith(
        'method_a/20260101_000000/images/setA/vis/img0.png')
    assert results.output_path('hazy input', 'setA', 'pred_dehazed', 'img0') is None
    assert results.summary()['method_b']['setA']['MI'] == pytest.approx(np.mean([5.1, 7, 5.7]))


def test_violin_panels_hold_one_violin_per_method(results):
    from mmhaze.visualization.result_figures import violin_figure
    for metric, arrow in (('MI', '↑'), ('Qcv', '↓')):
        fig = violin_figure(results, metric)
        assert [ax.get_title() for ax in fig.axes] == list(DATASETS)
        for d, ax in enumerate(fig.axes):
            bodies = [c.get_gid() for c in ax.collections if (c.get_gid() or '').startswith(
                'violin:')]
            assert bodies == [f'violin:{m}' for m in results.labels]
            assert [t.get_text() for t in ax.get_xticklabels()] == results.labels
            assert ax.get_ylabel() == f'{metric} {arrow}'
            # the median (white dots) and mean (bars) markers sit at the values' statistics
            markers = {c.get_gid(): c.get_offsets()[0] for c in ax.collections}
            for pos, label in enumerate(results.labels, start=1):
                v = results.values(DATASETS[d], label, metric)
                np.testing.assert_allclose(markers[f'median:{label}'], (pos, np.median(v)))
                np.testing.assert_allclose(markers[f'mean:{label}'], (pos, v.mean()))
        import matplotlib.pyplot as plt
        plt.close(fig)


def test_automatic_grid_rows_are_the_images_methods_disagree_on_most(results):
    from mmhaze.visualization.result_figures import disagreement_ranking
    # comparison rows do not vote: method_a vs method_b only (spreads 0.1, 2.0, 0.7)
    assert disagreement_ranking(results, 'setA', 'MI') == ['img1', 'img2', 'img0']
    # Qcv's spread (10) is the same for every image: by name
    assert disagreement_ranking(results, 'setA', 'Qcv') == ['img0', 'img1', 'img2']


def test_grid_has_rows_times_columns_tiles_of_the_image_size(results, runs):
    import matplotlib.pyplot as plt

    from mmhaze.visualization.result_figures import grid_columns, grid_figure, read_rgb
    stems = ['img1', 'img2']
    cols = grid_columns(results, 'setA', stems)
    assert [c.title for c in cols] == ['hazy input', 'IR', 'method_a\nfused',
                                       'method_a\ndehazed', 'method_b\nfused',
                                       'method_b\ndehazed', 'clear']
    fig = grid_figure(results, 'setA', stems, cols)
    assert len(fig.axes) == len(stems) * len(cols)
    for ax in fig.axes:
        assert ax.images[0].get_array().shape == (SIZE, SIZE, 3)
    tiles = {ax.images[0].get_gid(): np.asarray(ax.images[0].get_array()) for ax in fig.axes}
    np.testing.assert_array_equal(tiles['tile:1:4'], read_rgb(
        str(runs[1] / 'images/setA/pred_fused/img2.png')))
    plt.close(fig)


def test_zoom_box_and_inset_are_drawn_into_every_tile(results, runs):
    import matplotlib.pyplot as plt

    from mmhaze.visualization.result_figures import (
        ZOOM_COLOUR,
        draw_zoom,
        grid_columns,
        grid_figure,
        read_rgb,
    )
    tile = read_rgb(str(runs[0] / 'images/setA/vis/img0.png'))
    zoomed = draw_zoom(tile, (4, 6, 14, 14))
    assert tuple(zoomed[6, 10]) == ZOOM_COLOUR and tuple(zoomed[19, 10]) == ZOOM_COLOUR
    np.testing.assert_array_equal(zoomed[8:18, 6:16], tile[8:18, 6:16])  # inside the box
    # inset: the crop enlarged twice (28 px = 0.45 · 64 rounded down, 1 px border) at the
    # bottom-right corner
    inset = np.repeat(np.repeat(tile[6:20, 4:18], 2, 0), 2, 1)
    np.testing.assert_array_equal(zoomed[64 - 1 - 28:63, 64 - 1 - 28:63], inset)
    assert tuple(zoomed[63, 63]) == ZOOM_COLOUR
    cols = grid_columns(results, 'setA', ['img0'])
    fig = grid_figure(results, 'setA', ['img0'], cols, zoom=(4, 6, 14, 14))
    np.testing.assert_array_equal(np.asarray(fig.axes[0].images[0].get_array()), zoomed)
    plt.close(fig)


def test_hsvf_intermediates_show_the_semantic_map_in_the_palette(results):
    import matplotlib.pyplot as plt

    from mmhaze.visualization.result_figures import intermediates_figure
    fig = intermediates_figure(results, 'method_b', 'setB', ['img0'])
    assert [ax.get_title() for ax in fig.axes] == ['hazy input', 'NIR', 'semantic map', 'O_SR',
                                                   'O_VF', 'final']
    seg = np.asarray(fig.axes[2].images[0].get_array())
    assert [tuple(seg[y, 0]) for y in (0, 30, 60)] == [tuple(c) for c in PALETTE]
    plt.close(fig)


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.tables, self.rows, self.bold = [], 0, 0, []
        self._in_bold = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.links += [attrs[k] for k in ('src', 'href') if k in attrs]
        self.tables += tag == 'table'
        self.rows += tag == 'tr'
        self._in_bold = tag == 'strong'

    def handle_data(self, data):
        if self._in_bold:
            self.bold.append(data)
            self._in_bold = False


@pytest.fixture(scope='module')
def report(runs, tmp_path_factory):
    """The plot tool's figures and HTML report of the two runs (3 methods, 2 datasets)."""
    from helpers import load_tool
    out = tmp_path_factory.mktemp('report') / 'figures'
    args = [str(r) for r in runs] + ['--rows', 'hazy input', '--out', str(out), '--html',
                                     '--num-images', '2']
    assert load_tool('analysis_tools/plot_results').main(args) == 0
    return out, args


def test_plot_tool_writes_figures_and_a_self_contained_report(report, tool, capsys):
    out, args = report
    figures = {p.name for p in out.glob('*.p*')}
    names = ['violin_MI', 'violin_Qcv', 'grid_setA', 'grid_setB',
             'intermediates_method_b_setA', 'intermediates_method_b_setB']
    assert figures == {f'{n}.{ext}' for n in names for ext in ('png', 'pdf')}
    assert (out / 'violin_MI.pdf').read_bytes().startswith(b'%PDF')
    assert (out / 'grid_setA.png').read_bytes().startswith(b'\x89PNG')

    parser = _Links()
    parser.feed((out / 'index.html').read_text())
    assert parser.links and not [u for u in parser.links if ':' in u or u.startswith('/')]
    missing = [u for u in parser.links if not (out / u).is_file()]
    assert not missing
    for page in (out / 'pages').glob('*.html'):  # the side-by-side pages link back up
        sub = _Links()
        sub.feed(page.read_text())
        assert sub.links and all((page.parent / u).resolve().is_file() for u in sub.links)
    assert len(list((out / 'pages').glob('*.html'))) == len(DATASETS) * len(STEMS)
    # summary (methods + header) and per-image (every dataset × method × image + header)
    assert parser.tables == 2
    assert parser.rows == (3 + 1) + (len(DATASETS) * 3 * len(STEMS) + 1)
    # the best value per column in bold (the highest MI↑, the lowest Qcv↓: both the hazy
    # input row's here), in column order setA MI, setA Qcv, setB MI, setB Qcv
    assert parser.bold == ['6.8667', '281.0000', '7.8667', '281.0000']

    # never overwrites: the same command again stops before writing, naming the first file
    before = {p: p.stat().st_mtime_ns for p in out.rglob('*') if p.is_file()}
    capsys.readouterr()
    assert tool('analysis_tools/plot_results').main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith('error: ') and 'already exists' in err and len(err.splitlines()) == 1
    assert {p: p.stat().st_mtime_ns for p in out.rglob('*') if p.is_file()} == before


def test_bad_input_is_one_line(runs, tmp_path, tool, capsys):
    plot = tool('analysis_tools/plot_results')
    assert plot.main([str(tmp_path), '--out', str(tmp_path / 'o')]) == 2
    assert 'is not a run folder' in capsys.readouterr().err
    assert plot.main([str(runs[0]), '--out', str(tmp_path / 'o'), '--metrics', 'EN']) == 2
    assert "metrics ['EN'] are in none of the runs" in capsys.readouterr().err
    assert plot.main([str(runs[0]), str(runs[0]), '--out', str(tmp_path / 'o')]) == 2
    assert "method 'method_a' is in both" in capsys.readouterr().err


@pytest.mark.skipif(find_chromium() is None,
                    reason='no Chromium (apt-get install chromium; .ci/run installs it)')
def test_report_renders_offline_in_chromium(report, tmp_path):
    """index.html from file:// in headless Chromium: the tables' rows are in the DOM, every
    image decoded, the page is not blank, and a click on a metric header sorts the rows."""
    import cv2
    from browser_helpers import Chromium
    out, _ = report
    with Chromium() as browser:
        page = browser.new_page(1280, 1000)
        page.goto((out / 'index.html').as_uri())
        page.wait_for("document.readyState === 'complete'", timeout=30)
        dom = page.dom()
        assert dom.count('<tr>') == (3 + 1) + (len(DATASETS) * 3 * len(STEMS) + 1)
        assert 'violin_MI.png' in dom and 'grid_setA.png' in dom
        images = page.evaluate('Array.from(document.images).map(i => [i.getAttribute("src"), '
                               'i.complete && i.naturalWidth > 0])')
        assert len(images) == 6 + len(DATASETS) * 3 * len(STEMS)  # 6 figures, a thumb per row
        assert all(ok for _, ok in images), [src for src, ok in images if not ok]
        shot = cv2.imdecode(np.frombuffer(page.screenshot(), np.uint8), cv2.IMREAD_COLOR)
        assert shot.shape[:2] == (1000, 1280) and shot.std() > 10
        # sorting: the MI column of the per-image table, ascending then descending
        column = ("Array.from(document.querySelectorAll('table.per-image tbody tr'))"
                  ".map(r => parseFloat(r.cells[4].getAttribute('data-value')))")
        page.evaluate("document.querySelectorAll('table.per-image th')[4].click()")
        ascending = page.evaluate(column)
        assert ascending == sorted(ascending) and len(ascending) == 18
        page.evaluate("document.querySelectorAll('table.per-image th')[4].click()")
        assert page.evaluate(column) == sorted(ascending, reverse=True)
