"""A self-contained HTML report of run folders: ``index.html`` and the files it shows, in one
folder that works offline from a ``file://`` URL (relative links only; no script but the inline
one that sorts the per-image table).

Layout of the report folder (next to the figures :func:`~.result_figures.write_figures` wrote)::

    index.html                       summary table (best value per column in bold, conventions
                                     as footnotes), violin plots, grids, HSVF intermediates,
                                     per-image table sortable by any metric
    pages/<dataset>__<image>.html    every image of one pair side by side, full size
    files/<dataset>/<image>/<column>.<ext>   the images, copied from the run folders
    thumbs/<dataset>/<image>/<column>.png    thumbnails (longest side ``thumb_size``)
"""
from __future__ import annotations

import html
import math
import os
import os.path as osp
import shutil
from collections.abc import Sequence
from typing import Optional

import numpy as np

from mmhaze.evaluation.result_tables import table_cells

from .result_figures import FigurePlan, read_rgb, refuse_existing, safe_name
from .run_results import COMPARISON_ROW_IMAGES, RunResults

SOURCE_FIELDS = {'vis': 'hazy input', 'ir': 'IR', 'gt_clear': 'clear'}

STYLE = """
body { font-family: sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: right; }
th:first-child, td:first-child, td.text { text-align: left; }
th.sortable { cursor: pointer; background: #f3f3f3; }
th.sortable:hover { background: #e3e3e3; }
ol.notes { font-size: 0.85em; color: #444; }
figure { display: inline-block; margin: 0.5em 1em 1em 0; vertical-align: top; }
figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: 0.85em; color: #444; max-width: 60em; }
.pair { display: flex; flex-wrap: wrap; gap: 0.5em; }
.pair figure img { image-rendering: pixelated; min-width: 256px; }
td img { display: block; }
"""

# Sorts the table whose header cell was clicked by that column: numbers numerically (cells
# carry the raw value in data-value; empty = no value, always last), other cells as text.
SORT_SCRIPT = """
document.querySelectorAll('table.per-image').forEach(function (table) {
  var heads = table.tHead.rows[0].cells;
  Array.prototype.forEach.call(heads, function (th, col) {
    if (!th.classList.contains('sortable')) { return; }
    th.addEventListener('click', function () {
      var ascending = th.getAttribute('data-order') !== 'asc';
      Array.prototype.forEach.call(heads, function (h) { h.removeAttribute('data-order'); });
      th.setAttribute('data-order', ascending ? 'asc' : 'desc');
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[col].getAttribute('data-value');
        var y = b.cells[col].getAttribute('data-value');
        if (x === '' || y === '') { return (x === '') - (y === ''); }
        var nx = parseFloat(x), ny = parseFloat(y);
        var order = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
        return ascending ? order : -order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
"""


def _e(text) -> str:
    return html.escape(str(text), quote=True)


class _Pair:
    """The images of one pair shown in the report: column name → source file."""

    def __init__(self, dataset: str, stem: str):
        self.dataset, self.stem = dataset, stem
        self.columns: dict[str, tuple[str, str]] = {}  # key → (title, source path)

    @property
    def page(self) -> str:
        return f'pages/{safe_name(self.dataset)}__{safe_name(self.stem)}.html'

    def file(self, key: str) -> str:
        ext = osp.splitext(self.columns[key][1])[1].lower()
        return f'files/{safe_name(self.dataset)}/{safe_name(self.stem)}/{safe_name(key)}{ext}'

    def thumb(self, key: str) -> str:
        return f'thumbs/{safe_name(self.dataset)}/{safe_name(self.stem)}/{safe_name(key)}.png'


def _collect_pairs(results: RunResults) -> dict[tuple[str, str], _Pair]:
    pairs = {}
    for dataset in results.datasets:
        for stem in results.stems(dataset):
            pair = _Pair(dataset, stem)
            for field_name, title in SOURCE_FIELDS.items():
                path = results.source_path(dataset, field_name, stem)
                if path:
                    pair.columns[field_name] = (title, path)
            for label in results.labels:
                if results.is_comparison_row(label):
                    continue
                for field_name, what in (('pred_dehazed', 'dehazed'), ('pred_fused', 'fused')):
                    path = results.output_path(label, dataset, field_name, stem)
                    if path:
                        pair.columns[f'{label}__{field_name}'] = (f'{label} {what}', path)
            if pair.columns:
                pairs[(dataset, stem)] = pair
    return pairs


