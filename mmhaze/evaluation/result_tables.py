"""Result files of a test run: per-image CSV, summary JSON, and Markdown/LaTeX/CSV tables.

Layout of a run folder (``tools/test.py`` writes ``<work_dir>/<timestamp>/``)::

    per_image.csv   dataset,method,image,<metric keys...>
    summary.json    {"meta": {...}, "results": {dataset: {metric: mean}},
                     "results_by_method": {method: {dataset: {metric: mean}}}}
    table.md / table.tex / table.csv   methods × (dataset, metric), ↑/↓/→0 per column,
                    the best value per column in bold when several methods are listed (→0:
                    the smallest |value|),
                    and each column's convention as a footnote.

Dataset-level metrics (mIoU: one confusion over the whole set, not a per-image mean) enter as
rows whose image is :data:`DATASET_LEVEL`; they go into the summary and tables, not the CSV.
A mean over no finite value is NaN (``null`` in the JSON). Files are never overwritten.

Nothing is averaged over fewer images silently: ``summary.json`` holds ``image_counts``
(``{method: {dataset: {"N": images, metric: finite values}}}``); when images were left out
(``dropped``: the opt-ins ``skip_errors=True`` / ``--allow-missing``) or a metric's mean skips
NaN values, the tables gain a column ``N`` and a note says which means cover fewer images.
:func:`merge_run_folders` joins several run folders into one table
(``tools/analysis_tools/results_table.py``).
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

from mmhaze.utils.errors import UserError

from .functional.metric_registry import distance_from_best
from .metrics.base_image_metric import MODEL_ROW

ID_COLUMNS = ('dataset', 'method', 'image')
DATASET_LEVEL = '*'


def collect_rows(metrics: Iterable,
                 method: str) -> tuple[list[dict], dict[str, str], dict[str, str]]:
    """Per-image rows of every evaluated metric, merged per image.

    Reads ``per_image_rows`` of :class:`BaseImageMetric` s and ``dataset_rows`` of dataset-level
    metrics (:class:`~mmhaze.evaluation.metrics.SegMetric`). Returns the rows (the model's row
    label replaced by ``method``), the conventions and the directions of every metric key.
    """
    merged: dict[tuple, dict] = OrderedDict()
    conventions: dict[str, str] = {}
    directions: dict[str, str] = {}
    written: dict[tuple, str] = {}  # (row, metric key) -> the convention that wrote it
    for metric in metrics:
        per_image = getattr(metric, 'per_image_rows', None)
        per_dataset = getattr(metric, 'dataset_rows', None)
        if per_image is None and per_dataset is None:
            continue  # a foreign metric without per-image results
        own = metric.conventions() if hasattr(metric, 'conventions') else {}
        conventions.update(own)
        directions.update(getattr(metric, 'directions', {}))
        level_rows = [dict(r, image=DATASET_LEVEL) for r in per_dataset or []]
        for row in list(per_image or []) + level_rows:
            label = method if row['method'] == MODEL_ROW else row['method']
            key = (row['dataset'], label, row['image'])
            merged.setdefault(key, dict(dataset=row['dataset'], method=label, image=row['image']))
            values = {k: v for k, v in row.items() if k not in ID_COLUMNS}
            for name in values:
                _check_one_meaning(written, key, name, own.get(name, ''))
            merged[key].update(values)
    return list(merged.values()), conventions, directions


def collect_notes(metrics: Iterable) -> list[str]:
    """The metrics' own lines for under the tables (e.g. a metric left out for want of its
    parameter file), each once."""
    return list(dict.fromkeys(n for metric in metrics for n in getattr(metric, 'notes', ())))


def _check_one_meaning(written: dict, row: tuple, name: str, convention: str) -> None:
    """A column key means one metric in one table: two metrics of a run reporting ``name``
    for the same image under different conventions (e.g. the ``vifb`` and ``ivif_zoo``
    presets' "CE") would overwrite each other's values."""
    before = written.setdefault((row, name), convention)
    if before != convention:
        raise UserError(f'two metrics of this run report {name!r} under different conventions '
                        f'({before!r} and {convention!r}); one table cannot hold both: evaluate '
                        'them in separate runs (e.g. one suite preset per run folder)')


def collect_dropped(metrics: Iterable) -> list[dict]:
    """The images the metrics left out (``skip_errors=True``): ``dict(dataset, image, metric,
    reason)`` each."""
    return [dict(row) for metric in metrics for row in getattr(metric, 'skipped', None) or []]


def count_images(rows: Sequence[dict]) -> dict[str, dict[str, dict[str, int]]]:
    """``{method: {dataset: {'N': images, metric: finite values}}}`` of per-image rows."""
    counts: dict = OrderedDict()
    for row in rows:
        if row['image'] == DATASET_LEVEL:
            continue
        per = counts.setdefault(row['method'], OrderedDict()).setdefault(row['dataset'],
                                                                         OrderedDict(N=0))
        per['N'] += 1
        for k, v in row.items():
            if k not in ID_COLUMNS:
                per[k] = per.get(k, 0) + int(math.isfinite(float(v)))
    return counts


def _count_notes(counts: dict) -> list[str]:
    """One note per (method, dataset) whose means do not all cover its N images."""
    notes = []
    for method, per in counts.items():
        for dataset, c in per.items():
            by_n: dict[int, list[str]] = OrderedDict()
            for key, n in c.items():
                if key != 'N' and n < c['N']:
                    by_n.setdefault(n, []).append(key)
            for n, keys in by_n.items():
                notes.append(f'{method} on {dataset}: {", ".join(keys)} averaged over {n} of '
                             f'{c["N"]} images (NaN values left out)')
    return notes


def _dropped_note(dropped: Sequence[dict]) -> str:
    ids = list(dict.fromkeys(f'{d["dataset"]}/{d["image"]}' for d in dropped))
    shown = ', '.join(ids[:5]) + (', …' if len(ids) > 5 else '')
    return (f'{len(ids)} image(s) left out of the means (N counts the others): {shown}; '
            'the reasons are in summary.json "dropped"')


def _nanmean(values: list[float]) -> float:
    finite = [x for x in values if not math.isnan(x)]
    return sum(finite) / len(finite) if finite else float('nan')


def summarise(rows: Sequence[dict]) -> dict[str, dict[str, dict[str, float]]]:
    """Mean of every metric, as ``{method: {dataset: {metric: mean}}}`` (NaNs left out; a
    metric with no finite value is NaN)."""
    acc: dict[str, dict[str, dict[str, list[float]]]] = OrderedDict()
    for row in rows:
        per = acc.setdefault(row['method'], OrderedDict()).setdefault(row['dataset'], OrderedDict())
        for k, v in row.items():
            if k not in ID_COLUMNS:
                per.setdefault(k, []).append(float(v))
    return {m: {d: {k: _nanmean(v) for k, v in ds.items()} for d, ds in per.items()}
            for m, per in acc.items()}


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
        if col[1] == 'N':
            continue
        vals = [(m, per.get(col[0], {}).get(col[1])) for m, per in summary.items()]
        vals = [(m, v) for m, v in vals if v is not None and not math.isnan(v)]
        if not vals:
            continue
        direction = directions.get(col[1], '')
        best[col] = min(vals, key=lambda mv: distance_from_best(mv[1], direction))[0]
    return best


def _fmt(v: Optional[float], digits: int = 4) -> str:
    if v is None:
        return '–'
    if isinstance(v, int):  # an image count
        return str(v)
    if math.isnan(v):
        return 'nan'
    return f'{v:.{digits}f}' if abs(v) < 1000 else f'{v:.1f}'


def _with_counts(summary: dict, counts: dict) -> dict:
    """The summary with each dataset's image count ``N`` as its first column."""
    return {m: {d: {'N': counts.get(m, {}).get(d, {}).get('N', 0), **values}
                for d, values in per.items()} for m, per in summary.items()}


def table_cells(summary: dict, directions: dict[str, str], conventions: dict[str, str],
                counts: Optional[dict] = None, notes: Sequence[str] = ()
                ) -> tuple[list[tuple[str, str]], list[str], list[tuple[str, list]], list[str]]:
    """What every rendering of the summary shows: the columns ``(dataset, metric)``, their
    headers (``MI↑``, prefixed by the dataset when there are several), one row per method of
    ``(text, raw value, best)`` cells (the best value per column, when several methods are
    listed) and the footnotes (each column's convention, then ``notes``)."""
    if counts is not None:
        summary = _with_counts(summary, counts)
    cols = _columns(summary)
    best = _best(summary, cols, directions)
    multi = len({d for d, _ in cols}) > 1
    head = [f'{d} {k}{directions.get(k, "")}' if multi else f'{k}{directions.get(k, "")}'
            for d, k in cols]
    footnotes = [f'{k}: {conventions[k]}' for k in dict.fromkeys(k for _, k in cols)
                 if k in conventions] + list(notes)
    rows = []
    for method, per in summary.items():
        values = [per.get(d, {}).get(k) for d, k in cols]
        rows.append((method, [(_fmt(v), v, best.get(col) == method)
                              for col, v in zip(cols, values)]))
    return cols, head, rows, footnotes


def format_tables(summary: dict, directions: dict[str, str], conventions: dict[str, str],
                  counts: Optional[dict] = None, notes: Sequence[str] = ()) -> dict[str, str]:
    """Markdown, LaTeX and CSV renderings of the summary; ``counts`` (of
    :func:`count_images`) adds a column ``N`` per dataset, ``notes`` go under the tables."""
    cols, head, rows, footnotes = table_cells(summary, directions, conventions, counts, notes)
    md = ['| method | ' + ' | '.join(head) + ' |', '|---|' + '---:|' * len(cols)]
    tex_rows = []
    csv_buf = io.StringIO()
    writer = csv.writer(csv_buf)
    writer.writerow(['method'] + [f'{d}/{k}' for d, k in cols])
    for method, cells in rows:
        md.append(f'| {method} | ' + ' | '.join(f'**{s}**' if bold else s
                                               for s, _, bold in cells) + ' |')
        tex_rows.append(method.replace('_', r'\_') + ' & ' + ' & '.join(
            f'\\textbf{{{s}}}' if bold else s for s, _, bold in cells) + r' \\')
        writer.writerow([method] + ['' if v is None else v for _, v, _ in cells])
    if footnotes:
        md += [''] + [f'- {f}' for f in footnotes]

    tex_head = ' & '.join(h.replace('_', r'\_').replace('↑', r'$\uparrow$')
                          .replace('↓', r'$\downarrow$').replace('→0', r'$\to 0$')
                          for h in head)
    tex = [r'\begin{table}[t]', r'\centering', r'\begin{tabular}{l' + 'r' * len(cols) + '}',
           r'\toprule', f'Method & {tex_head} \\\\', r'\midrule', *tex_rows, r'\bottomrule',
           r'\end{tabular}']
    if footnotes:
        tex.append(r'\caption{' + '; '.join(f.replace('_', r'\_') for f in footnotes) + '}')
    tex.append(r'\end{table}')
    return {'md': '\n'.join(md) + '\n', 'tex': '\n'.join(tex) + '\n', 'csv': csv_buf.getvalue()}


def _json_safe(obj):
    """NaN/inf → None, so the JSON stays standard."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    return obj


def _write_new(path: str, text: str) -> None:
    try:
        with open(path, 'x', newline='') as f:
            f.write(text)
    except FileExistsError:
        raise FileExistsError(f'{path} already exists; mmhaze never overwrites results') from None


def write_tables(out_dir: str, summary: dict, directions: dict[str, str],
                 conventions: dict[str, str], counts: Optional[dict] = None,
                 notes: Sequence[str] = ()) -> dict[str, str]:
    """Write ``table.{md,tex,csv}`` into ``out_dir``; returns their paths and the Markdown."""
    os.makedirs(out_dir, exist_ok=True)
    tables = format_tables(summary, directions, conventions, counts, notes)
    paths = {}
    for ext, text in tables.items():
        paths[f'table_{ext}'] = osp.join(out_dir, f'table.{ext}')
        _write_new(paths[f'table_{ext}'], text)
    paths['markdown'] = tables['md']
    return paths


def write_run_folder(run_dir: str, rows: Sequence[dict], meta: dict,
                     conventions: dict[str, str], directions: dict[str, str],
                     main_method: Optional[str] = None, notes: Sequence[str] = (),
                     dropped: Sequence[dict] = ()) -> dict[str, str]:
    """Write the five result files into ``run_dir``; returns their paths and the Markdown.

    ``notes`` (e.g. a checkpoint loaded non-strictly) go under the tables and into the meta;
    ``dropped`` lists the images left out (``dict(dataset, image, reason, ...)``).
    """
    os.makedirs(run_dir, exist_ok=True)
    image_rows = [r for r in rows if r['image'] != DATASET_LEVEL]
    keys = list(dict.fromkeys(k for r in image_rows for k in r if k not in ID_COLUMNS))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(ID_COLUMNS) + keys, lineterminator='\n')
    writer.writeheader()
    for r in image_rows:
        writer.writerow({k: r.get(k, '') for k in list(ID_COLUMNS) + keys})
    paths = {'per_image': osp.join(run_dir, 'per_image.csv'),
             'summary': osp.join(run_dir, 'summary.json')}
    _write_new(paths['per_image'], buf.getvalue())
    summary = summarise(rows)
    main = main_method if main_method in summary else next(iter(summary), None)
    counts = count_images(rows)
    count_notes = _count_notes(counts)
    notes = list(notes) + count_notes + ([_dropped_note(dropped)] if dropped else [])
    payload = {
        'meta': dict(meta, conventions=conventions, directions=directions,
                     **({'notes': notes} if notes else {})),
        'results': summary.get(main, {}) if main else {},
        'results_by_method': summary,
        'image_counts': counts,
    }
    if dropped:
        payload['dropped'] = [dict(d) for d in dropped]
    _write_new(paths['summary'], json.dumps(_json_safe(payload), indent=2, ensure_ascii=False))
    incomplete = bool(dropped or count_notes)
    paths.update(write_tables(run_dir, summary, directions, conventions,
                              counts if incomplete else None, notes))
    return paths


def read_run_folder(run_dir: str) -> dict:
    """The ``summary.json`` of a run folder (``null`` values back to NaN)."""
    path = osp.join(run_dir, 'summary.json')
    if not osp.isfile(path):
        raise FileNotFoundError(f'{run_dir} is not a run folder: {path} not found (pass the '
                                '<work_dir>/<timestamp>/ folder that tools/test.py or '
                                'eval_folder.py wrote)')
    with open(path) as f:
        payload = json.load(f)
    if 'results_by_method' not in payload or 'meta' not in payload:
        raise ValueError(f'{path}: not an mmhaze summary (no "results_by_method"/"meta")')
    payload['results_by_method'] = {
        m: {d: {k: float('nan') if v is None else float(v) for k, v in vals.items()}
            for d, vals in per.items()} for m, per in payload['results_by_method'].items()}
    return payload


def merge_conventions(metas: Sequence[tuple[str, dict]], strict: bool = True,
                      metrics: Optional[Sequence[str]] = None
                      ) -> tuple[dict[str, str], dict[str, str]]:
    """The directions and conventions of several runs' ``(run_dir, meta)``; a metric computed
    under two different conventions (numbers that do not compare) is an error naming both runs
    when ``strict``. ``metrics``: only these are compared (and returned)."""
    directions: dict[str, str] = {}
    conventions: dict[str, str] = {}
    origin: dict[str, str] = {}
    for run, meta in metas:
        directions.update(meta.get('directions', {}))
        for key, text in meta.get('conventions', {}).items():
            if metrics and key not in metrics:
                continue
            if strict and key in conventions and conventions[key] != text:
                raise ValueError(f'{key} was computed under different conventions in '
                                 f'{origin[key]} ({conventions[key]!r}) and {run} '
                                 f'({text!r}); the numbers do not compare')
            conventions.setdefault(key, text)
            origin.setdefault(key, run)
    return directions, conventions


def merge_run_folders(run_dirs: Sequence[str], metrics: Optional[Sequence[str]] = None,
                      datasets: Optional[Sequence[str]] = None, strict_conventions: bool = True
                      ) -> tuple[dict, dict[str, str], dict[str, str]]:
    """Join run folders into ``({method: {dataset: {metric: mean}}}, directions, conventions)``.

    A (method, dataset) pair found in two runs, or a metric (of ``metrics``, when given)
    computed under two different conventions (numbers that do not compare), is an error naming
    the runs.
    """
    summary: dict = OrderedDict()
    origin: dict[tuple, str] = {}
    payloads = [(run, read_run_folder(run)) for run in run_dirs]
    directions, conventions = merge_conventions(
        [(run, payload['meta']) for run, payload in payloads], strict_conventions, metrics)
    for run, payload in payloads:
        for method, per in payload['results_by_method'].items():
            for dataset, values in per.items():
                if datasets and dataset not in datasets:
                    continue
                if (method, dataset) in origin:
                    raise ValueError(f'method {method!r} on {dataset!r} is in both '
                                     f'{origin[(method, dataset)]} and {run}')
                origin[(method, dataset)] = run
                picked = {k: v for k, v in values.items() if not metrics or k in metrics}
                if metrics:
                    picked = {k: picked[k] for k in metrics if k in picked}
                summary.setdefault(method, OrderedDict())[dataset] = picked
    if datasets:  # the requested dataset order
        summary = {m: {d: per[d] for d in datasets if d in per} for m, per in summary.items()}
    return summary, directions, conventions
