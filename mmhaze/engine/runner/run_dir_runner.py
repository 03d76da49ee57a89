"""mmengine's Runner with a unique run folder and a quiet console.

The run folder is unique even when two runs start in the same second; the console shows a
header, progress and results (``mmhaze.engine.runner.console``), the log file everything.
"""
from __future__ import annotations

import os.path as osp

from mmengine.dist import broadcast_object_list, is_main_process
from mmengine.runner import Runner

from mmhaze.registry import RUNNERS
from mmhaze.utils.fileio import claim_run_dir

from .console import CONSOLE, quiet_console


@RUNNERS.register_module()
class UniqueRunDirRunner(Runner):
    """``Runner`` whose ``timestamp`` (hence ``log_dir = <work_dir>/<timestamp>``, the log file,
    the config dump and the result files of ``tools/test.py``) is claimed atomically: a run
    starting in the same second as another gets ``<timestamp>_1`` instead of sharing, and then
    losing, its folder. ``tools/train.py`` and ``tools/test.py`` build this runner unless the
    config names a ``runner_type``.
    """

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