def _row_image(results: RunResults, pair: _Pair, label: str) -> Optional[str]:
    """The column a per-image row's thumbnail shows: the method's fused image; a comparison row
    the image it scored (:data:`COMPARISON_ROW_IMAGES`)."""
    key = f'{label}__pred_fused'
    if results.is_comparison_row(label):
        method = results.method(label)
        scored = COMPARISON_ROW_IMAGES.get(method.row)
        key = scored if scored in SOURCE_FIELDS else f'{method.run.method}__{scored}'
    return key if key in pair.columns else None


def plan_report_files(results: RunResults, out_dir: str) -> list[str]:
    """Every file the report writes (checked before anything is written)."""
    pairs = _collect_pairs(results)
    paths = [osp.join(out_dir, 'index.html')]
    for pair in pairs.values():
        paths.append(osp.join(out_dir, pair.page))
        for key in pair.columns:
            paths += [osp.join(out_dir, pair.file(key)), osp.join(out_dir, pair.thumb(key))]
    return paths


def _summary_html(results: RunResults) -> str:
    cols, head, rows, footnotes = table_cells(results.summary(), results.directions,
                                              results.conventions)
    out = ['<table class="summary"><thead><tr><th>method</th>']
    out += [f'<th>{_e(h)}</th>' for h in head]
    out.append('</tr></thead><tbody>')
    for method, cells in rows:
        out.append(f'<tr><td>{_e(method)}</td>')
        for text, _, bold in cells:
            out.append(f'<td><strong>{_e(text)}</strong></td>' if bold else f'<td>{_e(text)}</td>')
        out.append('</tr>')
    out.append('</tbody></table>')
    if footnotes:
        out.append('<ol class="notes">' + ''.join(f'<li>{_e(f)}</li>' for f in footnotes)
                   + '</ol>')
    return ''.join(out)


def _figures_html(plans: Sequence[FigurePlan], fig_paths: dict[str, list[str]], kind: str,
                  out_dir: str) -> str:
    out = []
    for plan in plans:
        if plan.kind != kind:
            continue
        files = [osp.relpath(p, out_dir) for p in fig_paths.get(plan.name, [])]
        png = next((f for f in files if f.endswith('.png')), None)
        if png is None:
            continue
        others = ' '.join(f'<a href="{_e(f)}">{_e(osp.splitext(f)[1][1:].upper())}</a>'
                          for f in files if f != png)
        out.append(f'<figure id="{_e(plan.name)}"><img src="{_e(png)}" alt="{_e(plan.name)}">'
                   f'<figcaption>{_e(plan.caption)} {others}</figcaption></figure>')
    return '\n'.join(out)


def _per_image_html(results: RunResults, pairs: dict) -> str:
    metrics = results.metrics
    out = ['<table class="per-image"><thead><tr>',
           '<th class="sortable">dataset</th><th class="sortable">image</th>'
           '<th class="sortable">method</th><th>image</th>']
    out += [f'<th class="sortable">{_e(m)}{_e(results.directions.get(m, ""))}</th>'
            for m in metrics]
    out.append('</tr></thead><tbody>')
    for row in results.per_image():
        pair = pairs.get((row['dataset'], row['image']))
        out.append('<tr>')
        for key in ('dataset', 'image', 'method'):
            out.append(f'<td class="text" data-value="{_e(row[key])}">{_e(row[key])}</td>')
        column = _row_image(results, pair, row['method']) if pair else None
        if column:
            out.append(f'<td><a href="{_e(pair.page)}"><img src="{_e(pair.thumb(column))}" '
                       f'alt="{_e(row["method"])} {_e(row["image"])}"></a></td>')
        else:
            out.append('<td></td>')
        for m in metrics:
            v = row[m]
            if isinstance(v, float) and math.isfinite(v):
                out.append(f'<td data-value="{v!r}">{v:.4f}</td>')
            else:
                out.append('<td data-value="">–</td>')
        out.append('</tr>')
    out.append('</tbody></table>')
    return ''.join(out)


