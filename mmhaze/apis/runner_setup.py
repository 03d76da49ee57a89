"""What ``tools/train.py`` and ``tools/test.py`` do before and after the Runner, as functions.

The tools stay thin argument parsers; this module holds the logic so it is tested in-process.
"""
from __future__ import annotations

import os
import os.path as osp
import sys
from collections.abc import Mapping, Sequence
from typing import Any, Optional

import torch
from mmengine.config import Config

from mmhaze.utils.checkpoint import UNSAFE_LOAD_ENV
from mmhaze.utils.cli import LAUNCHERS
from mmhaze.utils.fileio import check_output_folder, refuse_writes_into_inputs

from .config_check import ConfigError, check_config, load_config


def prepare_config(config: str, cfg_options: Optional[dict] = None,
                   work_dir: Optional[str] = None, launcher: str = 'none',
                   unsafe_load: bool = False, scale_stages: bool = False) -> Config:
    """Load and validate a config, and apply the options every tool shares.

    ``work_dir``: command line > config > ``./work_dirs/<config name>``. ``scale_stages``: fit
    ``model.stages`` to ``train_cfg``'s length first (:mod:`.stage_scaling`).
    """
    if launcher not in LAUNCHERS:
        raise ConfigError(f'--launcher must be one of {LAUNCHERS}, got {launcher!r}')
    if unsafe_load:
        os.environ[UNSAFE_LOAD_ENV] = '1'
    cfg = load_config(config, cfg_options)
    if scale_stages:
        from .stage_scaling import scale_stages as fit_stages
        change = fit_stages(cfg)
        print(change or '--scale-stages: model.stages already fit train_cfg', flush=True)
    cfg.launcher = launcher
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(config))[0])
    check_config(cfg)
    check_loop_keys(cfg)
    check_output_folder(cfg.work_dir, 'work dir')
    # A run writes logs, checkpoints and results under the work dir: never inside its data.
    refuse_writes_into_inputs({'work dir': cfg.work_dir}, dataset_folders(cfg))
    if launcher != 'none':
        set_default_model_wrapper(cfg)
    if launcher == 'pytorch':
        setup_cpu_distributed(cfg)
    return cfg


DATALOADER_KEYS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
#: What mmengine's Runner needs together (all set, or all None) for each of its loops.
LOOP_KEYS = {'train': ('train_dataloader', 'train_cfg', 'optim_wrapper'),
             'val': ('val_dataloader', 'val_cfg', 'val_evaluator'),
             'test': ('test_dataloader', 'test_cfg', 'test_evaluator')}
LOOP_DEFAULTS = {'train_cfg': "dict(type='IterBasedTrainLoop', max_iters=...)",
                 'val_cfg': "dict(type='ValLoop')", 'test_cfg': "dict(type='TestLoop')"}


def check_loop_keys(cfg: Config) -> None:
    """One line for a loop whose keys are set only in part (mmengine's Runner refuses it with
    a traceback printing every dataloader), naming what is missing and how to add or drop it."""
    problems = []
    for loop, keys in LOOP_KEYS.items():
        given = [k for k in keys if cfg.get(k) is not None]
        missing = [k for k in keys if k not in given]
        if given and missing:
            add = ', '.join(f'{k} = {LOOP_DEFAULTS.get(k, "...")}' for k in missing)
            problems.append(f'sets {" and ".join(given)} but not {" and ".join(missing)}: add '
                            f'{add}, or set {", ".join(given)} to None (no {loop} loop)')
    if problems:
        raise ConfigError('the config ' + '; it '.join(problems))


def dataset_folders(cfg: Config, loaders: Sequence[str] = DATALOADER_KEYS) -> dict[str, str]:
    """``config key → folder`` of every dataset folder the config's ``loaders`` read: each
    dataset's ``data_root`` and its ``data_prefix`` folders (joined to ``data_root``), through
    dataset wrappers (``dataset=``, ``datasets=[...]``) and lists of loaders."""
    found: dict[str, str] = {}

    def visit(node: Any, where: str) -> None:
        if isinstance(node, (list, tuple)):
            for i, item in enumerate(node):
                visit(item, f'{where}[{i}]')
            return
        if not isinstance(node, Mapping):
            return
        root = node.get('data_root')
        if isinstance(root, str) and root:
            found[f'{where}.data_root'] = root
        prefixes = node.get('data_prefix')
        if isinstance(prefixes, Mapping):
            for key, folder in prefixes.items():
                if isinstance(folder, str) and folder:
                    found[f'{where}.data_prefix.{key}'] = osp.join(root or '', folder)
        for key in ('dataset', 'datasets'):
            if key in node:
                visit(node[key], f'{where}.{key}')

    for key in loaders:
        loader = cfg.get(key)
        for i, item in enumerate(loader if isinstance(loader, (list, tuple)) else [loader]):
            if isinstance(item, Mapping):
                where = key if not isinstance(loader, (list, tuple)) else f'{key}[{i}]'
                visit(item.get('dataset'), f'{where}.dataset')
    return found


def set_default_model_wrapper(cfg: Config) -> None:
    """DDP of each network slot (``MMSeparateDistributedDataParallel``) for mmhaze's models.

    A GAN's discriminator and generator, or the networks of a stage that does not train, take no
    gradient in some updates; one DDP over the whole model would then need
    ``find_unused_parameters=True``. A config's own ``model_wrapper_cfg`` wins.
    """
    if cfg.get('model_wrapper_cfg'):
        return
    from mmhaze.models.base_models.contract import composed_model_class
    if composed_model_class(cfg.get('model')) is not None:
        cfg.model_wrapper_cfg = dict(type='MMSeparateDistributedDataParallel',
                                     broadcast_buffers=False, find_unused_parameters=False)


