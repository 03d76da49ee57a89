"""Before and after ``runner.test()``: checkpoint, prediction dirs, result files."""
from __future__ import annotations

import json
import os
import os.path as osp
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Optional, Union

from mmengine.config import Config
from mmengine.dist import is_main_process

from mmhaze.utils.errors import UserError
from mmhaze.utils.fileio import (
    atomic_write_bytes,
    check_new_file_path,
    claim_run_dir,
    refuse_writes_into_inputs,
)

from .config_check import ConfigError

if TYPE_CHECKING:
    import torch


def _refuse_nonempty(path: str, flag: str) -> None:
    if osp.isdir(path) and os.listdir(path):
        raise ConfigError(f'{flag} {path} is not empty; choose a new folder (mmhaze never '
                          'overwrites earlier results)')
    if osp.exists(path) and not osp.isdir(path):
        raise ConfigError(f'{flag} {path} exists and is not a folder')


#: What the result files say when ``tools/test.py`` ran without a checkpoint.
NO_CHECKPOINT = 'no checkpoint: training-free / init_cfg weights'


def prepare_test(cfg: Config, checkpoint: Optional[str], out: Optional[str] = None,
                 save_preds: Optional[str] = None, show_dir: Optional[str] = None,
                 save_images: bool = False) -> None:
    """Point the config at ``checkpoint`` (None: the model brings its own weights, see
    :func:`init_without_checkpoint`) and add the hooks the test flags ask for
    (``save_images``: every image of each pair into the run folder's ``images/``), and
    :class:`~mmhaze.engine.hooks.AnnounceImageSizesHook`."""
    if checkpoint is not None and not osp.isfile(checkpoint):
        raise ConfigError(f'checkpoint not found: {checkpoint}')
    cfg.load_from = checkpoint
    cfg.resume = False
    if out is not None:
        if not out.endswith('.json'):
            raise ConfigError(f'--out must name a .json file, got {out}')
        if osp.exists(out):
            raise ConfigError(f'--out {out} already exists; choose a new name (mmhaze never '
                              'overwrites earlier results)')
        check_new_file_path(out, '--out')  # before the test runs, not after
    for path, flag in ((save_preds, '--save-preds'), (show_dir, '--show-dir')):
        if path:
            _refuse_nonempty(path, flag)
    from .runner_setup import dataset_folders
    refuse_writes_into_inputs({'--out': out, '--save-preds': save_preds, '--show-dir': show_dir},
                              dataset_folders(cfg, ('test_dataloader', )))
    hooks = list(cfg.get('custom_hooks') or [])
    if save_preds or show_dir or save_images:
        hooks.append(dict(type='SavePredictionsHook', pred_dir=save_preds, grid_dir=show_dir,
                          run_images=save_images))
    # The metric kernels compile for a size only when the test set holds enough images of it
    # to pay back the compilation (mmhaze.evaluation.functional.compiled).
    if not any(isinstance(h, dict) and h.get('type') == 'AnnounceImageSizesHook'
               for h in hooks):
        hooks.append(dict(type='AnnounceImageSizesHook'))
    cfg.custom_hooks = hooks


def check_test_checkpoint(runner, checkpoint: str, strict: bool = True) -> Optional[str]:
    """Refuse a checkpoint that does not fit the model (one line naming the file, the counts and
    examples) before the Runner loads it: mmengine loads non-strictly and would only log
    "missing keys" while a random model gets tested. With ``strict=False`` (``--non-strict``)
    the misfit is logged and returned as the note the tables carry."""
    from mmengine.logging import print_log

    from mmhaze.utils.checkpoint import check_weights_fit
    misfit = check_weights_fit(runner.model, checkpoint, strict,
                               hint=' tools/test.py --non-strict tests the weights that fit '
                                    '(the tables then say so).')
    if not misfit:
        return None
    note = f'checkpoint loaded with --non-strict: {misfit}'
    print_log(note, logger='current', level=30)
    return note


def init_without_checkpoint(runner) -> dict[str, str]:
    """Initialise the runner's model, tested without a checkpoint; return where each network's
    weights come from (:func:`mmhaze.apis.checkpointless.init_without_checkpoint`)."""
    from mmhaze.utils.modules import unwrap

    from .checkpointless import init_without_checkpoint as init_model
    return init_model(unwrap(runner.model), 'tested')