def _page_html(results: RunResults, pair: _Pair) -> str:
    figures = ''.join(
        f'<figure><a href="../{_e(pair.file(key))}"><img src="../{_e(pair.file(key))}" '
        f'alt="{_e(title)}"></a><figcaption>{_e(title)}</figcaption></figure>'
        for key, (title, _) in pair.columns.items())
    rows = [r for r in results.per_image()
            if r['dataset'] == pair.dataset and r['image'] == pair.stem]
    table = ''
    if rows:
        table = ('<table><thead><tr><th>method</th>'
                 + ''.join(f'<th>{_e(m)}{_e(results.directions.get(m, ""))}</th>'
                           for m in results.metrics) + '</tr></thead><tbody>'
                 + ''.join('<tr><td>' + _e(r['method']) + '</td>' + ''.join(
                     f'<td>{r[m]:.4f}</td>' if math.isfinite(r[m]) else '<td>–</td>'
                     for m in results.metrics) + '</tr>' for r in rows) + '</tbody></table>')
    return _document(f'{pair.dataset} / {pair.stem}',
                     f'<p><a href="../index.html">back to the report</a></p>'
                     f'<h1>{_e(pair.dataset)} / {_e(pair.stem)}</h1>'
                     f'<div class="pair">{figures}</div>{table}')


def _document(title: str, body: str, script: str = '') -> str:
    tail = f'<script>{script}</script>' if script else ''
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<title>{_e(title)}</title><style>{STYLE}</style></head>\n<body>\n{body}\n{tail}'
            '</body></html>\n')


def _thumbnail(src: str, size: int) -> np.ndarray:
    import cv2
    image = read_rgb(src)
    h, w = image.shape[:2]
    scale = min(1.0, size / max(h, w))
    if scale < 1.0:
        image = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))),
                           interpolation=cv2.INTER_AREA)
    return image


def write_html_report(results: RunResults, plans: Sequence[FigurePlan],
                      fig_paths: dict[str, list[str]], out_dir: str,
                      thumb_size: int = 96) -> str:
    """Write the report into ``out_dir`` (refused before anything is written when one of its
    files exists); returns the path of ``index.html``."""
    from mmhaze.engine.hooks.save_predictions_hook import write_png
    refuse_existing(plan_report_files(results, out_dir))
    pairs = _collect_pairs(results)
    for pair in pairs.values():
        for key, (_, src) in pair.columns.items():
            dst = osp.join(out_dir, pair.file(key))
            os.makedirs(osp.dirname(dst), exist_ok=True)
            shutil.copyfile(src, dst)
            write_png(osp.join(out_dir, pair.thumb(key)), _thumbnail(src, thumb_size))
        os.makedirs(osp.join(out_dir, 'pages'), exist_ok=True)
        with open(osp.join(out_dir, pair.page), 'x', encoding='utf-8') as f:
            f.write(_page_html(results, pair))
    runs = ''.join(
        f'<li><code>{_e(r.path)}</code>: {_e(r.method)} — config '
        f'<code>{_e(r.meta.get("config", r.meta.get("tool", "?")))}</code>, checkpoint '
        f'<code>{_e(r.meta.get("checkpoint", "–"))}</code>, {_e(r.meta.get("time", ""))}</li>'
        for r in results.runs)
    sections = [
        '<h1>mmhaze results</h1>',
        f'<h2>Runs</h2><ul>{runs}</ul>',
        '<h2>Summary</h2>', _summary_html(results),
        '<h2>Per-image distributions</h2>', _figures_html(plans, fig_paths, 'violin', out_dir),
    ]
    for kind, title in (('grid', 'Qualitative comparison'),
                        ('intermediates', 'HSVF intermediate outputs')):
        block = _figures_html(plans, fig_paths, kind, out_dir)
        if block:
            sections += [f'<h2>{title}</h2>', block]
    sections += ['<h2>Per image</h2><p>Click a column header to sort by it (again: the other '
                 'way); click a thumbnail for every image of that pair side by side.</p>',
                 _per_image_html(results, pairs)]
    index = osp.join(out_dir, 'index.html')
    with open(index, 'x', encoding='utf-8') as f:
        f.write(_document('mmhaze results', '\n'.join(sections), SORT_SCRIPT))
    return index
