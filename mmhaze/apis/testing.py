"""Before and after ``runner.test()``: checkpoint, prediction dirs, benchmark files."""
from __future__ import annotations

import json
import os
import os.path as osp
import time
from typing import Optional

from mmengine.config import Config
from mmengine.dist import is_main_process

from .config_check import ConfigError


def _refuse_nonempty(path: str, flag: str) -> None:
    if osp.isdir(path) and os.listdir(path):
        raise ConfigError(f'{flag} {path} is not empty; choose a new folder (mmhaze never '
                          'overwrites earlier results)')
    if osp.exists(path) and not osp.isdir(path):
        raise ConfigError(f'{flag} {path} exists and is not a folder')


#: What the benchmark files say when ``tools/test.py`` ran without a checkpoint.
NO_CHECKPOINT = 'no checkpoint: training-free / init_cfg weights'


def prepare_test(cfg: Config, checkpoint: Optional[str], out: Optional[str] = None,
                 save_preds: Optional[str] = None, show_dir: Optional[str] = None) -> None:
    """Point the config at ``checkpoint`` (None: the model brings its own weights, see
    :func:`init_without_checkpoint`) and add the hooks the test flags ask for."""
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
    for path, flag in ((save_preds, '--save-preds'), (show_dir, '--show-dir')):
        if path:
            _refuse_nonempty(path, flag)
    if save_preds or show_dir:
        hooks = list(cfg.get('custom_hooks') or [])
        hooks.append(dict(type='SavePredictionsHook', pred_dir=save_preds, grid_dir=show_dir))
        cfg.custom_hooks = hooks


def init_without_checkpoint(runner) -> dict[str, str]:
    """Initialise a model tested without a checkpoint; return where each network's weights
    come from.

    ``model.init_weights()`` loads every ``init_cfg=dict(type='Pretrained', ...)`` slot (the
    Runner only initialises weights before training). A network with parameters that no
    ``init_cfg`` loads would be scored with random weights: that is an error naming the slot.
    """
    from mmengine.model import is_model_wrapper

    from mmhaze.models.fusers import BaseFusionModel
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    sources: dict[str, str] = {}
    if isinstance(model, BaseFusionModel):
        random = []
        pretrained = model.pretrained_networks()
        for name in model.network_names:
            net = model.get_network(name)
            n_params = sum(p.numel() for p in net.parameters())
            if name in pretrained:
                sources[name] = (f'{type(net).__name__}: init_cfg '
                                 f'{pretrained[name].get("checkpoint")}')
            elif n_params == 0:
                sources[name] = f'{type(net).__name__}: training-free'
            else:
                random.append(f'model.{name} ({type(net).__name__}, {n_params:,} parameters)')
        if random:
            raise ConfigError(
                f'no checkpoint given and {", ".join(random)} would be tested with random '
                'weights: pass a CHECKPOINT or give the network an init_cfg '
                "(dict(type='Pretrained', checkpoint=..., prefix=...))")
    try:
        model.init_weights()
    except (OSError, KeyError, ValueError) as err:  # a missing or misfitting init_cfg file
        raise ConfigError(str(err).strip('"')) from None
    return sources


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
                out: Optional[str] = None,
                weights: Optional[dict[str, str]] = None) -> Optional[dict]:
    """Write the run folder's benchmark files (rank 0) and print the table.

    ``checkpoint=None``: the meta says :data:`NO_CHECKPOINT` and lists ``weights`` (slot →
    where its weights came from, from :func:`init_without_checkpoint`).
    """
    from mmhaze.evaluation.benchmark import collect_rows, write_run_folder
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
                             main_method=method)
    if out is not None:
        os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
        with open(out, 'x') as f:
            json.dump({k: float(v) for k, v in metrics.items()}, f, indent=2)
    print(f'\nResults ({runner.log_dir}):\n')
    print(paths['markdown'])
    return paths


# ---------------------------------------------------------------------------------------------
# Evaluating images already on disk (tools/analysis_tools/eval_folder.py)
# ---------------------------------------------------------------------------------------------

IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff')
REFERENCE_KEYS = ('PSNR_ref', 'SSIM_ref')


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


def read_image_unit(path: str):
    """An image file as a C×H×W float32 tensor in [0, 1], read exactly as the datasets read it
    (``LoadFusionImages``: 8-bit /255, 16-bit /65535, opaque alpha dropped, grey → 3 channels)."""
    from mmhaze.datasets.transforms import LoadFusionImages, image_to_tensor
    try:
        return image_to_tensor(LoadFusionImages().load_colour(path), path)
    except (OSError, ValueError) as err:
        raise ConfigError(str(err)) from None


