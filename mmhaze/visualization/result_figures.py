"""The papers' result figures from run folders (matplotlib only).

- :func:`violin_figure`: one panel per dataset, one violin per method, the IQR box and whiskers
  inside, the median (white dot) and the mean (black bar) marked, ↑/↓/→0 in the axis label — the
  IASSF paper's Figs. 6–9 layout.
- :func:`grid_figure`: rows = images, columns = hazy input, IR, each method's outputs, the
  clear reference; an optional zoom box drawn on every tile with its enlarged crop inset in the
  bottom-right corner (IASSF Figs. 3–5).
- :func:`intermediates_figure`: HSVF's hazy input, NIR, semantic map (in the dataset's
  palette), O_SR, O_VF and final output.

Tiles are the images' own pixels (``imshow`` without resampling in the file's PNG when the
figure's dpi allows); zoom boxes and insets are drawn into the pixel arrays, so a grid is the
same in PNG and PDF. :func:`plan_figures` names every file before anything is written and
:func:`write_figures` refuses to overwrite one.
"""
from __future__ import annotations

import math
import os
import os.path as osp
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import numpy as np

from .run_results import RunResults

FORMATS = ('png', 'pdf')
TILE_INCHES = 1.6
MEDIAN_STYLE = dict(marker='o', s=22, facecolor='white', edgecolor='black', linewidth=0.8)
MEAN_STYLE = dict(marker='_', s=160, color='black', linewidth=1.6)
ZOOM_COLOUR = (255, 40, 40)
INSET_FRACTION = 0.45  # the inset's side, as a fraction of the tile's shorter side


# ---------------------------------------------------------------------------------------------
# Pixels
# ---------------------------------------------------------------------------------------------

def read_rgb(path: Optional[str], palette: Optional[Sequence] = None) -> Optional[np.ndarray]:
    """An image file as H×W×3 uint8 RGB (grey replicated; a label map through ``palette``).
    None for no path."""
    import cv2
    if path is None:
        return None
    image = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ValueError(f'{path}: not a readable image')
    if image.dtype != np.uint8:  # 16-bit files: shown on the 8-bit scale
        image = (image.astype(np.float64) / max(float(image.max()), 1.0) * 255).round()
        image = image.astype(np.uint8)
    if image.ndim == 2:
        if palette is not None:
            return colour_labels(image, palette)
        return np.repeat(image[..., None], 3, axis=2)
    if image.shape[2] == 4:
        image = image[..., :3]
    return np.ascontiguousarray(image[..., ::-1])


def colour_labels(labels: np.ndarray, palette: Sequence) -> np.ndarray:
    """Class ids → RGB in the dataset's palette (ids outside it, e.g. 255 = ignore, black)."""
    import torch

    from .fusion_visualizer import labels_to_rgb
    return labels_to_rgb(torch.from_numpy(labels.astype(np.int64)), palette)


def missing_tile(shape: tuple[int, int]) -> np.ndarray:
    """A grey tile where a method has no image of the pair."""
    return np.full(shape + (3,), 200, np.uint8)