def _versions() -> dict:
    import mmcv
    import mmengine
    import torch

    import mmhaze
    out = dict(mmhaze=mmhaze.__version__, torch=torch.__version__, mmengine=mmengine.__version__,
               mmcv=mmcv.__version__)
    try:
        import mmseg
        out['mmseg'] = mmseg.__version__
    except Exception:  # pragma: no cover - mmseg is a dependency, but never fail a test run
        pass
    return out


def test_evaluators(runner) -> list:
    """The evaluators of the test loop (one, or one per dataset in a multi-dataset loop)."""
    loop = runner.test_loop
    evaluators = getattr(loop, 'evaluators', None)
    return list(evaluators) if evaluators else [loop.evaluator]


def finish_test(runner, cfg: Config, metrics: dict, method: str, checkpoint: Optional[str],
                out: Optional[str] = None, notes: Sequence[str] = (),
                weights: Optional[dict[str, str]] = None) -> Optional[dict]:
    """Write the run folder's result files (rank 0) and print the table; ``notes`` (e.g.
    a non-strict checkpoint) go under the tables and into ``summary.json``.

    ``checkpoint=None``: the meta says :data:`NO_CHECKPOINT` and lists ``weights`` (slot →
    where its weights came from, from :func:`init_without_checkpoint`).
    """
    from mmhaze.evaluation.result_tables import (
        collect_dropped,
        collect_notes,
        collect_rows,
        write_run_folder,
    )
    if not is_main_process():
        return None
    all_metrics = [m for ev in test_evaluators(runner) for m in ev.metrics]
    rows, conventions, directions = collect_rows(all_metrics, method)
    meta = dict(config=cfg.filename,
                checkpoint=osp.abspath(checkpoint) if checkpoint else NO_CHECKPOINT,
                method=method, time=time.strftime('%Y-%m-%d %H:%M:%S'), versions=_versions())
    if checkpoint is None:
        meta['weights'] = dict(weights or {})
    paths = write_run_folder(runner.log_dir, rows, meta, conventions, directions,
                             main_method=method, notes=[*notes, *collect_notes(all_metrics)],
                             dropped=collect_dropped(all_metrics))
    if out is not None:
        atomic_write_bytes(json.dumps({k: float(v) for k, v in metrics.items()},
                                      indent=2).encode(), out)
    print(f'\nResults ({runner.log_dir}):\n')
    print(paths['markdown'])
    return paths


# ---------------------------------------------------------------------------------------------
# Evaluating images already on disk (tools/analysis_tools/eval_folder.py)
# ---------------------------------------------------------------------------------------------

IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff')


def _images_by_stem(folder: str, flag: str) -> dict:
    if not osp.isdir(folder):
        raise ConfigError(f'{flag} {folder}: folder not found')
    by_stem: dict = {}
    for name in sorted(os.listdir(folder)):
        stem, ext = osp.splitext(name)
        if ext.lower() not in IMAGE_EXTENSIONS:
            continue
        if stem in by_stem:
            raise ConfigError(f'{flag}: {by_stem[stem]} and {name} share the stem {stem!r}; '
                              'files pair by stem, so keep one')
        by_stem[stem] = osp.join(folder, name)
    if not by_stem:
        raise ConfigError(f'{flag} {folder}: no images ({", ".join(IMAGE_EXTENSIONS)})')
    return by_stem


class FolderImageReader:
    """Reads folder images exactly as the datasets read them: one ``LoadFusionImages`` (8-bit
    /255; 16-bit visible /65535; 16-bit IR by its ``uint16_norm`` rule, announced by one warning;
    opaque alpha dropped; grey visible → 3 channels, IR → 1 channel)."""

    def __init__(self, uint16_norm: Union[str, Mapping] = 'percentile'):
        from mmhaze.datasets.transforms import LoadFusionImages
        self.loader = LoadFusionImages(ir_channels=1, uint16_norm=uint16_norm)

    def __call__(self, path: str, key: str) -> torch.Tensor:
        """``key`` 'ir' reads an infrared image, any other key a colour one; a C×H×W float32
        tensor in [0, 1]."""
        from mmhaze.datasets.transforms import image_to_tensor
        read = self.loader.load_ir if key == 'ir' else self.loader.load_colour
        return image_to_tensor(read(path), path)


