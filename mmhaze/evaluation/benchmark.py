"""Benchmark files of a test run: per-image CSV, summary JSON, and Markdown/LaTeX/CSV tables.

Layout of a run folder (``tools/test.py`` writes ``<work_dir>/<timestamp>/``)::

    per_image.csv   dataset,method,image,<metric keys...>
    summary.json    {"meta": {...}, "results": {dataset: {metric: mean}},
                     "results_by_method": {method: {dataset: {metric: mean}}}}
    table.md / table.tex / table.csv   methods × (dataset, metric), ↑/↓ per column,
                    the best value per column in bold when several methods are listed,
                    and each column's convention as a footnote.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
import os.path as osp
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Optional

from .metrics.base_image_metric import MODEL_ROW, BaseImageMetric

ID_COLUMNS = ('dataset', 'method', 'image')


def collect_rows(metrics: Iterable,
                 method: str) -> tuple[list[dict], dict[str, str], dict[str, str]]:
    """Per-image rows of every evaluated :class:`BaseImageMetric`, merged per image.

    Returns the rows (the model's row label replaced by ``method``), the conventions and the
    directions of every metric key.
    """
    merged: dict[tuple, dict] = OrderedDict()
    conventions: dict[str, str] = {}
    directions: dict[str, str] = {}
    for metric in metrics:
        if not isinstance(metric, BaseImageMetric):
            continue
        conventions.update(metric.conventions())
        directions.update(metric.directions)
        for row in metric.per_image_rows:
            label = method if row['method'] == MODEL_ROW else row['method']
            key = (row['dataset'], label, row['image'])
            merged.setdefault(key, dict(dataset=row['dataset'], method=label, image=row['image']))
            merged[key].update({k: v for k, v in row.items() if k not in ID_COLUMNS})
    return list(merged.values()), conventions, directions


def summarise(rows: Sequence[dict]) -> dict[str, dict[str, dict[str, float]]]:
    """Mean of every metric, as ``{method: {dataset: {metric: mean}}}`` (NaNs left out)."""
    acc: dict[str, dict[str, dict[str, list[float]]]] = OrderedDict()
    for row in rows:
        per = acc.setdefault(row['method'], OrderedDict()).setdefault(row['dataset'], OrderedDict())
        for k, v in row.items():
            if k not in ID_COLUMNS:
                per.setdefault(k, []).append(v)
    return {m: {d: {k: (sum(x for x in v if not math.isnan(x)) /
                        max(1, sum(1 for x in v if not math.isnan(x))))
                    for k, v in ds.items()} for d, ds in per.items()} for m, per in acc.items()}


def _columns(summary: dict) -> list[tuple[str, str]]:
    cols: list[tuple[str, str]] = []
    for per in summary.values():
        for dataset, values in per.items():
            for key in values:
                if (dataset, key) not in cols:
                    cols.append((dataset, key))
    return cols


def _best(summary: dict, cols, directions) -> dict[tuple[str, str], str]:
    best = {}
    if len(summary) < 2:
        return best
    for col in cols:
        vals = [(m, per.get(col[0], {}).get(col[1])) for m, per in summary.items()]
        vals = [(m, v) for m, v in vals if v is not None and not math.isnan(v)]
        if not vals:
            continue
        pick = min if directions.get(col[1]) == '↓' else max
        best[col] = pick(vals, key=lambda mv: mv[1])[0]
    return best


def _fmt(v: Optional[float], digits: int = 4) -> str:
    if v is None:
        return '–'
    if math.isnan(v):
        return 'nan'
    return f'{v:.{digits}f}' if abs(v) < 1000 else f'{v:.1f}'


def format_tables(summary: dict, directions: dict[str, str],
                  conventions: dict[str, str]) -> dict[str, str]:
    """Markdown, LaTeX and CSV renderings of the summary."""
    cols = _columns(summary)
    best = _best(summary, cols, directions)
    multi = len({d for d, _ in cols}) > 1
    head = [f'{d} {k}{directions.get(k, "")}' if multi else f'{k}{directions.get(k, "")}'
            for d, k in cols]
    footnotes = [f'{k}: {conventions[k]}' for k in dict.fromkeys(k for _, k in cols)
                 if k in conventions]

    md = ['| method | ' + ' | '.join(head) + ' |', '|---|' + '---:|' * len(cols)]
    tex_rows = []
    csv_buf = io.StringIO()
    writer = csv.writer(csv_buf)
    writer.writerow(['method'] + [f'{d}/{k}' for d, k in cols])
    for method, per in summary.items():
        cells, tcells = [], []
        for col in cols:
            s = _fmt(per.get(col[0], {}).get(col[1]))
            bold = best.get(col) == method
            cells.append(f'**{s}**' if bold else s)
            tcells.append(f'\\textbf{{{s}}}' if bold else s)
        md.append(f'| {method} | ' + ' | '.join(cells) + ' |')
        tex_rows.append(method.replace('_', r'\_') + ' & ' + ' & '.join(tcells) + r' \\')
        writer.writerow([method] + [per.get(d, {}).get(k, '') for d, k in cols])
    if footnotes:
        md += [''] + [f'- {f}' for f in footnotes]

    tex_head = ' & '.join(h.replace('_', r'\_').replace('↑', r'$\uparrow$')
                          .replace('↓', r'$\downarrow$') for h in head)
    tex = [r'\begin{table}[t]', r'\centering', r'\begin{tabular}{l' + 'r' * len(cols) + '}',
           r'\toprule', f'Method & {tex_head} \\\\', r'\midrule', *tex_rows, r'\bottomrule',
           r'\end{tabular}']
    if footnotes:
        tex.append(r'\caption{' + '; '.join(f.replace('_', r'\_') for f in footnotes) + '}')
    tex.append(r'\end{table}')
    return {'md': '\n'.join(md) + '\n', 'tex': '\n'.join(tex) + '\n', 'csv': csv_buf.getvalue()}


def write_run_folder(run_dir: str, rows: Sequence[dict], meta: dict,
                     conventions: dict[str, str], directions: dict[str, str],
                     main_method: Optional[str] = None) -> dict[str, str]:
    """Write the five benchmark files into ``run_dir``; returns their paths and the Markdown."""
    os.makedirs(run_dir, exist_ok=True)
    keys = list(dict.fromkeys(k for r in rows for k in r if k not in ID_COLUMNS))
    per_image = osp.join(run_dir, 'per_image.csv')
    with open(per_image, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=list(ID_COLUMNS) + keys)
        writer.writeheader()
        for r in rows:
            writer.writerow({k: r.get(k, '') for k in list(ID_COLUMNS) + keys})
    summary = summarise(rows)
    main = main_method if main_method in summary else next(iter(summary), None)
    payload = {
        'meta': dict(meta, conventions=conventions, directions=directions),
        'results': summary.get(main, {}) if main else {},
        'results_by_method': summary,
    }
    paths = {'per_image': per_image, 'summary': osp.join(run_dir, 'summary.json')}
    with open(paths['summary'], 'w') as f:
        json.dump(payload, f, indent=2, ensure_ascii=False)
    tables = format_tables(summary, directions, conventions)
    for ext, text in tables.items():
        paths[f'table_{ext}'] = osp.join(run_dir, f'table.{ext}')
        with open(paths[f'table_{ext}'], 'w') as f:
            f.write(text)
    paths['markdown'] = tables['md']
    return paths
