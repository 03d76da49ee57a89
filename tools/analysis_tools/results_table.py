"""Merge run folders (methods × datasets) into one paper-style table.

    python tools/analysis_tools/results_table.py RUN_DIR [RUN_DIR ...] \
        [--metrics MI Qabf Qcv SCD VIFF NIQE SF] [--datasets msrs m3fd roadscene] [--out DIR]

RUN_DIR is a ``<work_dir>/<timestamp>/`` folder written by ``tools/test.py`` or
``eval_folder.py``. Prints the Markdown table; with ``--out`` also writes
``table.{md,tex,csv}`` there (never over existing files). Each run's own method is a row; a
method in two runs is refused. The runs' comparison rows merge: a two-stage run's
``dehazer output`` is named after its dehazer (``AODNet output (dehazer alone)``), rows the same
in several runs (the hazy input of runs on one dataset) are shown once, and rows of one name
that differ are kept for each run, named after it, with a note under the table. The runs' own
notes follow (a metric not computed, images left out), and the image count ``N`` of each row
is a column when a run left something out. Runs whose metrics were computed under different
conventions are refused unless ``--mixed-conventions``.
"""
import argparse
import sys


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Merge the run folders of tools/test.py and eval_folder.py into one table')
    parser.add_argument('run_dirs', nargs='+', help='run folders (with summary.json)')
    parser.add_argument('--metrics', nargs='+', help='columns, in this order (default: all)')
    parser.add_argument('--datasets', nargs='+', help='datasets, in this order (default: all)')
    parser.add_argument('--out', help='write table.md / table.tex / table.csv into this folder')
    parser.add_argument('--mixed-conventions', action='store_true',
                        help='merge even when a metric was computed under different conventions')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from mmhaze.evaluation.result_tables import format_tables, merge_run_folders, write_tables
    try:
        merged = merge_run_folders(args.run_dirs, args.metrics, args.datasets,
                                   strict_conventions=not args.mixed_conventions)
    except (FileNotFoundError, ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    # N (images per row) is shown when a run's own table showed it: something was left out.
    table = (merged.summary, merged.directions, merged.conventions,
             merged.counts if merged.incomplete else None)
    if args.out:
        try:
            markdown = write_tables(args.out, *table, notes=merged.notes)['markdown']
        except FileExistsError as err:
            print(f'error: {err}', file=sys.stderr)
            return 2
    else:
        markdown = format_tables(*table, notes=merged.notes)['md']
    print(markdown)
    return 0


if __name__ == '__main__':
    sys.exit(main())
