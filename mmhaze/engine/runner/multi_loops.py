"""Validation and test over several datasets in one run (MSRS + M3FD + RoadScene tables).

``val_dataloader`` / ``test_dataloader`` are lists, and ``val_evaluator`` / ``test_evaluator``
lists of the same length (each entry: one metric dict or a list of them); each dataset's
metrics carry ``prefix=<dataset name>`` so their keys do not collide. The loops build each
dataloader and evaluator lazily from the Runner's config, as mmengine's loops do, and call the
usual hooks once per run (``before/after_<stage>_epoch``) with the metrics of all datasets.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Union

import torch
from mmengine.evaluator import Evaluator
from mmengine.runner.amp import autocast
from mmengine.runner.base_loop import BaseLoop
from torch.utils.data import DataLoader

from mmhaze.registry import LOOPS


def _as_list(value, what: str) -> list:
    if isinstance(value, (list, tuple)):
        return list(value)
    if value is None:
        raise ValueError(f'the multi-dataset loop needs {what}')
    return [value]


class _MultiDatasetLoop(BaseLoop):
    """Shared body of :class:`MultiValLoop` and :class:`MultiTestLoop`."""

    stage = ''

    def __init__(self, runner, dataloader: Union[DataLoader, dict, Sequence],
                 evaluator: Union[Evaluator, dict, Sequence], fp16: bool = False):
        self._runner = runner
        loaders = _as_list(dataloader, f'{self.stage}_dataloader')
        evaluators = (_as_list(evaluator, f'{self.stage}_evaluator') if len(loaders) > 1
                      else [evaluator])
        if len(evaluators) != len(loaders):
            raise ValueError(f'{self.stage}_evaluator has {len(evaluators)} entries but '
                             f'{self.stage}_dataloader has {len(loaders)}: give one evaluator '
                             '(a metric dict or a list of them) per dataset')
        seed = runner.seed
        diff_rank_seed = runner._randomness_cfg.get('diff_rank_seed', False)
        self.dataloaders = [
            runner.build_dataloader(d, seed=seed, diff_rank_seed=diff_rank_seed)
            if isinstance(d, dict) else d for d in loaders]
        self.evaluators = [runner.build_evaluator(e) for e in evaluators]
        for loader, ev in zip(self.dataloaders, self.evaluators):
            if hasattr(loader.dataset, 'metainfo'):
                ev.dataset_meta = loader.dataset.metainfo
        # hooks and the log processor read the current dataloader / evaluator
        self.dataloader, self.evaluator = self.dataloaders[0], self.evaluators[0]
        self.fp16 = fp16

    def run(self) -> dict:
        runner, stage = self.runner, self.stage
        runner.call_hook(f'before_{stage}')
        runner.call_hook(f'before_{stage}_epoch')
        runner.model.eval()
        metrics: dict = {}
        for loader, evaluator in zip(self.dataloaders, self.evaluators):
            self.dataloader, self.evaluator = loader, evaluator
            if hasattr(loader.dataset, 'metainfo'):
                runner.visualizer.dataset_meta = loader.dataset.metainfo
            for idx, data_batch in enumerate(loader):
                self.run_iter(idx, data_batch)
            values = evaluator.evaluate(len(loader.dataset))
            clash = sorted(set(values) & set(metrics))
            if clash:
                raise ValueError(f'metric keys {clash} come from two datasets: give each '
                                 f"dataset's metrics its own prefix (the dataset name)")
            metrics.update(values)
        runner.call_hook(f'after_{stage}_epoch', metrics=metrics)
        runner.call_hook(f'after_{stage}')
        return metrics

    @torch.no_grad()
    def run_iter(self, idx: int, data_batch: dict) -> None:
        stage = self.stage
        self.runner.call_hook(f'before_{stage}_iter', batch_idx=idx, data_batch=data_batch)
        with autocast(enabled=self.fp16):
            outputs = getattr(self.runner.model, f'{stage}_step')(data_batch)
        self.evaluator.process(data_samples=outputs, data_batch=data_batch)
        self.runner.call_hook(f'after_{stage}_iter', batch_idx=idx, data_batch=data_batch,
                              outputs=outputs)


@LOOPS.register_module()
class MultiValLoop(_MultiDatasetLoop):
    """``val_cfg = dict(type='MultiValLoop')``: validate on every dataset of the list."""

    stage = 'val'


@LOOPS.register_module()
class MultiTestLoop(_MultiDatasetLoop):
    """``test_cfg = dict(type='MultiTestLoop')``: test on every dataset of the list."""

    stage = 'test'
