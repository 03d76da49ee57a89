"""mmengine's Runner with a run folder of its own, a work dir claimed by one training at a time,
checkpoints that are resumed only into the model they belong to, and a quiet console.

The console shows a header, progress and results (``mmhaze.engine.runner.console``), the log
file everything.
"""
from __future__ import annotations

import os.path as osp
from typing import Optional

from mmengine.dist import broadcast_object_list, is_main_process
from mmengine.runner import Runner

from mmhaze.registry import RUNNERS
from mmhaze.utils.errors import UserError
from mmhaze.utils.fileio import checkpoint_files, claim_run_dir, claim_work_dir

from .console import CONSOLE, quiet_console


class WorkDirError(UserError, RuntimeError):
    """The work dir cannot take this training (in use, or holding another run's checkpoints)."""


class EvaluatorConfigError(UserError, ValueError):
    """A metric or a data loader of the config that refuses its arguments."""


def _last_line(err: BaseException) -> str:
    """The message of ``err`` (mmengine's registry wraps it: its last line is the cause)."""
    text = str(err.args[0]) if len(err.args) == 1 else str(err)
    return text.strip().splitlines()[-1]


@RUNNERS.register_module()
class UniqueRunDirRunner(Runner):
    """``Runner`` whose ``timestamp`` (hence ``log_dir = <work_dir>/<timestamp>``, the log file,
    the config dump and the result files of ``tools/test.py``) is claimed atomically: a run
    starting in the same second as another gets ``<timestamp>_1`` instead of sharing, and then
    losing, its folder. ``tools/train.py`` and ``tools/test.py`` build this runner unless the
    config names a ``runner_type``.

    What a training writes at the top of the work dir — checkpoints and ``last_checkpoint`` —
    is never overwritten by another run:

    - ``train()`` claims the work dir (:func:`~mmhaze.utils.fileio.claim_work_dir`, a lock the
      kernel drops when the process ends): a second live training there is refused in one line;
    - a fresh training (no ``--resume``) into a work dir that holds checkpoints is refused in
      one line (it would overwrite ``iter_N.pth`` of the earlier run): resume that run, or
      train into another work dir;
    - the config is dumped into the run folder (``<work_dir>/<timestamp>/<config>.py``), so each
      run keeps the config it ran with;
    - ``--resume`` first checks that the checkpoint's weights fit the model (another model's
      checkpoint is one line, not a traceback from the optimizer's state).
    """

    _work_dir_claim = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.logger.info(self.header(), extra=CONSOLE)

    def build_logger(self, *args, **kwargs):
        logger = super().build_logger(*args, **kwargs)
        quiet_console(logger)
        return logger

    def header(self) -> str:
        """One line: the config, the model and its size, the run folder and its log file."""
        from mmhaze.utils.modules import unwrap
        model = unwrap(self.model)
        params = sum(p.numel() for p in model.parameters())
        config = self.cfg.filename or '(config object)'
        return (f'{config}: {type(model).__name__}, {params:,} parameters; run folder '
                f'{self.log_dir} (full log: {osp.basename(self.log_dir)}.log there)')

    def setup_env(self, env_cfg: dict) -> None:
        super().setup_env(env_cfg)
        # Rank 0 claims the folder; every rank then uses the name it got.
        name = [claim_run_dir(self._work_dir, self._timestamp, self._experiment_exists)
                if is_main_process() else None]
        broadcast_object_list(name)
        self._timestamp = name[0]

    def _experiment_exists(self, timestamp: str) -> bool:
        """True when this process already has a run of the experiment name ``timestamp`` gives
        (as Runner.__init__ derives it): mmengine would hand the new run the old run's logger
        and default scope (the "instance ... has been created" warning)."""
        from mmengine.logging import MMLogger
        from mmengine.registry import DefaultScope
        base = self.cfg.get('experiment_name') or (
            osp.splitext(osp.basename(self.cfg.filename))[0] if self.cfg.filename else None)
        name = f'{base}_{timestamp}' if base else timestamp
        return MMLogger.check_instance_created(name) or DefaultScope.check_instance_created(name)

    def build_visualizer(self, visualizer=None):
        """mmengine's, with a visualizer of this run's own. The configs name theirs
        ``'visualizer'`` (OpenMMLab's convention) and mmengine hands a second run in the same
        process the instance of that name, which keeps writing scalars and images into the
        first run's folder; a name already taken gets this run's experiment name appended."""
        if isinstance(visualizer, dict) and visualizer.get('name'):
            from mmengine.visualization import Visualizer

            from mmhaze.registry import VISUALIZERS
            vis_type = visualizer.get('type', Visualizer)
            cls = VISUALIZERS.get(vis_type) if isinstance(vis_type, str) else vis_type
            if cls is not None and cls.check_instance_created(visualizer['name']):
                visualizer = dict(visualizer,
                                  name=f"{visualizer['name']}_{self._experiment_name}")
        return super().build_visualizer(visualizer)

    def dump_config(self) -> None:
        """Dump the config into the run folder (mmengine: the work dir, where the next run in
        that work dir would replace it)."""
        if not is_main_process():
            return
        name = (osp.basename(self.cfg.filename) if self.cfg.filename
                else f'{self.timestamp}.py')
        self.cfg.dump(osp.join(self.log_dir, name))

    # ------------------------------------------------------------------ training
    def train(self):
        self._claim_work_dir()
        try:
            return super().train()
        finally:
            if self._work_dir_claim is not None:
                self._work_dir_claim.release()
                self._work_dir_claim = None

    def _checkpoint_dir(self) -> str:
        """Where the checkpoint hook writes (the work dir unless it sets ``out_dir``)."""
        hook = (self.cfg.get('default_hooks') or {}).get('checkpoint') or {}
        out_dir = hook.get('out_dir') if isinstance(hook, dict) else None
        if not out_dir:
            return self.work_dir
        return osp.join(str(out_dir), osp.basename(self.work_dir.rstrip(osp.sep)))

    def _claim_work_dir(self) -> None:
        """Rank 0 claims the work dir and checks it; every rank raises the same refusal."""
        problem: list[Optional[str]] = [None]
        if is_main_process():
            try:
                self._work_dir_claim = claim_work_dir(self.work_dir)
                problem[0] = self._fresh_run_problem()
            except UserError as err:
                problem[0] = str(err)
            if problem[0] and self._work_dir_claim is not None:
                self._work_dir_claim.release()
                self._work_dir_claim = None
        broadcast_object_list(problem)
        if problem[0]:
            raise WorkDirError(problem[0])

    def _fresh_run_problem(self) -> Optional[str]:
        if self._resume:
            return None
        folder = self._checkpoint_dir()
        found = checkpoint_files(folder)
        if not found:
            return None
        shown = ', '.join(found[:4]) + (f' (+{len(found) - 4} more)' if len(found) > 4 else '')
        return (f'work dir {folder} holds the checkpoints of an earlier training ({shown}), '
                'which a new training would overwrite: continue that run with --resume, or '
                'train into another --work-dir')

    def build_evaluator(self, evaluator):
        """mmengine's, with a metric that refuses its arguments (an unknown metric key given
        with ``--cfg-options``) reported in one line naming the config key, before the
        first image."""
        try:
            return super().build_evaluator(evaluator)
        except (ValueError, KeyError, TypeError) as err:
            if isinstance(err, UserError):
                raise
            raise EvaluatorConfigError(f'{self._evaluator_key(evaluator)}: '
                                       f'{_last_line(err)}') from None

    def build_dataloader(self, dataloader, *args, **kwargs):
        """mmengine's, with loader arguments torch refuses (``persistent_workers`` without
        workers, ...) reported in one line naming the config key."""
        try:
            return super().build_dataloader(dataloader, *args, **kwargs)
        except (ValueError, TypeError) as err:
            if isinstance(err, UserError) or not isinstance(dataloader, dict):
                raise
            key = self._config_key(dataloader, ('train_dataloader', 'val_dataloader',
                                                'test_dataloader'))
            raise EvaluatorConfigError(f'{key}: {_last_line(err)}') from None

    def _evaluator_key(self, evaluator) -> str:
        return self._config_key(evaluator, ('test_evaluator', 'val_evaluator'))

    def _config_key(self, value, keys: tuple[str, ...]) -> str:
        """The config key ``value`` comes from (a whole entry or one of a list)."""
        for key in keys:
            entry = self.cfg.get(key)
            if entry == value:
                return key
            if isinstance(entry, (list, tuple)) and value in entry:
                return f'{key}[{list(entry).index(value)}]'
        return ' / '.join(keys)

    def resume(self, filename: str, *args, **kwargs) -> None:
        from mmhaze.utils.checkpoint import check_weights_fit
        check_weights_fit(self.model, filename,
                          hint=' --resume continues a training of this same model; to start '
                               'from the weights of another, set load_from (without --resume)')
        super().resume(filename, *args, **kwargs)