def draw_zoom(tile: np.ndarray, box: tuple[int, int, int, int],
              colour: tuple[int, int, int] = ZOOM_COLOUR) -> np.ndarray:
    """``tile`` with ``box`` (x, y, w, h) outlined and its crop, enlarged by an integer factor
    (nearest neighbour), inset in the bottom-right corner with a border of the same colour."""
    h, w = tile.shape[:2]
    x, y, bw, bh = clip_box(box, (h, w))
    out = tile.copy()
    t = max(1, min(h, w) // 100)  # line width in pixels
    crop = tile[y:y + bh, x:x + bw]
    side = max(1, int(min(h, w) * INSET_FRACTION))
    scale = max(1, side // max(bw, bh))  # a box larger than the inset is shown unscaled
    inset = np.repeat(np.repeat(crop, scale, axis=0), scale, axis=1)
    ih, iw = inset.shape[:2]
    ih, iw = min(ih, h - 2 * t), min(iw, w - 2 * t)
    if ih > 0 and iw > 0:
        y0, x0 = h - ih - t, w - iw - t
        out[y0 - t:h, x0 - t:w] = colour
        out[y0:y0 + ih, x0:x0 + iw] = inset[:ih, :iw]
    _outline(out, (x, y, bw, bh), colour, t)
    return out


def _outline(image: np.ndarray, box: tuple[int, int, int, int], colour, t: int) -> None:
    x, y, w, h = box
    image[y:y + h, x:min(x + t, x + w)] = colour
    image[y:y + h, max(x + w - t, x):x + w] = colour
    image[y:min(y + t, y + h), x:x + w] = colour
    image[max(y + h - t, y):y + h, x:x + w] = colour


def clip_box(box: Sequence[int], shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """A zoom box inside an image of ``shape`` (H, W); a box fully outside is an error."""
    h, w = shape
    x, y, bw, bh = (int(v) for v in box)
    if bw < 1 or bh < 1:
        raise ValueError(f'zoom box {tuple(box)}: width and height must be positive')
    if x >= w or y >= h or x + bw <= 0 or y + bh <= 0:
        raise ValueError(f'zoom box {tuple(box)} (x y w h) lies outside the {w}×{h} image')
    x0, y0 = max(x, 0), max(y, 0)
    return x0, y0, min(x + bw, w) - x0, min(y + bh, h) - y0


def auto_zoom_box(images: Sequence[np.ndarray]) -> tuple[int, int, int, int]:
    """The square window where ``images`` differ most from one another — the per-pixel spread
    of their grey levels and of their gradient magnitudes (details count as much as tone),
    summed over the window — or, with one image, where it has the most detail. The window's
    side is half the inset's, so the inset enlarges it twice; windows that would lie under the
    inset (bottom-right corner) are not candidates; ties go to the top-left-most window."""
    grey = np.stack([im.astype(np.float64).mean(axis=2) for im in images])
    h, w = grey.shape[1:]
    size = max(4, int(min(h, w) * INSET_FRACTION) // 2)
    gy, gx = np.gradient(grey, axis=(1, 2))
    detail = np.hypot(gx, gy)
    energy = grey.std(axis=0) + detail.std(axis=0) if len(grey) > 1 else detail[0]
    sums = _box_sum(energy, size)
    inset = int(min(h, w) * INSET_FRACTION) + 2 * max(1, min(h, w) // 100)
    ys, xs = np.mgrid[:sums.shape[0], :sums.shape[1]]
    sums[(ys + size > h - inset) & (xs + size > w - inset)] = -np.inf
    y, x = np.unravel_index(int(np.argmax(sums)), sums.shape)
    return int(x), int(y), size, size


def _box_sum(image: np.ndarray, size: int) -> np.ndarray:
    """Sums over every size×size window (valid positions), by an integral image."""
    integral = np.pad(image, ((1, 0), (1, 0))).cumsum(0).cumsum(1)
    return (integral[size:, size:] - integral[:-size, size:] - integral[size:, :-size]
            + integral[:-size, :-size])


# ---------------------------------------------------------------------------------------------
# Violins
# ---------------------------------------------------------------------------------------------

def method_colours(labels: Sequence[str]) -> dict[str, tuple]:
    """One colour per method, the same in every figure."""
    import matplotlib
    cmap = matplotlib.colormaps['tab10']
    return {label: cmap(i % 10) for i, label in enumerate(labels)}


def violin_figure(results: RunResults, metric: str):
    """One panel per dataset that has ``metric``, one violin per method (gid
    ``violin:<method>``), the IQR box, whiskers to the extremes, median and mean marked (gids
    ``median:<method>``, ``mean:<method>``)."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    datasets = [d for d in results.datasets if results.has_metric(d, metric)]
    if not datasets:
        raise ValueError(f'no run has per-image values of {metric}')
    labels = results.labels
    colours = method_colours(labels)
    width = max(2.6, 0.55 * len(labels) + 1.0)
    fig, axes = plt.subplots(1, len(datasets), figsize=(width * len(datasets), 3.4),
                             squeeze=False)
    arrow = results.directions.get(metric, '')
    for ax, dataset in zip(axes[0], datasets):
        for pos, label in enumerate(labels, start=1):
            values = results.values(dataset, label, metric)
            if len(values):
                _violin(ax, pos, values, colours[label], label)
            else:
                ax.text(pos, 0.5, 'n/a', transform=ax.get_xaxis_transform(), ha='center',
                        va='center', fontsize=8, color='0.4')
        ax.set_xticks(range(1, len(labels) + 1))
        ax.set_xticklabels(labels, rotation=30, ha='right', fontsize=8)
        ax.set_xlim(0.4, len(labels) + 0.6)
        ax.set_title(dataset, fontsize=10)
        ax.set_ylabel(f'{metric} {arrow}'.strip())
        ax.grid(axis='y', linewidth=0.4, alpha=0.5)
    handles = [Line2D([], [], linestyle='none', marker='o', markerfacecolor='white',
                      markeredgecolor='black', label='median'),
               Line2D([], [], linestyle='none', marker='_', markersize=12, color='black',
                      markeredgewidth=1.6, label='mean'),
               Line2D([], [], color='black', linewidth=4, label='IQR')]
    fig.legend(handles=handles, loc='upper right', fontsize=7, frameon=False, ncol=3)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    return fig


def _violin(ax, pos: int, values: np.ndarray, colour, label: str) -> None:
    """The violin of one method (its artists' gids: ``violin:``, ``median:``, ``mean:`` +
    the method)."""
    if np.ptp(values) > 0 and len(values) > 1:
        body = ax.violinplot([values], [pos], widths=0.8, showextrema=False)['bodies'][0]
    else:  # one value (or all equal): a KDE has no width; draw a flat band
        v = float(values[0])
        body = ax.fill_betweenx([v, v], pos - 0.35, pos + 0.35)
    body.set_facecolor(colour)
    body.set_edgecolor('black')
    body.set_linewidth(0.5)
    body.set_alpha(0.75)
    body.set_gid(f'violin:{label}')
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    ax.vlines(pos, values.min(), values.max(), color='black', linewidth=0.8)
    ax.vlines(pos, q1, q3, color='black', linewidth=4)
    ax.scatter([pos], [median], zorder=3, gid=f'median:{label}', **MEDIAN_STYLE)
    ax.scatter([pos], [values.mean()], zorder=4, gid=f'mean:{label}', **MEAN_STYLE)


# ---------------------------------------------------------------------------------------------
# Image grids
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    """A grid column: its title and where its tile of a pair comes from."""

    title: str
    field: str
    method: Optional[str] = None  # None: a source of the pair


def grid_columns(results: RunResults, dataset: str, stems: Sequence[str],
                 outputs: Sequence[str] = ('pred_fused', 'pred_dehazed')) -> list[Column]:
    """Hazy input, IR, each method's ``outputs`` that exist for the dataset, clear reference
    (the columns with at least one image of ``stems``)."""
    cols = [Column('hazy input', 'vis'), Column('IR', 'ir')]
    names = {'pred_fused': 'fused', 'pred_dehazed': 'dehazed'}
    for label in results.labels:
        if results.is_comparison_row(label) and results.method(label).row == 'hazy input':
            continue  # the first column already
        for out in outputs:
            one_image = len(outputs) == 1 or results.is_comparison_row(label)
            col = Column(label if one_image else f'{label}\n{names.get(out, out)}', out, label)
            if any(_tile_path(results, dataset, col, s) for s in stems):
                cols.append(col)
    cols.append(Column('clear', 'gt_clear'))
    return [c for c in cols if any(_tile_path(results, dataset, c, s) for s in stems)]


def _tile_path(results: RunResults, dataset: str, col: Column, stem: str) -> Optional[str]:
    if col.method is None:
        return results.source_path(dataset, col.field, stem)
    return results.output_path(col.method, dataset, col.field, stem)


def disagreement_ranking(results: RunResults, dataset: str, metric: str) -> list[str]:
    """The dataset's images ordered by how much the methods disagree on ``metric`` (range of
    their values; images some method has no finite value for come last), then by name."""
    labels = [m for m in results.labels if not results.is_comparison_row(m)] or results.labels
    stems = results.stems(dataset)

    def spread(stem: str) -> float:
        vals = [results.value(dataset, m, stem, metric) for m in labels]
        if not vals or not all(math.isfinite(v) for v in vals):
            return -math.inf
        return max(vals) - min(vals)

    return sorted(stems, key=lambda s: (-spread(s), s))


def grid_figure(results: RunResults, dataset: str, stems: Sequence[str],
                columns: Sequence[Column], zoom: Optional[Sequence[int]] = None,
                auto_zoom: bool = False):
    """Rows = ``stems``, columns = ``columns``; every tile an ``imshow`` of the image's pixels
    (gid ``tile:<row>:<col>``). ``zoom`` (x, y, w, h) or ``auto_zoom`` (per row, where the
    methods' outputs differ most) outlines a box on every tile of the row with its enlarged
    crop inset."""
    rows = [[_load_tile(results, dataset, col, stem) for col in columns] for stem in stems]
    return _tile_figure(rows, [c.title for c in columns], list(stems), zoom, auto_zoom,
                        compare=[i for i, c in enumerate(columns) if c.method is not None])


def _load_tile(results: RunResults, dataset: str, col: Column, stem: str
               ) -> Optional[np.ndarray]:
    return read_rgb(_tile_path(results, dataset, col, stem))


def _tile_figure(rows: list[list[Optional[np.ndarray]]], titles: Sequence[str],
                 row_names: Sequence[str], zoom: Optional[Sequence[int]], auto_zoom: bool,
                 compare: Sequence[int]):
    import matplotlib.pyplot as plt
    n_rows, n_cols = len(rows), len(titles)
    first = next(t for row in rows for t in row if t is not None)
    aspect = first.shape[0] / first.shape[1]
    fig, axes = plt.subplots(n_rows, n_cols, squeeze=False,
                             figsize=(TILE_INCHES * n_cols + 0.4,
                                      TILE_INCHES * aspect * n_rows + 0.5))
    for r, row in enumerate(rows):
        shape = next(t.shape[:2] for t in row if t is not None) if any(
            t is not None for t in row) else first.shape[:2]
        tiles = [t if t is not None else missing_tile(shape) for t in row]
        box = None
        if zoom is not None:
            box = clip_box(zoom, shape)
        elif auto_zoom:
            picked = [tiles[i] for i in compare if row[i] is not None] or [tiles[0]]
            box = auto_zoom_box([t for t in picked if t.shape[:2] == shape] or [tiles[0]])
        for c, tile in enumerate(tiles):
            ax = axes[r][c]
            if box is not None and tile.shape[:2] == shape:
                tile = draw_zoom(tile, box)
            ax.imshow(tile, interpolation='nearest', gid=f'tile:{r}:{c}')
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_linewidth(0.3)
            if r == 0:
                ax.set_title(titles[c], fontsize=7)
            if c == 0:
                ax.set_ylabel(row_names[r], fontsize=6)
            if row[c] is None:
                ax.text(0.5, 0.5, 'no image', transform=ax.transAxes, ha='center',
                        va='center', fontsize=6, color='0.3')
    fig.subplots_adjust(left=0.04, right=0.99, bottom=0.01, top=1 - 0.45 / fig.get_figheight(),
                        wspace=0.03, hspace=0.03)
    return fig


def intermediates_figure(results: RunResults, label: str, dataset: str,
                         stems: Sequence[str], zoom: Optional[Sequence[int]] = None,
                         auto_zoom: bool = False):
    """HSVF's streams for ``stems``: hazy input, NIR, semantic map (the dataset's palette),
    O_SR, O_VF, final output."""
    run = results.method(label).run
    palette = run.palette(dataset)
    spec = [('hazy input', 'vis', None), ('NIR', 'ir', None),
            ('semantic map', 'pred_sem_seg', palette), ('O_SR', 'pred_dehazed', None),
            ('O_VF', 'visual_fused', None), ('final', 'pred_fused', None)]
    rows = [[read_rgb(run.image_path(dataset, field_name, stem), pal)
             for _, field_name, pal in spec] for stem in stems]
    if palette is None:  # grey ids are unreadable: spread them over the range
        for row in rows:
            if row[2] is not None:
                row[2] = (row[2].astype(np.float64) * (255.0 / max(1, row[2].max())))
                row[2] = row[2].astype(np.uint8)
    return _tile_figure(rows, [s[0] for s in spec], list(stems), zoom, auto_zoom,
                        compare=[3, 4, 5])


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------

def safe_name(text: str) -> str:
    """A file-name part of a method, dataset or metric name."""
    return re.sub(r'[^A-Za-z0-9_.-]+', '_', text).strip('_') or 'unnamed'


@dataclass
class FigurePlan:
    """One figure to draw: its file stem, what it shows, and how to draw it."""

    name: str
    kind: str  # 'violin', 'grid', 'intermediates'
    caption: str
    args: dict

    def paths(self, out_dir: str, formats: Sequence[str] = FORMATS) -> list[str]:
        return [osp.join(out_dir, f'{self.name}.{ext}') for ext in formats]

    def draw(self, results: RunResults):
        if self.kind == 'violin':
            return violin_figure(results, **self.args)
        if self.kind == 'grid':
            return grid_figure(results, **self.args)
        return intermediates_figure(results, **self.args)


def plan_figures(results: RunResults, images: Optional[Sequence[str]] = None,
                 num_images: int = 4, rank_metric: Optional[str] = None,
                 zoom: Optional[Sequence[int]] = None, auto_zoom: bool = False,
                 outputs: Sequence[str] = ('pred_fused', 'pred_dehazed')) -> list[FigurePlan]:
    """Every figure the runs allow: a violin plot per metric, a grid per dataset whose images
    were saved, HSVF's intermediates per HSVF run and dataset.

    ``images`` (stems) picks the grid rows; otherwise the ``num_images`` images where the
    methods disagree most on ``rank_metric`` (default: the first metric).
    """
    plans = [FigurePlan(f'violin_{safe_name(m)}', 'violin',
                        f'{m}: per-image values, one violin per method and dataset',
                        dict(metric=m))
             for m in results.metrics if any(results.has_metric(d, m) for d in results.datasets)]
    rank_metric = rank_metric or (results.metrics[0] if results.metrics else None)
    if rank_metric is not None and rank_metric not in results.metrics:
        raise ValueError(f'--rank-metric {rank_metric}: not among the metrics '
                         f'{results.metrics}')
    for dataset in results.datasets:
        stems = _grid_stems(results, dataset, images, num_images, rank_metric)
        if not stems:
            continue
        columns = grid_columns(results, dataset, stems, outputs)
        if not any(c.method for c in columns):
            continue  # no method saved images of this dataset
        how = ('chosen by --images' if images else
               f'where the methods disagree most on {rank_metric}')
        plans.append(FigurePlan(
            f'grid_{safe_name(dataset)}', 'grid',
            f'{dataset}: {", ".join(c.title.replace(chr(10), " ") for c in columns)} '
            f'for the {len(stems)} images {how}',
            dict(dataset=dataset, stems=stems, columns=columns, zoom=zoom,
                 auto_zoom=auto_zoom)))
        for label in results.labels:
            run = results.method(label).run
            if results.is_comparison_row(label) or 'visual_fused' not in run.intermediates:
                continue
            if not any(run.image_path(dataset, 'visual_fused', s) for s in stems):
                continue
            plans.append(FigurePlan(
                f'intermediates_{safe_name(label)}_{safe_name(dataset)}', 'intermediates',
                f'{label} on {dataset}: hazy input, NIR, semantic map, O_SR, O_VF, final',
                dict(label=label, dataset=dataset, stems=stems, zoom=zoom,
                     auto_zoom=auto_zoom)))
    return plans


def _grid_stems(results: RunResults, dataset: str, images: Optional[Sequence[str]],
                num_images: int, rank_metric: Optional[str]) -> list[str]:
    known = results.stems(dataset)
    if images:
        return [s for s in images if s in known]
    if rank_metric is None:
        return known[:num_images]
    return disagreement_ranking(results, dataset, rank_metric)[:num_images]


def refuse_existing(paths: Sequence[str]) -> None:
    """One error naming the first of ``paths`` that exists: results are never overwritten."""
    for path in paths:
        if osp.exists(path):
            raise FileExistsError(f'{path} already exists; mmhaze never overwrites results '
                                  '(choose another --out)')


def save_figure(fig, paths: Sequence[str], dpi: int = 150) -> None:
    """Write ``fig`` to each path (format by extension; no time stamps in the files)."""
    import matplotlib.pyplot as plt
    for path in paths:
        ext = osp.splitext(path)[1].lower()
        metadata = {'CreationDate': None} if ext == '.pdf' else {'Software': None}
        with open(path, 'xb') as f:  # never over an existing file
            fig.savefig(f, format=ext[1:], dpi=dpi, metadata=metadata)
    plt.close(fig)


def write_figures(results: RunResults, plans: Sequence[FigurePlan], out_dir: str,
                  formats: Sequence[str] = FORMATS, dpi: int = 150) -> dict[str, list[str]]:
    """Draw and write every planned figure into ``out_dir`` (refused before anything is
    written when one of the files exists); returns the paths by figure name."""
    paths = {plan.name: plan.paths(out_dir, formats) for plan in plans}
    refuse_existing([p for ps in paths.values() for p in ps])
    os.makedirs(out_dir, exist_ok=True)
    for plan in plans:
        save_figure(plan.draw(results), paths[plan.name], dpi)
    return paths
