"""The contract of a whole model, read from its class and config without building a network.

A whole model (:class:`BaseFusionModel` subclass) promises, for a config:

- its **slots**: the union of ``NETWORK_SLOTS`` over its class hierarchy, and the ones the config
  fills (a slot given None, or not given, stays empty);
- its **outputs**: what ``forward_networks`` returns, from the model class's
  ``declared_outputs(cfg)`` and the networks' own declarations (:func:`network_outputs`);
- its **loss namespace**: outputs + sources (``vis``, ``ir``) + batched fields (``gt_clear``,
  ``gt_sem_seg``, ``unpaired_clear``) + lazily computed entries (``declared_extra_keys(cfg)``,
  e.g. ``d_<name>_fake`` of each discriminator);
- its **bindings**: every loss input, every discriminator's ``fake``/``real``, every stage's
  ``train``/``losses``/``optimizers``, every optimizer entry's ``modules`` and the stages' total
  length against the train loop — each must name something the model has;
- the **batched fields** its training reads from the data (:meth:`ModelContract.fields_needed`:
  ``gt_clear``, ``gt_sem_seg``, ``unpaired_clear``, each with who reads it and in which
  stages), which ``FieldCheckHook`` checks against a real sample before training starts.

:meth:`ModelContract.derive` reads all of it from the class and the config dict and lists every
problem as one line naming its config key, with a "did you mean". The model checks itself with it
when it is built (``finish_setup``) and ``mmhaze.apis.config_check`` checks configs with it
before the Runner builds anything, so both report the same mistakes the same way.
"""
from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Optional

import torch.nn as nn

from mmhaze.registry import MODELS
from mmhaze.utils.errors import UserError, did_you_mean

from .loss_namespace import FIELD_KEYS, SOURCE_KEYS
from .loss_terms import LossConfigError, LossEntry, parse_loss_entries
from .network_slots import SLOT_OPTIONS, declared_slots
from .training_stages import TrainingStage, read_stages

DISCRIMINATOR_SLOT = 'discriminators'
# A discriminator entry's options besides its network's arguments: what it compares.
DISCRIMINATOR_BINDINGS = ('fake', 'real')


class ContractError(UserError, ValueError):
    """A model config whose wiring cannot work: one line per problem, each naming its key."""


def registered_class(value: Any) -> Optional[type]:
    """The class a network/loss config builds (None for an unregistered or non-class type)."""
    if isinstance(value, nn.Module):
        return type(value)
    if not isinstance(value, Mapping):
        return None
    kind = value.get('type')
    cls = MODELS.get(kind) if isinstance(kind, str) else kind
    return cls if inspect.isclass(cls) else None


def network_outputs(value: Any, main: Optional[str]) -> set[str]:
    """The outputs of a slot's network (a config dict or a built module).

    A network declares them as ``output_names`` (all of them; a class attribute, or, when they
    depend on its arguments, a classmethod ``declared_output_names(cfg)``), or as ``main`` plus
    ``extra_outputs`` (outputs besides its main one, e.g. IASSF's restorer's ``ir_image``).
    """
    if value is None:
        return set()
    cls = registered_class(value)
    if isinstance(value, nn.Module):
        names = getattr(value, 'output_names', None)
        if names is not None:
            return set(names)
    elif cls is not None and hasattr(cls, 'declared_output_names'):
        return set(cls.declared_output_names(dict(value)))
    elif cls is not None and isinstance(getattr(cls, 'output_names', None), (tuple, list, set)):
        return set(cls.output_names)
    extra = getattr(value if isinstance(value, nn.Module) else cls, 'extra_outputs', ())
    return ({main} if main else set()) | set(extra)


@dataclass(frozen=True)
class FieldNeed:
    """Who reads a batched sample field in training: ``who`` names the config key (a loss, a
    discriminator side, a network's ``input_fields``); ``stages``: the stages in which it is
    read (None: in every iteration, the model has no stages)."""

    who: str
    stages: Optional[tuple[str, ...]] = None

    def describe(self) -> str:
        if self.stages is None:
            return self.who
        names = ', '.join(repr(s) for s in self.stages)
        return f'{self.who} (stage{"s" if len(self.stages) > 1 else ""} {names})'


