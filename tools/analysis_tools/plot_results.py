"""The papers' figures, and an HTML report, from run folders.

    python tools/analysis_tools/plot_results.py RUN_DIR [RUN_DIR ...] --out DIR [--html] \
        [--metrics MI Qabf ...] [--datasets NAME ...] [--rows 'hazy input' ...] \
        [--images STEM ...] [--num-images 4] [--rank-metric MI] [--zoom X Y W H | --zoom auto] \
        [--outputs fused dehazed] [--formats png pdf] [--dpi 150]

RUN_DIR is a ``<work_dir>/<timestamp>/`` folder of ``tools/test.py`` (run with
``--save-images`` for the image grids) or ``eval_folder.py`` (its images are read from the
folders it scored). Writes into DIR, as PNG and PDF:

- ``violin_<metric>``: per-image values, one panel per dataset, one violin per method (IQR box,
  median ○, mean ▬, ↑/↓/→0 in the axis label);
- ``grid_<dataset>``: rows = images (``--images``, or the ``--num-images`` where the methods
  disagree most on ``--rank-metric``), columns = hazy input, IR, each method's outputs, clear;
  ``--zoom`` outlines a box on every tile with its enlarged crop inset;
- ``intermediates_<method>_<dataset>`` for HSVF runs: hazy input, NIR, semantic map, O_SR, O_VF,
  final.

``--html`` adds ``index.html`` (+ ``pages/``, ``files/``, ``thumbs/``): a self-contained report
that opens offline. Existing files are never overwritten: the run stops before writing anything,
naming the first file that exists.
"""
import argparse
import sys

OUTPUT_FIELDS = {'fused': 'pred_fused', 'dehazed': 'pred_dehazed'}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Figures and an HTML report from run folders')
    parser.add_argument('run_dirs', nargs='+', help='run folders (with summary.json)')
    parser.add_argument('--out', required=True, help='folder for the figures (and the report)')
    parser.add_argument('--html', action='store_true', help='also write the HTML report')
    parser.add_argument('--metrics', nargs='+', help='metrics to plot, in this order '
                                                     '(default: all per-image metrics)')
    parser.add_argument('--datasets', nargs='+', help='datasets, in this order (default: all)')
    parser.add_argument('--rows', nargs='+', default=[],
                        help="comparison rows to include as methods, e.g. 'hazy input'")
    parser.add_argument('--images', nargs='+', help='image stems of the grid rows')
    parser.add_argument('--num-images', type=int, default=4,
                        help='grid rows chosen automatically (default: 4)')
    parser.add_argument('--rank-metric', help='the metric the automatic choice ranks images by '
                                              '(default: the first metric)')
    parser.add_argument('--zoom', nargs='+', metavar='X Y W H | auto',
                        help="zoom box in pixels, or 'auto' (per row, where the methods' "
                             'outputs differ most)')
    parser.add_argument('--outputs', nargs='+', choices=list(OUTPUT_FIELDS),
                        default=['fused', 'dehazed'], help='method outputs shown in the grids')
    parser.add_argument('--formats', nargs='+', choices=['png', 'pdf', 'svg'],
                        default=['png', 'pdf'], help='figure formats (default: png pdf)')
    parser.add_argument('--dpi', type=int, default=150, help='PNG resolution (default: 150)')
    parser.add_argument('--mixed-conventions', action='store_true',
                        help='plot runs even when a metric was computed under different '
                             'conventions')
    args = parser.parse_args(argv)
    if args.zoom and not (args.zoom == ['auto'] or len(args.zoom) == 4):
        parser.error("--zoom takes X Y W H (pixels) or 'auto'")
    if args.html and 'png' not in args.formats:
        parser.error('--html shows the PNG figures: keep png in --formats')
    return args


def main(argv=None):
    args = parse_args(argv)
    from mmhaze.utils import report_user_errors
    return report_user_errors(lambda: run(args))


def run(args) -> int:
    from mmhaze.visualization.result_figures import plan_figures, write_figures
    from mmhaze.visualization.run_results import RunResults
    try:
        zoom = None if not args.zoom or args.zoom == ['auto'] else [int(v) for v in args.zoom]
        results = RunResults(args.run_dirs, extra_rows=args.rows, metrics=args.metrics,
                             datasets=args.datasets,
                             strict_conventions=not args.mixed_conventions)
        plans = plan_figures(results, images=args.images, num_images=args.num_images,
                             rank_metric=args.rank_metric, zoom=zoom,
                             auto_zoom=args.zoom == ['auto'],
                             outputs=[OUTPUT_FIELDS[o] for o in args.outputs])
        if args.html:
            from mmhaze.visualization.html_report import plan_report_files
            from mmhaze.visualization.result_figures import refuse_existing
            refuse_existing(plan_report_files(results, args.out))
        paths = write_figures(results, plans, args.out, args.formats, dpi=args.dpi)
        index = None
        if args.html:
            from mmhaze.visualization.html_report import write_html_report
            index = write_html_report(results, plans, paths, args.out)
    except (FileNotFoundError, FileExistsError, ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    for plan in plans:
        print(f'{plan.name}: {plan.caption}\n  {" ".join(paths[plan.name])}')
    if index:
        print(f'report: {index}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
