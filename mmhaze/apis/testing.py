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


def prepare_test(cfg: Config, checkpoint: str, out: Optional[str] = None,
                 save_preds: Optional[str] = None, show_dir: Optional[str] = None) -> None:
    """Point the config at ``checkpoint`` and add the hooks the test flags ask for."""
    if not osp.isfile(checkpoint):
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


def finish_test(runner, cfg: Config, metrics: dict, method: str, checkpoint: str,
                out: Optional[str] = None) -> Optional[dict]:
    """Write the run folder's benchmark files (rank 0) and print the table."""
    from mmhaze.evaluation.benchmark import collect_rows, write_run_folder
    if not is_main_process():
        return None
    all_metrics = [m for ev in test_evaluators(runner) for m in ev.metrics]
    rows, conventions, directions = collect_rows(all_metrics, method)
    meta = dict(config=cfg.filename, checkpoint=osp.abspath(checkpoint), method=method,
                time=time.strftime('%Y-%m-%d %H:%M:%S'), versions=_versions())
    paths = write_run_folder(runner.log_dir, rows, meta, conventions, directions,
                             main_method=method)
    if out is not None:
        os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
        with open(out, 'x') as f:
            json.dump({k: float(v) for k, v in metrics.items()}, f, indent=2)
    print(f'\nResults ({runner.log_dir}):\n')
    print(paths['markdown'])
    return paths
