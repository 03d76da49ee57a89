"""The data checked against the model before the first iteration, not at the iteration (or the
stage, hundreds of epochs later) that first reads what the data lacks."""
from __future__ import annotations

import os.path as osp
from collections.abc import Sequence
from typing import Any

from mmengine.hooks import Hook

from mmhaze.registry import HOOKS
from mmhaze.utils.errors import UserError
from mmhaze.utils.modules import unwrap
from mmhaze.utils.random_state import kept_random_state


class DataMismatchError(UserError, ValueError):
    """The data of a run does not give what its model reads (a field, its class list)."""


#: What gives each batched field, for the message (a dataset may say more, see _provider).
FIELD_SOURCES = {
    'gt_clear': 'clear visible images (a clear/ folder), or haze synthesised on clear images '
                '(LoadFusionImages vis_is_clear=True, SynthesizeHaze)',
    'gt_sem_seg': 'label maps (a seg/ folder)',
    'unpaired_clear': 'unpaired clear visible images (a clear_unpaired/ folder)',
}
# A layout's folder of each field, as PairedFusionDataset names it (data_prefix keys).
_PREFIX_KEYS = {'gt_clear': 'clear', 'gt_sem_seg': 'seg'}


@HOOKS.register_module()
class FieldCheckHook(Hook):
    """Check the data against the model before training (and testing) starts.

    - Every batched field the training reads (:meth:`ModelContract.fields_needed
      <mmhaze.models.base_models.contract.ModelContract.fields_needed>`: losses, discriminator
      bindings, networks' ``input_fields``), in the stages from the one training starts in, must
      be in a real sample of the train dataset: one line names the field, who reads it, the
      dataset's folder and what gives the field.
    - A model with ``classes`` (HSVF) and a dataset with a class list (``classes.txt``, a
      layout's list) must agree, name for name and in order: one line names both lists.

    The sample is drawn with the random generators' states kept, so the check changes no
    number of the run. It lives in ``default_hooks`` of ``configs/_base_/default_runtime.py``.
    """

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        model = unwrap(runner.model)
        dataset = runner.train_dataloader.dataset
        check_classes(model, dataset, 'train_dataloader.dataset')
        contract = getattr(model, 'contract', None)
        if contract is None:
            return
        needs = _needs_from_current_stage(model, contract.fields_needed(), runner)
        if not needs:
            return
        with kept_random_state():
            sample = dataset[0]
        given = sample.get('data_samples') if isinstance(sample, dict) else None
        for key, whos in needs.items():
            if given is None or key not in given:
                raise DataMismatchError(_missing_message(key, whos, dataset))

    def before_val(self, runner) -> None:
        self._check_loop_classes(runner, 'val')

    def before_test(self, runner) -> None:
        self._check_loop_classes(runner, 'test')

    @staticmethod
    def _check_loop_classes(runner, stage: str) -> None:
        loop = getattr(runner, f'{stage}_loop')
        loaders = getattr(loop, 'dataloaders', None) or [loop.dataloader]
        for i, loader in enumerate(loaders):
            where = f'{stage}_dataloader' + (f'[{i}]' if len(loaders) > 1 else '')
            check_classes(unwrap(runner.model), loader.dataset, f'{where}.dataset')


def check_classes(model: Any, dataset: Any, where: str) -> None:
    """A model's ``classes`` and a dataset's class list must be the same names in the same
    order (label id k means the same class in both)."""
    model_classes = tuple(getattr(model, 'classes', ()) or ())
    data_classes = tuple((getattr(dataset, 'metainfo', None) or {}).get('classes') or ())
    if not model_classes or not data_classes or model_classes == data_classes:
        return
    source = _classes_source(dataset)
    raise DataMismatchError(
        f'{where} has {len(data_classes)} classes {list(data_classes)}{source} but '
        f'model.classes has {len(model_classes)} {list(model_classes)}: label id k must name '
        'the same class in both (in this order); fix the class list of the data or '
        'model.classes')


def _classes_source(dataset: Any) -> str:
    base = _base_dataset(dataset)
    root = getattr(base, 'data_root', None)
    if root and osp.isfile(osp.join(root, 'classes.txt')):
        return f' (from {osp.join(root, "classes.txt")})'
    return ''


def _needs_from_current_stage(model: Any, needs: dict, runner) -> dict:
    """The needs of the stage training starts in and the stages after it (a resumed run
    skips the stages it finished)."""
    stages = getattr(model, 'stages', None)
    if not stages:
        return needs
    progress = runner.epoch if stages[0].by_epoch else runner.iter
    ahead = {s.name for s in stages[model.stage_index_at(progress):]}
    out = {}
    for key, whos in needs.items():
        kept = [w for w in whos if w.stages is None or set(w.stages) & ahead]
        if kept:
            out[key] = kept
    return out


def _missing_message(key: str, whos: Sequence, dataset: Any) -> str:
    first = whos[0].describe()
    more = f' and {len(whos) - 1} more' if len(whos) > 1 else ''
    base = _base_dataset(dataset)
    root = getattr(base, 'data_root', None)
    where = f'{type(base).__name__} in {root}' if root else type(base).__name__
    return (f'{first}{more} read{"" if more else "s"} {key}, but the train dataset ({where}) '
            f'gives none: {_provider(key, base)}')


def _provider(key: str, dataset: Any) -> str:
    """What would give ``key`` for this dataset, as concretely as it can tell."""
    layout = getattr(dataset, 'layout', None)
    prefixes = getattr(dataset, 'data_prefix', None) or {}
    if key == 'unpaired_clear' and hasattr(dataset, 'unpaired_clear'):  # synthetic scenes
        return 'set unpaired_clear=True on the dataset (it renders them)'
    if layout is not None and key == 'unpaired_clear':
        if getattr(layout, 'unpaired_clear', None):
            folder = osp.join(str(dataset.data_root), str(layout.unpaired_clear).replace(
                '{split}', str(getattr(dataset, 'split', '') or '')))
            return f'put {FIELD_SOURCES[key]} into {osp.normpath(folder)}'
        return (f"layout '{layout.name}' has no unpaired clear folder: use a layout with "
                "unpaired_clear (e.g. 'vnhd': clear_unpaired/)")
    if layout is not None and key in _PREFIX_KEYS:
        folder = prefixes.get(_PREFIX_KEYS[key])
        if folder:
            return f'put {FIELD_SOURCES[key]} into {folder}'
        return (f"layout '{layout.name}' has no {_PREFIX_KEYS[key]} folder: name one with "
                f'data_prefix.{_PREFIX_KEYS[key]}=FOLDER')
    return f'the dataset and its pipeline must give {FIELD_SOURCES.get(key, key)}'


def _base_dataset(dataset: Any) -> Any:
    """The dataset inside wrappers (RepeatDataset, ClassBalancedDataset, ConcatDataset)."""
    for _ in range(8):
        if hasattr(dataset, 'dataset'):
            dataset = dataset.dataset
        elif getattr(dataset, 'datasets', None):
            dataset = dataset.datasets[0]
        else:
            break
    return dataset


__all__ = ['FieldCheckHook', 'DataMismatchError', 'check_classes']