def build_folder_metrics(metrics: Optional[list], has_clear: bool, dehazed: bool,
                         dataset: str, options: Optional[dict] = None,
                         skip_errors: bool = False, suite: Optional[str] = None) -> list:
    """The metric objects that score folder images under the same conventions as
    ``tools/test.py`` (FusionMetric / ReferenceMetric / NoReferenceMetric). ``suite``: the
    fusion metrics are that suite preset's columns (``metrics`` selects among them; default:
    all of them)."""
    from mmhaze.evaluation.functional import metric_keys
    from mmhaze.evaluation.metrics import (
        DEFAULT_FUSION_METRICS,
        FusionMetric,
        NoReferenceMetric,
        ReferenceMetric,
    )
    from mmhaze.evaluation.suites import metric_suite
    from mmhaze.utils.errors import did_you_mean
    by_kind = {kind: metric_keys(kind) for kind in ('fusion', 'reference', 'no_reference')}
    if suite is not None:
        try:
            by_kind['fusion'] = list(metric_suite(suite).keys)
        except ValueError as err:
            raise ConfigError(f'--suite: {err}') from None
    default_fusion = by_kind['fusion'] if suite is not None else list(DEFAULT_FUSION_METRICS)
    keys = list(metrics) if metrics else default_fusion + (
        by_kind['reference'] if has_clear else [])
    known = [k for kind_keys in by_kind.values() for k in kind_keys]
    unknown = [f'{k!r}{did_you_mean(k, known)}' for k in keys if k not in known]
    if unknown:
        where = f' with --suite {suite}' if suite is not None else ''
        raise ConfigError(f'--metrics: unknown keys {", ".join(unknown)}; folder evaluation'
                          f'{where} knows {known} (mIoU needs a semantic model: use '
                          'tools/test.py)')
    if any(k in by_kind['reference'] for k in keys) and not has_clear:
        raise ConfigError(f'--metrics {"/".join(by_kind["reference"])} need --clear (the clear '
                          'images)')
    options = dict(options or {})
    selected = {kind: [k for k in keys if k in kind_keys] for kind, kind_keys in by_kind.items()}
    kind_options = {kind: {k: v for k, v in options.items() if k in kind_keys}
                    for kind, kind_keys in by_kind.items()}
    common = dict(dataset_name=dataset, skip_errors=skip_errors)
    built = []
    if selected['fusion']:
        built.append(FusionMetric(metrics=selected['fusion'], suite=suite,
                                  pred_key='pred_fused', options=kind_options['fusion'],
                                  **common))
    if selected['reference']:
        built.append(ReferenceMetric(metrics=selected['reference'],
                                     pred_key='pred_dehazed' if dehazed else 'pred_fused',
                                     options=kind_options['reference'], **common))
    if selected['no_reference']:
        built.append(NoReferenceMetric(metrics=selected['no_reference'], pred_key='pred_fused',
                                       options=kind_options['no_reference'], **common))
    return built


_FOLDER_FLAGS = dict(pred_fused='--fused', ir='--ir', vis='--vis', gt_clear='--clear',
                     pred_dehazed='--dehazed')


def _complete_stems(folders: dict, allow_missing: bool, dropped: list, dataset: str) -> list:
    """The stems every folder has. A file without its partners is an error naming it and the
    folder that lacks one (``allow_missing``: left out, logged and listed in ``dropped``)."""
    from mmengine.logging import print_log
    stems = sorted(set().union(*folders.values()))
    complete = []
    for stem in stems:
        have = {k: files[stem] for k, files in folders.items() if stem in files}
        lacking = [k for k in folders if k not in have]
        if not lacking:
            complete.append(stem)
            continue
        path = next(iter(have.values()))
        where = ', '.join(f'{_FOLDER_FLAGS[k]} {folders[k].folder}' for k in lacking)
        message = f'{path} has no partner named {stem}.* in {where}'
        if not allow_missing:
            raise ConfigError(f'{message} (--allow-missing leaves such images out, and the '
                              'tables count them)')
        print_log(f'--allow-missing: left out {stem}: {message}', logger='current', level=30)
        dropped.append(dict(dataset=dataset, image=stem, reason=message))
    if not complete:
        raise ConfigError('no image has all its partners: ' + ', '.join(
            f'{_FOLDER_FLAGS[k]} {files.folder}' for k, files in folders.items()))
    return complete