def setup_cpu_distributed(cfg: Config) -> None:
    """Make ``--launcher pytorch`` work without CUDA (gloo, no device ids).

    mmengine's ``init_dist`` calls ``torch.cuda.set_device``, which a CPU build lacks; with the
    process group already initialised mmengine skips it. The DDP wrapper then needs
    ``device_ids=None``.
    """
    import torch.distributed as dist
    if torch.cuda.is_available():
        return
    if not dist.is_initialized():
        missing = [k for k in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT')
                   if k not in os.environ]
        if missing:
            raise ConfigError(f'--launcher pytorch needs {missing} in the environment; start '
                              'the tool with torchrun (tools/dist_train.sh does)')
        dist.init_process_group('gloo')
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
    wrapper = cfg.get('model_wrapper_cfg') or dict(type='MMDistributedDataParallel')
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper


def enable_amp(cfg: Config) -> None:
    """Switch every optimiser wrapper to ``AmpOptimWrapper`` (dynamic loss scale)."""
    if not torch.cuda.is_available():
        raise ConfigError('--amp needs a CUDA device: mmengine\'s AmpOptimWrapper refuses to run '
                          'on the CPU')
    ow = cfg.optim_wrapper
    wrappers = [ow] if 'optimizer' in ow or 'type' in ow else [
        v for v in ow.values() if isinstance(v, dict) and 'optimizer' in v]
    for w in wrappers:
        if w.get('type', 'OptimWrapper') == 'AmpOptimWrapper':
            continue
        w['type'] = 'AmpOptimWrapper'
        w.setdefault('loss_scale', 'dynamic')


def enable_auto_scale_lr(cfg: Config) -> None:
    """Turn on mmengine's linear learning-rate scaling by the total batch size."""
    scale = cfg.get('auto_scale_lr')
    if not isinstance(scale, dict) or 'base_batch_size' not in scale:
        raise ConfigError('--auto-scale-lr needs `auto_scale_lr = dict(base_batch_size=N)` in the '
                          'config (the batch size its learning rate was tuned for)')
    scale['enable'] = True


def apply_resume(cfg: Config, resume: Optional[str]) -> None:
    """``resume='auto'``: the latest checkpoint in the work dir; a path: that checkpoint.

    With ``'auto'`` and nothing to resume (no ``last_checkpoint`` in the work dir) training
    starts from the beginning after one ``warning:`` line on stderr: a job script may pass
    ``--resume`` on its first launch as on every restart.
    """
    if resume is None:
        return
    if resume == 'auto':
        resume = latest_checkpoint(cfg.work_dir)
        if resume is None:
            print(f'warning: --resume: {cfg.work_dir} holds no checkpoint to resume (no '
                  'last_checkpoint file); training starts from the beginning', file=sys.stderr)
            return
    elif not osp.isfile(resume):
        raise ConfigError(f'--resume: checkpoint not found: {resume}')
    cfg.resume = True
    cfg.load_from = resume


def latest_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint ``<work_dir>/last_checkpoint`` names (None without that file).

    In a work dir copied or moved since, the file still names the old path: the checkpoint of
    that name in ``work_dir`` is taken first. A name that is in neither place is one error listing
    the checkpoints there.
    """
    from mmhaze.engine.hooks.finite_training_hooks import LAST_CHECKPOINT_FILE
    from mmhaze.utils.fileio import checkpoint_files
    pointer = osp.join(work_dir, LAST_CHECKPOINT_FILE)
    if not osp.isfile(pointer):
        return None
    with open(pointer) as f:
        named = f.read().strip()
    for candidate in (osp.join(work_dir, osp.basename(named)), named):
        if named and osp.isfile(candidate):
            return candidate
    present = [n for n in checkpoint_files(work_dir) if n != LAST_CHECKPOINT_FILE]
    raise ConfigError(f'--resume: {pointer} names {named or "nothing"}, which does not exist; '
                      f'checkpoints in {work_dir}: {present or "none"} (pass one with --resume '
                      'PATH)')


def build_runner(cfg: Config):
    """``RUNNERS.build(cfg)`` when the config names a runner type, else mmengine's Runner with
    a unique run folder (:class:`~mmhaze.engine.runner.UniqueRunDirRunner`); with a
    :class:`~mmhaze.engine.hooks.ThreadAdjustHook` when the tool chose the thread count from the
    load (:func:`mmhaze.utils.threads.configure_threads`)."""
    from mmhaze.engine.runner import UniqueRunDirRunner
    from mmhaze.registry import RUNNERS
    from mmhaze.utils.threads import current_choice, local_processes
    runner = RUNNERS.build(cfg) if 'runner_type' in cfg else UniqueRunDirRunner.from_cfg(cfg)
    choice = current_choice()
    if choice is not None and choice.auto:
        from mmhaze.engine.hooks import ThreadAdjustHook
        runner.register_hook(ThreadAdjustHook(processes=local_processes(os.environ)))
    return runner


def close_distributed() -> None:
    """Destroy the process group a launcher-started run initialised, while the interpreter is
    alive. Call it after dropping the runner.

    The group's gloo worker threads must not outlive Python: a worker that frees the last
    reference to a tensor of a finished collective during interpreter teardown takes the GIL,
    is killed, and aborts the rank ("terminate called without an active exception": 3 of 12
    runs of tests/tools/test_dist_cpu.py). ``destroy_process_group`` alone only unregisters the
    group; the DDP wrappers' reducers (held in the runner's reference cycles) keep it, and its
    threads, alive. Collecting them first lets the group's destructor join its threads here.
    """
    import gc

    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        gc.collect()
        dist.destroy_process_group()