@dataclass
class ModelContract:
    """What a model config promises and the problems of its wiring (see the module docstring)."""

    model_type: str
    slots: tuple[str, ...]
    filled: tuple[str, ...]
    frozen: frozenset[str]
    outputs: frozenset[str]
    extra_keys: frozenset[str]
    losses: dict[str, LossEntry]
    discriminators: dict[str, tuple[Optional[str], Optional[str]]]
    stages: list[TrainingStage]
    problems: list[str] = field(default_factory=list)
    #: Fields read besides losses and discriminators: networks' ``input_fields`` and the model
    #: class's ``declared_field_needs(cfg)`` (e.g. HSVF's region masks from the labels).
    other_field_needs: dict[str, list[str]] = field(default_factory=dict)

    @property
    def namespace_keys(self) -> frozenset[str]:
        """Every key a loss may bind."""
        return self.outputs | set(SOURCE_KEYS) | set(FIELD_KEYS) | self.extra_keys

    def describe_namespace(self) -> str:
        parts = [f'outputs {sorted(self.outputs)}', f'sources {list(SOURCE_KEYS)}',
                 f'fields {list(FIELD_KEYS)}']
        if self.extra_keys:
            parts.append(f'computed {sorted(self.extra_keys)}')
        return ', '.join(parts)

    # ------------------------------------------------------------------ derivation
    @classmethod
    def derive(cls, model_cls: type, cfg: Mapping, optim_wrapper: Optional[Mapping] = None,
               train_cfg: Optional[Mapping] = None) -> ModelContract:
        """Read the contract of ``model_cls`` built from ``cfg`` (``model=dict(...)`` without
        ``type``); with ``optim_wrapper`` / ``train_cfg`` (the config's), check those bindings
        too. Never raises for a config mistake: :attr:`problems` lists them."""
        cfg = dict(cfg)
        slots = declared_slots(model_cls)
        filled = tuple(s for s in slots if cfg.get(s) is not None)
        frozen = frozenset(s for s in filled if isinstance(cfg[s], Mapping)
                           and cfg[s].get('frozen', False))
        problems: list[str] = []
        try:
            outputs = frozenset(model_cls.declared_outputs(cfg))
            extra = frozenset(model_cls.declared_extra_keys(cfg))
            discriminators = dict(model_cls.declared_discriminators(cfg))
        except (KeyError, TypeError, ValueError) as err:  # a malformed slot config
            problems.append(f'model: {err}')
            outputs, extra, discriminators = frozenset(), frozenset(), {}
        losses: dict[str, LossEntry] = {}
        try:
            for name, entry in parse_loss_entries(cfg.get('losses')).items():
                if isinstance(entry, LossConfigError):
                    problems.append(str(entry))
                else:
                    losses[name] = entry
        except LossConfigError as err:
            problems.append(str(err))
        optimizer_keys = _multi_optimizer_keys(optim_wrapper)
        stages, stage_problems = read_stages(cfg.get('stages'), filled, list(losses), frozen,
                                             optimizer_keys)
        contract = cls(model_cls.__name__, slots, filled, frozen, outputs, extra, losses,
                       discriminators, stages, problems + stage_problems,
                       _other_field_needs(model_cls, cfg, slots))
        contract._check_losses()
        contract._check_discriminators()
        contract._check_optimizers(optim_wrapper)
        contract._check_schedule(train_cfg)
        return contract

    def _check_losses(self) -> None:
        keys = self.namespace_keys
        for entry in self.losses.values():
            for arg, binding in entry.bindings.items():
                if binding.key not in keys:
                    self.problems.append(
                        f'{entry.where}.{arg}: {binding.key!r} is not something this model '
                        f'provides{did_you_mean(binding.key, keys)}; it provides '
                        f'{self.describe_namespace()}')
            if entry.step == 'discriminator' and not self.discriminators:
                self.problems.append(f"{entry.where}.step: 'discriminator', but the model has "
                                     'no discriminators (model.discriminators)')

    def _check_discriminators(self) -> None:
        images = self.outputs | set(SOURCE_KEYS) | set(FIELD_KEYS)
        for name, pair in self.discriminators.items():
            for side, key in zip(DISCRIMINATOR_BINDINGS, pair):
                if key is not None and key not in images:
                    self.problems.append(
                        f'model.discriminators.{name}.{side}: {key!r} is not an image this '
                        f'model provides{did_you_mean(key, images)}; it provides outputs '
                        f'{sorted(self.outputs)}, sources {list(SOURCE_KEYS)}, fields '
                        f'{list(FIELD_KEYS)}')
            if pair == (None, None):
                self.problems.append(f'model.discriminators.{name}: set fake= (and real=) to '
                                     'what it compares')

    def _check_optimizers(self, optim_wrapper: Optional[Mapping]) -> None:
        if _multi_optimizer_keys(optim_wrapper) is None:
            return
        for key, sub in optim_wrapper.items():
            if not isinstance(sub, Mapping) or 'optimizer' not in sub:
                continue
            modules = sub.get('modules', [key])
            for module in [modules] if isinstance(modules, str) else modules:
                top = str(module).split('.', 1)[0]
                if top not in self.filled:
                    where = (f'optim_wrapper.{key}.modules' if 'modules' in sub
                             else f'optim_wrapper.{key} (its modules default to its key)')
                    self.problems.append(
                        f'{where}: {module!r} is not a network slot this model fills'
                        f'{did_you_mean(top, self.filled)}; it fills {list(self.filled)}')

    def _check_schedule(self, train_cfg: Optional[Mapping]) -> None:
        if not self.stages or not isinstance(train_cfg, Mapping):
            return
        by_epoch = self.stages[0].by_epoch
        attr = 'max_epochs' if by_epoch else 'max_iters'
        if attr not in train_cfg:
            return
        total = sum(s.length for s in self.stages)
        if int(train_cfg[attr]) != total:
            unit = 'epochs' if by_epoch else 'iters'
            lengths = ' + '.join(str(s.length) for s in self.stages)
            self.problems.append(
                f'train_cfg.{attr}: {train_cfg[attr]}, but model.stages last {lengths} = '
                f'{total} {unit}; set model.stages.N.{unit} so they sum to it (or '
                f'--scale-stages to shrink every stage in proportion)')

    # ------------------------------------------------------------------ data
    def _stages_of_loss(self, name: str) -> Optional[tuple[str, ...]]:
        """The stages in which loss ``name`` is active (None: no stages, always; ``()``:
        never)."""
        if not self.stages:
            return None
        return tuple(s.name for s in self.stages if s.losses is None or name in s.losses)

    def fields_needed(self) -> dict[str, list[FieldNeed]]:
        """``field → [FieldNeed]``: the batched sample fields (``gt_clear``, ``gt_sem_seg``,
        ``unpaired_clear``) training reads, by whom and in which stages — every loss bound to
        one, every discriminator side bound to one (read when an active loss reads that
        discriminator's outputs) and the model's other needs (:attr:`other_field_needs`).
        A loss that no stage activates reads nothing."""
        needs: dict[str, list[FieldNeed]] = {}
        for name, entry in self.losses.items():
            stages = self._stages_of_loss(name)
            if stages == ():
                continue
            for arg, binding in entry.bindings.items():
                if binding.key in FIELD_KEYS:
                    needs.setdefault(binding.key, []).append(
                        FieldNeed(f'{entry.where}.{arg}', stages))
                for disc, side in self._discriminator_sides(binding.key):
                    key = self.discriminators[disc][DISCRIMINATOR_BINDINGS.index(side)]
                    if key in FIELD_KEYS:
                        needs.setdefault(key, []).append(FieldNeed(
                            f'model.discriminators.{disc}.{side} (read by {entry.where})',
                            stages))
        trained = ({n for s in self.stages for n in s.train} if self.stages else None)
        for key, whos in self.other_field_needs.items():
            for who in whos:
                needs.setdefault(key, []).append(FieldNeed(who))
        if trained is not None:  # a network that no stage trains reads nothing in training
            for key in list(needs):
                needs[key] = [n for n in needs[key] if not _network_of(n.who)
                              or _network_of(n.who) in trained]
                if not needs[key]:
                    del needs[key]
        return needs

    def _discriminator_sides(self, key: str) -> list[tuple[str, str]]:
        """The (discriminator, side) pairs a namespace key reads (``d_fake``: every fake)."""
        out = []
        for disc in self.discriminators:
            for side in DISCRIMINATOR_BINDINGS:
                if key in (f'd_{disc}_{side}', f'd_{side}'):
                    out.append((disc, side))
        return out

    # ------------------------------------------------------------------ use
    def raise_if_invalid(self) -> None:
        if self.problems:
            raise ContractError(f'{self.model_type}: ' + '\n  '.join(self.problems)
                                if len(self.problems) == 1 else
                                f'{self.model_type} config:\n  ' + '\n  '.join(self.problems))

    @staticmethod
    def network_configs(model_cls: type, cfg: Mapping) -> dict[str, Any]:
        """``config key → network config`` of every filled slot (and each discriminator), the
        slot options removed: what a config checker checks against the networks' signatures."""
        out: dict[str, Any] = {}
        for slot in declared_slots(model_cls):
            value = cfg.get(slot)
            if not isinstance(value, Mapping):
                continue
            if slot == DISCRIMINATOR_SLOT and 'type' not in value:
                for name, sub in value.items():
                    if isinstance(sub, Mapping):
                        out[f'model.{slot}.{name}'] = {
                            k: v for k, v in sub.items() if k not in DISCRIMINATOR_BINDINGS}
                continue
            out[f'model.{slot}'] = {k: v for k, v in value.items() if k not in SLOT_OPTIONS}
        return out