class _Folder(dict):
    """Stem → path of one folder's images; remembers the folder for messages."""

    def __init__(self, folder: str, flag: str):
        super().__init__(_images_by_stem(folder, flag))
        self.folder = folder


def _read_pair(folders: dict, stem: str, reader: FolderImageReader) -> dict:
    """Every image of ``stem``; images of different sizes are an error naming both files."""
    images = {key: reader(files[stem], key) for key, files in folders.items()}
    first = next(iter(images))
    for key, image in images.items():
        if image.shape[-2:] != images[first].shape[-2:]:
            (h0, w0), (h, w) = images[first].shape[-2:], image.shape[-2:]
            raise ConfigError(f'image sizes differ: {folders[first][stem]} is {w0}×{h0} but '
                              f'{folders[key][stem]} is {w}×{h} (W×H); fused and source images '
                              'must be pixel-registered')
    return images


#: Largest image (pixels) whose pairs ``eval_folder`` scores several at a time, one thread
#: each. Below it, one image's operations are too small to share between threads well (2
#: threads on one RoadScene pair of 161×351 finished 221 pairs in 7.6-8.1 s, two pairs at a
#: time with one thread each in 6.1-6.5 s); above it, each pair in flight holds its own
#: image-size temporaries, so pairs go one at a time with every thread on each (1080p fits).
PARALLEL_PAIRS_MAX_PIXELS = 1920 * 1088
#: Most pairs in flight: the Python between the operations holds the GIL, so further workers
#: add little, while each holds its pair's temporaries (more threads go to each worker).
MAX_PAIR_WORKERS = 4


def pair_workers(sizes: Sequence[tuple[int, int]], pairs: int) -> int:
    """How many of ``pairs`` pairs to score at a time: torch's thread count (at most
    :data:`MAX_PAIR_WORKERS`) when the file headers gave every pair's size (``sizes``) and
    none exceeds :data:`PARALLEL_PAIRS_MAX_PIXELS`, else 1."""
    import torch
    if len(sizes) < pairs or max((h * w for h, w in sizes), default=0) > PARALLEL_PAIRS_MAX_PIXELS:
        return 1
    return max(1, min(torch.get_num_threads(), MAX_PAIR_WORKERS))


