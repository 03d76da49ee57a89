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
``N`` counts the images scored: an image left out before scoring (a missing partner, sizes that
differ) is not in it; an image a metric failed on is (the other metrics scored it), and a note
names that metric's keys, the images and the reason. A key no image has a value of is a column
of ``n/a``.
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
from typing import NamedTuple, Optional

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


def count_images(rows: Sequence[dict], skipped: Sequence[dict] = ()
                 ) -> dict[str, dict[str, dict[str, int]]]:
    """``{method: {dataset: {'N': images, metric: finite values}}}`` of per-image rows.

    ``skipped``: the images a metric failed on (``dict(dataset, image, keys, ...)``); they were
    scored (by the other metrics), so they count in ``N``, without a value of ``keys``.
    """
    counts: dict = OrderedDict()
    images: dict[tuple[str, str], set] = {}
    for row in rows:
        if row['image'] == DATASET_LEVEL:
            continue
        per = counts.setdefault(row['method'], OrderedDict()).setdefault(row['dataset'],
                                                                         OrderedDict(N=0))
        images.setdefault((row['method'], row['dataset']), set()).add(row['image'])
        for k, v in row.items():
            if k not in ID_COLUMNS:
                per[k] = per.get(k, 0) + int(math.isfinite(float(v)))
    failed = _failed_images(skipped)
    for (method, dataset), seen in images.items():
        counts[method][dataset]['N'] = len(seen | failed.get(dataset, set()))
    return counts


def _failed_images(skipped: Sequence[dict]) -> dict[str, set]:
    """Dataset → the images a metric failed on."""
    failed: dict[str, set] = {}
    for d in skipped:
        failed.setdefault(d['dataset'], set()).add(d['image'])
    return failed


def _count_notes(counts: dict, skipped: Sequence[dict] = ()) -> list[str]:
    """One note per (method, dataset) whose means leave NaN values out (the images a metric
    failed on have notes of their own: :func:`_failure_notes`)."""
    not_computed: dict[tuple[str, str], set] = {}
    for d in skipped:
        for key in d['keys']:
            not_computed.setdefault((d['dataset'], key), set()).add(d['image'])
    notes = []
    for method, per in counts.items():
        for dataset, c in per.items():
            by_n: dict[int, list[str]] = OrderedDict()
            for key, n in c.items():
                if key != 'N' and n + len(not_computed.get((dataset, key), ())) < c['N']:
                    by_n.setdefault(n, []).append(key)
            for n, keys in by_n.items():
                notes.append(f'{method} on {dataset}: {", ".join(keys)} averaged over {n} of '
                             f'{c["N"]} images (NaN values left out)')
    return notes


def _failure_notes(skipped: Sequence[dict], counts: dict) -> list[str]:
    """One note per (dataset, failing metric): its keys, the images, the first reason."""
    groups: dict[tuple[str, tuple], list[dict]] = OrderedDict()
    for d in skipped:
        groups.setdefault((d['dataset'], tuple(d['keys'])), []).append(d)
    notes = []
    for (dataset, keys), failures in groups.items():
        ids = list(dict.fromkeys(f'{dataset}/{d["image"]}' for d in failures))
        total = max((per[dataset]['N'] for per in counts.values() if dataset in per),
                    default=len(ids))
        shown = ', '.join(ids[:5]) + (', …' if len(ids) > 5 else '')
        outcome = ('n/a in the table' if len(ids) >= total else
                   f'{"its" if len(keys) == 1 else "their"} means cover the other '
                   f'{total - len(ids)}')
        each = '; each image\'s reason is in summary.json "dropped"' if len(ids) > 1 else ''
        where = (f'any of the {total} images' if len(ids) >= total else
                 f'{len(ids)} of the {total} images')
        notes.append(f'{", ".join(keys)} not computed on {where} ({shown}): '
                     f'{failures[0]["reason"]} — {outcome}{each}')
    return notes