def build_folder_metrics(metrics: Optional[list], has_clear: bool, dehazed: bool,
                         dataset: str, options: Optional[dict] = None) -> list:
    """The metric objects that score folder images under the same conventions as
    ``tools/test.py`` (FusionMetric / ReferenceMetric / NoReferenceMetric)."""
    from mmhaze.evaluation.functional import FUSION_FUNCTIONS
    from mmhaze.evaluation.metrics import (
        DEFAULT_FUSION_METRICS,
        NO_REFERENCE_KEYS,
        FusionMetric,
        NoReferenceMetric,
        ReferenceMetric,
    )
    keys = list(metrics) if metrics else list(DEFAULT_FUSION_METRICS) + (
        list(REFERENCE_KEYS) if has_clear else [])
    known = list(FUSION_FUNCTIONS) + list(REFERENCE_KEYS) + list(NO_REFERENCE_KEYS)
    unknown = [k for k in keys if k not in known]
    if unknown:
        raise ConfigError(f'--metrics: unknown keys {unknown}; folder evaluation knows {known} '
                          '(mIoU needs a semantic model: use tools/test.py)')
    if any(k in REFERENCE_KEYS for k in keys) and not has_clear:
        raise ConfigError('--metrics PSNR_ref/SSIM_ref need --clear (the clear images)')
    options = dict(options or {})
    built = []
    fusion = [k for k in keys if k in FUSION_FUNCTIONS]
    if fusion:
        fusion_opts = {k: v for k, v in options.items() if k in FUSION_FUNCTIONS}
        built.append(FusionMetric(metrics=fusion, pred_key='pred_fused', options=fusion_opts,
                                  dataset_name=dataset))
    ref = [k for k in keys if k in REFERENCE_KEYS]
    if ref:
        built.append(ReferenceMetric(metrics=ref, dataset_name=dataset,
                                     pred_key='pred_dehazed' if dehazed else 'pred_fused'))
    no_ref = [k for k in keys if k in NO_REFERENCE_KEYS]
    if no_ref:
        built.append(NoReferenceMetric(metrics=no_ref, pred_key='pred_fused',
                                       dataset_name=dataset))
    return built


def evaluate_folders(ir: str, vis: str, fused: str, work_dir: str, clear: Optional[str] = None,
                     dehazed: Optional[str] = None, metrics: Optional[list] = None,
                     method: str = 'method', dataset: str = 'folder',
                     options: Optional[dict] = None) -> dict:
    """Score the images of ``fused`` (paired by stem with ``ir``, ``vis`` and optionally
    ``clear`` / ``dehazed``) and write the run folder ``<work_dir>/<timestamp>/`` exactly as
    ``tools/test.py`` does. ``vis`` is the visible image the fusion metrics compare against
    (pass the clear images to evaluate as IASSF does); ``clear`` enables PSNR_ref/SSIM_ref,
    computed on ``dehazed`` when given, else on ``fused``. Returns the written paths.
    """
    from mmhaze.evaluation.benchmark import collect_rows, write_run_folder
    folders = dict(fused=_images_by_stem(fused, '--fused'), ir=_images_by_stem(ir, '--ir'),
                   vis=_images_by_stem(vis, '--vis'))
    if clear:
        folders['gt_clear'] = _images_by_stem(clear, '--clear')
    if dehazed:
        folders['pred_dehazed'] = _images_by_stem(dehazed, '--dehazed')
    flags = dict(ir='--ir', vis='--vis', gt_clear='--clear', pred_dehazed='--dehazed')
    for stem, path in folders['fused'].items():
        for key, files in folders.items():
            if key != 'fused' and stem not in files:
                raise ConfigError(f'{path} has no partner named {stem}.* in {flags[key]} '
                                  f'{osp.dirname(next(iter(files.values())))}')
    built = build_folder_metrics(metrics, bool(clear), bool(dehazed), dataset, options)
    for stem, path in folders['fused'].items():
        sample = dict(img_id=stem, dataset_name=dataset, vis_path=folders['vis'][stem],
                      pred_fused=dict(data=read_image_unit(path)))
        for key, files in folders.items():
            if key != 'fused':
                sample[key] = dict(data=read_image_unit(files[stem]))
        for metric in built:
            metric.process({}, [sample])
    for metric in built:
        metric.evaluate(len(folders['fused']))
    rows, conventions, directions = collect_rows(built, method)
    run_dir = osp.join(work_dir, time.strftime('%Y%m%d_%H%M%S'))
    if osp.exists(run_dir):
        raise ConfigError(f'{run_dir} already exists; mmhaze never overwrites results')
    meta = dict(tool='eval_folder', method=method, dataset=dataset,
                folders=dict(ir=ir, vis=vis, fused=fused, clear=clear, dehazed=dehazed),
                time=time.strftime('%Y-%m-%d %H:%M:%S'), versions=_versions())
    paths = write_run_folder(run_dir, rows, meta, conventions, directions, main_method=method)
    paths['run_dir'] = run_dir
    return paths