def map_pairs(score: Callable[[str], object], stems: Sequence[str], workers: int
              ) -> Iterator[object]:
    """``score(stem)`` of each stem, yielded in order; with ``workers`` > 1 on that many
    threads, which share torch's threads (one each on 2 cores; the operations release the
    GIL). The first pair runs alone first, so that what the metrics load on first use
    (parameter files, kernel statistics) is loaded once. An error raises when its pair's turn
    comes, as in order."""
    if workers <= 1 or len(stems) < 3:
        yield from map(score, stems)
        return
    import torch
    yield score(stems[0])
    threads = torch.get_num_threads()
    try:
        with ThreadPoolExecutor(workers, initializer=torch.set_num_threads,
                                initargs=(max(1, threads // workers),)) as pool:
            # A bounded window of submitted pairs (2 per worker): after an error, few more run.
            pending: deque = deque()
            try:
                for stem in stems[1:]:
                    pending.append(pool.submit(score, stem))
                    if len(pending) >= 2 * workers:
                        yield pending.popleft().result()
                while pending:
                    yield pending.popleft().result()
            finally:  # an error or Ctrl-C: the pairs not started yet are not started
                for future in pending:
                    future.cancel()
    finally:
        torch.set_num_threads(threads)  # MKL's count is process-wide; OpenMP's per thread


def _header_sizes(paths: Sequence[str]) -> list:
    """(H, W) of each image from its file header (no decoding); files Pillow cannot read this
    way are left out (the compile rule then treats their size as unannounced)."""
    from mmhaze.datasets.transforms.loading import image_header_size
    return [size for size in map(image_header_size, paths) if size is not None]


def evaluate_folders(ir: str, vis: str, fused: str, work_dir: str, clear: Optional[str] = None,
                     dehazed: Optional[str] = None, metrics: Optional[list] = None,
                     method: str = 'method', dataset: str = 'folder',
                     options: Optional[dict] = None, allow_missing: bool = False,
                     skip_errors: bool = False,
                     uint16_norm: Union[str, Mapping] = 'percentile',
                     suite: Optional[str] = None) -> dict:
    """Score the images of ``fused`` (paired by stem with ``ir``, ``vis`` and optionally
    ``clear`` / ``dehazed``) and write the run folder ``<work_dir>/<timestamp>/`` exactly as
    ``tools/test.py`` does. ``vis`` is the visible image the fusion metrics compare against
    (pass the clear images to evaluate as IASSF does); ``clear`` enables PSNR_ref/SSIM_ref,
    computed on ``dehazed`` when given, else on ``fused``. Returns the written paths.

    Every image must have all its partners, of its size, and every metric must succeed on it;
    otherwise one error names the files (or the image and the metric key). The opt-ins leave
    such images out instead, log them, and record them (``summary.json`` ``dropped`` and
    ``image_counts``, a column ``N`` in the tables): ``allow_missing`` for images without a
    partner, ``skip_errors`` for size mismatches and failing metrics (out of that metric's
    means only: :func:`~mmhaze.evaluation.result_tables.write_run_folder`). 16-bit IR images follow
    ``uint16_norm``, the rule of the datasets (``LoadFusionImages``). ``suite``: score the
    fusion metrics as that suite preset (:mod:`mmhaze.evaluation.suites`).
    """
    from mmengine.logging import print_log

    from mmhaze.evaluation.functional.compiled import announce_image_sizes
    from mmhaze.evaluation.result_tables import (
        collect_dropped,
        collect_notes,
        collect_rows,
        write_run_folder,
    )
    refuse_writes_into_inputs({'--work-dir': work_dir}, {
        '--ir': ir, '--vis': vis, '--fused': fused, '--clear': clear, '--dehazed': dehazed})
    folders = dict(pred_fused=_Folder(fused, '--fused'), ir=_Folder(ir, '--ir'),
                   vis=_Folder(vis, '--vis'))
    if clear:
        folders['gt_clear'] = _Folder(clear, '--clear')
    if dehazed:
        folders['pred_dehazed'] = _Folder(dehazed, '--dehazed')
    dropped: list = []
    stems = _complete_stems(folders, allow_missing, dropped, dataset)
    built = build_folder_metrics(metrics, bool(clear), bool(dehazed), dataset, options,
                                 skip_errors, suite)
    reader = FolderImageReader(uint16_norm)

    def score(stem: str) -> Union[list, dict]:
        """Each metric's result entry of one pair, or the record of a pair left out."""
        try:
            images = _read_pair(folders, stem, reader)
        except UserError as err:  # unreadable files, sizes that differ
            if not skip_errors:
                raise
            print_log(f'--skip-errors: left out {stem}: {err}', logger='current', level=30)
            return dict(dataset=dataset, image=stem, reason=str(err))
        sample = dict(img_id=stem, dataset_name=dataset, vis_path=folders['vis'][stem],
                      **{key: dict(data=image) for key, image in images.items()})
        return [metric.sample_rows(sample) for metric in built]

    evaluated = 0
    # The metric kernels compile for a size only when this run has enough images of it left
    # to pay back the compilation (mmhaze.evaluation.functional.compiled).
    sizes = _header_sizes([folders['pred_fused'][stem] for stem in stems])
    with announce_image_sizes(sizes):
        for entries in map_pairs(score, stems, pair_workers(sizes, len(stems))):
            if isinstance(entries, dict):
                dropped.append(entries)
                continue
            for metric, entry in zip(built, entries):
                metric.results.append(entry)
            evaluated += 1
    if not evaluated:
        raise ConfigError(f'no image could be evaluated (all {len(stems)} left out; see the '
                          'log)')
    for metric in built:
        metric.evaluate(evaluated)
    rows, conventions, directions = collect_rows(built, method)
    dropped += collect_dropped(built)
    # A run of the same second gets `<timestamp>_1`: results are never thrown away.
    run_dir = osp.join(work_dir, claim_run_dir(work_dir, time.strftime('%Y%m%d_%H%M%S')))
    meta = dict(tool='eval_folder', method=method, dataset=dataset, suite=suite,
                folders=dict(ir=ir, vis=vis, fused=fused, clear=clear, dehazed=dehazed),
                time=time.strftime('%Y-%m-%d %H:%M:%S'), versions=_versions())
    paths = write_run_folder(run_dir, rows, meta, conventions, directions, main_method=method,
                             notes=collect_notes(built), dropped=dropped)
    paths['run_dir'] = run_dir
    return paths