_NETWORK_NEED = 'input_fields'


def _network_of(who: str) -> Optional[str]:
    """The slot of a ``model.<slot> (... .input_fields)`` need (None for other needs)."""
    if who.startswith('model.') and who.endswith(f'.{_NETWORK_NEED})'):
        return who[len('model.'):].split(' ', 1)[0]
    return None


def _other_field_needs(model_cls: type, cfg: Mapping,
                       slots: tuple[str, ...]) -> dict[str, list[str]]:
    """Fields read by the networks (their ``input_fields``) and by the model class itself
    (its ``declared_field_needs(cfg)``, when it has one)."""
    needs: dict[str, list[str]] = {}
    for slot in slots:
        net_cls = registered_class(cfg.get(slot))
        for key in getattr(net_cls, _NETWORK_NEED, None) or ():
            if key in FIELD_KEYS:
                needs.setdefault(key, []).append(
                    f'model.{slot} ({net_cls.__name__}.{_NETWORK_NEED})')
    declared = getattr(model_cls, 'declared_field_needs', None)
    for key, whos in (declared(cfg) if declared else {}).items():
        needs.setdefault(key, []).extend(whos)
    return needs


def _multi_optimizer_keys(optim_wrapper: Optional[Mapping]) -> Optional[list[str]]:
    """The entry keys of a multi-optimizer ``optim_wrapper`` config (None for one optimizer)."""
    if not isinstance(optim_wrapper, Mapping) or 'optimizer' in optim_wrapper:
        return None
    if optim_wrapper.get('constructor') != 'MultiOptimWrapperConstructor':
        return None
    return [k for k, v in optim_wrapper.items() if isinstance(v, Mapping) and 'optimizer' in v]


def composed_model_class(model_cfg: Any) -> Optional[type]:
    """The class of a model config when it is an mmhaze whole model (has a contract)."""
    if not isinstance(model_cfg, Mapping):
        return None
    cls = registered_class(model_cfg)
    return cls if cls is not None and hasattr(cls, 'declared_outputs') else None

