"""Switch a model's training stage from the iteration (or epoch) the run is at."""
from __future__ import annotations

import warnings
from typing import Optional

from mmengine.hooks import Hook

from mmhaze.registry import HOOKS
from mmhaze.utils.modules import unwrap


@HOOKS.register_module()
class TrainingStageHook(Hook):
    """Make the stage of the current iteration/epoch current (``model.stages``).

    The stage follows from the restored iteration/epoch, so ``--resume`` continues the stage the
    run stopped in. Nothing happens for a model without stages. It checks that the stages cover
    exactly the train loop's length, logs each switch, and puts the stage name in the message
    hub (``runtime_info['stage']``) for the log line.
    """

    priority = 'VERY_HIGH'  # before any hook that looks at the model in before_train_iter

    @staticmethod
    def _model(runner):
        return unwrap(runner.model)

    def _stages(self, runner) -> Optional[list]:
        return getattr(self._model(runner), 'stages', None) or None

    def before_train(self, runner) -> None:
        stages = self._stages(runner)
        if not stages:
            return
        # The schedulers of an optimizer whose networks train only in a later stage step from
        # iteration 1 while that optimizer does not: by design, not the misuse mmengine's
        # first-step check warns about.
        warnings.filterwarnings('ignore', category=UserWarning,
                                message=r'Detected call of `scheduler\.step\(\)` before')
        by_epoch = stages[0].by_epoch
        loop = runner.train_loop
        attr = 'max_epochs' if by_epoch else 'max_iters'
        unit = 'epochs' if by_epoch else 'iters'
        if not hasattr(loop, attr):
            raise ValueError(f'model.stages are given in {unit}, which {type(loop).__name__} '
                             f'does not count: use the {"Epoch" if by_epoch else "Iter"}'
                             'BasedTrainLoop')
        total = sum(s.length for s in stages)
        if total != getattr(loop, attr):
            raise ValueError(f'model.stages last {total} {unit} in all, but train_cfg.{attr} is '
                             f'{getattr(loop, attr)}: make them equal')
        self._switch(runner)

    def before_train_epoch(self, runner) -> None:
        stages = self._stages(runner)
        if stages and stages[0].by_epoch:
            self._switch(runner)

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        stages = self._stages(runner)
        if stages and not stages[0].by_epoch:
            self._switch(runner)

    def after_train(self, runner) -> None:
        if self._stages(runner):
            self._model(runner).set_stage(None)
            runner.message_hub.update_info('stage', None)

    def _switch(self, runner) -> None:
        model = self._model(runner)
        stages = model.stages
        progress = runner.epoch if stages[0].by_epoch else runner.iter
        index = model.stage_index_at(progress)
        if model.stage is stages[index]:
            return
        stage = model.set_stage(index)
        unit = 'epoch' if stage.by_epoch else 'iter'
        losses = list(stage.losses) if stage.losses is not None else 'all'
        runner.logger.info(
            f"stage {index + 1}/{len(stages)} '{stage.name}' from {unit} {progress}: trains "
            f'{list(stage.train)}, losses {losses}'
            + (f', optimizers {list(stage.optimizers)}' if stage.optimizers else ''))
        runner.message_hub.update_info('stage', stage.name)