def _add_uncomputed_keys(summary: dict, counts: dict, skipped: Sequence[dict],
                         main_method: Optional[str]) -> list[str]:
    """Give each key a metric failed on for every image of a dataset its column: ``None``
    (``n/a``) in every row of that dataset (the main method's when no metric scored any image),
    count 0. Returns those keys."""
    failed = _failed_images(skipped)
    added = []
    for dataset in failed:
        have = {k for per in summary.values() for k in per.get(dataset, {})}
        keys = [k for d in skipped if d['dataset'] == dataset for k in d['keys'] if k not in have]
        if not keys:
            continue
        methods = [m for m, per in summary.items() if dataset in per] or [main_method or 'model']
        for method in methods:
            values = summary.setdefault(method, OrderedDict()).setdefault(dataset, OrderedDict())
            count = counts.setdefault(method, OrderedDict()).setdefault(
                dataset, OrderedDict(N=len(failed[dataset])))
            for key in dict.fromkeys(keys):
                values[key], count[key] = None, 0
        added += [k for k in dict.fromkeys(keys) if k not in added]
    return added


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


# A cell of a column the method does not have (several runs in one table).
_ABSENT = object()


def _fmt(v: Optional[float], digits: int = 4) -> str:
    if v is _ABSENT:
        return '–'
    # None: a metric failed on every image; NaN: the same read back from summary.json (null),
    # or a mean over no finite value.
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return 'n/a'
    if isinstance(v, int):  # an image count
        return str(v)
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
        values = [per.get(d, {}).get(k, _ABSENT) for d, k in cols]
        rows.append((method, [(_fmt(v), None if v is _ABSENT else v, best.get(col) == method)
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
    ``dropped`` lists the images left out (``dict(dataset, image, reason, ...)``): before
    scoring, or, with the ``keys`` a metric failed to compute (:func:`collect_dropped`), by one
    metric only.
    """
    os.makedirs(run_dir, exist_ok=True)
    failed = [d for d in dropped if d.get('keys')]
    left_out = [d for d in dropped if not d.get('keys')]
    summary = summarise(rows)
    counts = count_images(rows, failed)
    uncomputed = _add_uncomputed_keys(summary, counts, failed, main_method)
    image_rows = [r for r in rows if r['image'] != DATASET_LEVEL]
    keys = list(dict.fromkeys([k for r in image_rows for k in r if k not in ID_COLUMNS]
                              + uncomputed))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(ID_COLUMNS) + keys, lineterminator='\n')
    writer.writeheader()
    for r in image_rows:
        writer.writerow({k: r.get(k, '') for k in list(ID_COLUMNS) + keys})
    paths = {'per_image': osp.join(run_dir, 'per_image.csv'),
             'summary': osp.join(run_dir, 'summary.json')}
    _write_new(paths['per_image'], buf.getvalue())
    main = main_method if main_method in summary else next(iter(summary), None)
    count_notes = _count_notes(counts, failed) + _failure_notes(failed, counts)
    notes = list(notes) + count_notes + ([_dropped_note(left_out)] if left_out else [])
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


#: The row two-stage configs score the dehazer's output under (``ExtraRowMetric``); a merged
#: table names it by the run's dehazer.
DEHAZER_ROW = 'dehazer output'
#: What follows the dehazer's name in that row's merged name: ``'AODNet output (dehazer alone)'``.
DEHAZER_LABEL_SUFFIX = ' output (dehazer alone)'


def run_method(payload: dict, run_dir: str) -> str:
    """A run's own row: its method (``meta.method``: the config name or ``--method-name``),
    else its first row, else the folder's name."""
    method = payload['meta'].get('method')
    if method:
        return str(method)
    return next(iter(payload['results_by_method']), osp.basename(osp.normpath(run_dir)))


def run_dehazer(payload: dict, run_dir: str) -> Optional[str]:
    """The dehazer of a two-stage run as the run folder records it: the config copy
    ``tools/test.py`` saved beside the results (``model.dehazer.type``, ``-<ARCH>`` when it has
    an ``arch``), else where its weights came from (``meta.weights``, runs without a
    checkpoint); None when neither says."""
    meta = payload['meta']
    copy = osp.join(run_dir, osp.basename(str(meta['config']))) if meta.get('config') else ''
    if osp.isfile(copy):
        from mmengine.config import Config
        try:
            dehazer = Config.fromfile(copy).get('model', {}).get('dehazer')
        except Exception:  # a config that no longer parses only costs the row its name
            dehazer = None
        if isinstance(dehazer, dict) and dehazer.get('type'):
            arch = dehazer.get('arch')
            return str(dehazer['type']) + (f'-{str(arch).upper()}' if arch else '')
    source = str((meta.get('weights') or {}).get('dehazer') or '')  # 'AODNet: init_cfg ...'
    return source.split(':', 1)[0].strip() or None


#: Rows of two runs whose values agree to this relative difference are the same row: runs of
#: one model on one test set by two versions of the metric code may differ in the last bits of
#: their float sums (1e-12), while another haze seed or other weights move the 4th digit.
SAME_ROW_RTOL = 1e-9


def _same_values(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        math.isclose(a[k], b[k], rel_tol=SAME_ROW_RTOL)
        or (math.isnan(a[k]) and math.isnan(b[k])) for k in a)


def _difference(copies: Sequence[tuple[str, dict]]) -> Optional[str]:
    """Where rows of one name differ between runs (``(run name, {dataset: values})`` each), as
    text; None when every dataset's values are the same in all the runs that have it."""
    for i, (name_a, per_a) in enumerate(copies):
        for name_b, per_b in copies[i + 1:]:
            for dataset in per_a.keys() & per_b.keys():
                a, b = per_a[dataset], per_b[dataset]
                if _same_values(a, b):
                    continue
                key = next((k for k in a if k in b and not _same_values({k: a[k]}, {k: b[k]})),
                           None)
                # enough digits to show the difference, however small
                what = (f'{key} {a[key]:.10g} in {name_a}, {b[key]:.10g} in {name_b}' if key
                        else f'metrics {sorted(a)} in {name_a}, {sorted(b)} in {name_b}')
                return f'on {dataset} ({what})'
    return None


def _pick(per: dict, metrics: Optional[Sequence[str]],
          datasets: Optional[Sequence[str]]) -> dict:
    """A row's ``{dataset: {metric: value}}`` restricted to ``datasets`` and ``metrics``
    (in that order)."""
    out = OrderedDict()
    for dataset, values in per.items():
        if datasets and dataset not in datasets:
            continue
        out[dataset] = ({k: values[k] for k in metrics if k in values} if metrics
                        else dict(values))
    return out


class MergedRuns(NamedTuple):
    """Run folders joined into one table (:func:`merge_run_folders`)."""
    summary: dict  # {row: {dataset: {metric: mean}}}
    directions: dict[str, str]
    conventions: dict[str, str]
    notes: list[str]  # how rows were merged, then the runs' own notes
    counts: dict  # {row: {dataset: {'N': images, metric: values}}}, from the runs
    incomplete: bool  # a run's table showed its N column (images or values left out)


def _run_notes(payloads: Sequence[tuple[str, dict]], methods: Sequence[str]) -> list[str]:
    """The runs' own notes (uncomputed metrics, images left out): a note of every run once,
    another prefixed with the runs it belongs to."""
    holders: dict[str, list[str]] = OrderedDict()
    for (_, payload), method in zip(payloads, methods):
        for note in payload['meta'].get('notes') or ():
            holders.setdefault(str(note), []).append(method)
    return [note if len(owners) == len(payloads) else f'{", ".join(owners)}: {note}'
            for note, owners in holders.items()]


def merge_run_folders(run_dirs: Sequence[str], metrics: Optional[Sequence[str]] = None,
                      datasets: Optional[Sequence[str]] = None, strict_conventions: bool = True
                      ) -> MergedRuns:
    """Join run folders into one :class:`MergedRuns`; its notes say how rows were merged, then
    what the runs' own tables noted, and its counts carry each row's ``N`` from its run.

    Each run's own row (its method) comes first, under its name; a method on one dataset in two
    runs is an error naming them. The runs' other rows (comparison rows: the hazy input, a
    two-stage run's dehazer output, renamed after the run's dehazer, e.g.
    ``'AODNet output (dehazer alone)'``) follow, in the order they stand in their runs: rows of
    one name that are the same in every run holding them (on each dataset they share) are shown
    once; when they differ, each run's is kept, named ``'<row> (<run's method>)'``, and a note
    says where they differ. A metric (of ``metrics``, when given) computed under two different
    conventions is an error naming the runs.
    """
    payloads = [(run, read_run_folder(run)) for run in run_dirs]
    directions, conventions = merge_conventions(
        [(run, payload['meta']) for run, payload in payloads], strict_conventions, metrics)
    summary: dict = OrderedDict()
    counts: dict = OrderedDict()
    origin: dict[tuple, str] = {}
    # comparison row name → [(place in its run, run, run's method, {dataset: values}, counts)]
    shared: dict[str, list[tuple[int, str, str, dict, dict]]] = OrderedDict()
    methods = []
    for run, payload in payloads:
        own = run_method(payload, run)
        methods.append(own)
        rows = payload['results_by_method']
        run_counts = payload.get('image_counts') or {}
        counts[own] = run_counts.get(own, {})
        for dataset, values in _pick(rows.get(own, {}), metrics, datasets).items():
            if (own, dataset) in origin:
                raise ValueError(f'method {own!r} on {dataset!r} is in both '
                                 f'{origin[(own, dataset)]} and {run}')
            origin[(own, dataset)] = run
            summary.setdefault(own, OrderedDict())[dataset] = values
        others = [row for row in rows if row != own]
        dehazer = run_dehazer(payload, run) if DEHAZER_ROW in others else None
        for place, row in enumerate(others):
            name = f'{dehazer}{DEHAZER_LABEL_SUFFIX}' if row == DEHAZER_ROW and dehazer else row
            shared.setdefault(name, []).append((place, run, own, _pick(rows[row], metrics,
                                                                       datasets),
                                                run_counts.get(row, {})))
    notes = []
    for name, copies in sorted(shared.items(), key=lambda item: min(c[0] for c in item[1])):
        difference = _difference([(own, per) for _, _, own, per, _ in copies])
        kept = ({name: list(copies)} if difference is None
                else {f'{name} ({c[2]})': [c] for c in copies})
        for label, sources in kept.items():
            if label in summary:
                owners = ', '.join(dict.fromkeys(r for (m, _), r in origin.items() if m == label))
                raise ValueError(f'{label!r} is a run\'s own method ({owners}) and a row of '
                                 f'{", ".join(c[1] for c in sources)}; rename the method '
                                 '(tools/test.py --method-name)')
            merged = summary.setdefault(label, OrderedDict())
            for _, _, _, per, row_counts in sources:
                for dataset, values in per.items():
                    merged.setdefault(dataset, values)
                    if dataset in row_counts:
                        counts.setdefault(label, OrderedDict()).setdefault(
                            dataset, row_counts[dataset])
        if difference is not None:
            notes.append(f'{name!r} differs between runs {difference}: shown for each of the '
                         f"{len(copies)} runs, as '{name} (<run>)'")
        elif len(copies) > 1:
            runs = (f'{len(copies)} runs ({", ".join(c[2] for c in copies)})'
                    if len(copies) < len(payloads) else
                    'both runs' if len(copies) == 2 else f'all {len(copies)} runs')
            notes.append(f'{name!r}: the same in {runs}, shown once')
    if datasets:  # the requested dataset order
        summary = {m: {d: per[d] for d in datasets if d in per} for m, per in summary.items()}
    incomplete = any(payload.get('dropped') or any(
        n < c['N'] for per in (payload.get('image_counts') or {}).values()
        for c in per.values() for k, n in c.items() if k != 'N') for _, payload in payloads)
    return MergedRuns(summary, directions, conventions, notes + _run_notes(payloads, methods),
                      counts, incomplete)

