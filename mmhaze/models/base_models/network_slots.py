"""Named network slots of a whole model: declaring, building, freezing, loading and calling them.

A whole model composes networks, each in a named *slot* (an attribute of the model, so its
weights are saved under ``<slot>.``). A class declares the slots it adds in ``NETWORK_SLOTS``; the
slots of a model are the union over its class hierarchy (:func:`declared_slots`), so a subclass
cannot drop its parent's ``discriminators`` by declaring its own. Besides the network's own
arguments, every slot's config accepts:

- ``frozen=True``: the network keeps eval mode through ``train()``, its parameters have
  ``requires_grad=False`` and no optimizer built by mmhaze's constructor holds them;
- ``init_cfg=dict(type='Pretrained', checkpoint=..., prefix=...)``: after the model's own
  initialisation, the network's weights are loaded (strictly, through mmhaze's weights_only
  loader) from a checkpoint — a whole-model mmhaze checkpoint with ``prefix='dehazer.'``, or a
  network's own state dict without ``prefix``. Works for any module, mmhaze's or not.

Which networks train *now* follows from the frozen set and the current training stage
(``self.stage``, see :mod:`.training_stages`): :meth:`NetworkSlots.set_stage` applies a stage.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any, Optional, Union

import torch
import torch.nn as nn

from mmhaze.registry import MODELS
from mmhaze.utils.modules import unwrap

SLOT_OPTIONS = ('frozen', 'init_cfg')


def declared_slots(model_cls: type) -> tuple[str, ...]:
    """Every slot of ``model_cls``: the ``NETWORK_SLOTS`` of its classes, parents first."""
    return _union_over_mro(model_cls, 'NETWORK_SLOTS')


def training_only_slots(model_cls: type) -> tuple[str, ...]:
    """Slots whose networks only train (discriminators): not run at inference."""
    return _union_over_mro(model_cls, 'TRAINING_ONLY_SLOTS')


def _union_over_mro(model_cls: type, attr: str) -> tuple[str, ...]:
    names: dict[str, None] = {}
    for klass in reversed(model_cls.__mro__):
        for name in klass.__dict__.get(attr, ()):
            names[name] = None
    return tuple(names)


@contextlib.contextmanager
def fixed_parameters(module: nn.Module, eval_mode: bool = False) -> Iterator[nn.Module]:
    """Run ``module`` as a fixed function for a while: its trainable parameters take no gradient
    (inputs keep theirs) and, with ``eval_mode``, it runs in eval mode; both are restored after.
    E.g. a discriminator during the generator update, or HSVF's content encoder judging O_SR."""
    params = [p for p in module.parameters() if p.requires_grad]
    was_training = module.training
    for p in params:
        p.requires_grad_(False)
    if eval_mode:
        module.eval()
    try:
        yield module
    finally:
        for p in params:
            p.requires_grad_(True)
        if eval_mode:
            module.train(was_training)


class NetworkSlots:
    """Mixin of :class:`BaseFusionModel`: the slots a class declares and the networks in them.

    Class attributes a model declares: ``NETWORK_SLOTS`` (slots it adds) and
    ``TRAINING_ONLY_SLOTS`` (those of them that only train).
    """

    NETWORK_SLOTS: tuple[str, ...] = ()
    TRAINING_ONLY_SLOTS: tuple[str, ...] = ()

    def _init_slots(self) -> None:
        self._network_names: list[str] = []
        self._frozen: set[str] = set()
        self._pretrained: dict[str, dict] = {}
        self.stage = None

    def add_network(self, name: str, cfg: Optional[Union[dict, nn.Module]],
                    registry=MODELS) -> Optional[nn.Module]:
        """Build the network of slot ``name`` (None leaves the slot empty)."""
        slots = declared_slots(type(self))
        if name not in slots:
            raise ValueError(f'{type(self).__name__} has no network slot {name!r}; slots: '
                             f'{slots}')
        if cfg is None:
            setattr(self, name, None)
            return None
        frozen = False
        if isinstance(cfg, nn.Module):
            net = cfg
        else:
            cfg = dict(cfg)
            frozen = bool(cfg.pop('frozen', False))
            init_cfg = cfg.get('init_cfg')
            if isinstance(init_cfg, Mapping) and init_cfg.get('type') == 'Pretrained':
                self._pretrained[name] = dict(cfg.pop('init_cfg'))
            net = registry.build(cfg)
        setattr(self, name, net)
        self._network_names.append(name)
        if frozen:
            self._frozen.add(name)
            net.requires_grad_(False)
            net.eval()
        return net

    @property
    def network_names(self) -> list[str]:
        """The filled slots, in the order their networks were built."""
        return list(self._network_names)

    def release_training_only_networks(self) -> list[str]:
        """Empty the slots whose networks only train (discriminators) and return their names.

        For an owner that only runs inference (``FusionInferencer`` after loading the weights):
        HSVF's three region discriminators hold 16.6 M parameters that no prediction reads.
        Training, state dicts and checkpoints need them: build the model again for those."""
        released = [name for name in training_only_slots(type(self))
                    if getattr(self, name, None) is not None]
        for name in released:
            setattr(self, name, None)
            self._network_names.remove(name)
        return released

    @property
    def frozen_networks(self) -> frozenset[str]:
        """Slots configured ``frozen=True``: no optimizer holds their parameters."""
        return frozenset(self._frozen)

    def get_network(self, name: str) -> nn.Module:
        """The network of a slot, unwrapped from DDP (for attributes, not for calls)."""
        return unwrap(getattr(self, name))

    def pretrained_networks(self) -> dict[str, dict]:
        """Slot → its ``init_cfg`` (Pretrained), loaded by ``init_weights``."""
        return {name: dict(cfg) for name, cfg in self._pretrained.items()}

    def load_pretrained_networks(self) -> None:
        from mmhaze.utils.checkpoint import load_pretrained_network
        for name, init_cfg in self._pretrained.items():
            load_pretrained_network(self.get_network(name), init_cfg,
                                    where=f'model.{name}.init_cfg')

    def is_trainable(self, name: str) -> bool:
        """Whether the network of ``name`` trains now (not frozen, and in the current stage)."""
        if name in self._frozen or getattr(self, name, None) is None:
            return False
        return self.stage is None or name in self.stage.train

    def call_network(self, name: str, *args, **kwargs) -> Any:
        """Call a network; one that does not train now runs without building a graph."""
        net = getattr(self, name)
        if self.training and not self.is_trainable(name):
            with torch.no_grad():
                return net(*args, **kwargs)
        return net(*args, **kwargs)

    def keep_idle_networks_in_eval(self, mode: bool) -> None:
        """In training mode, networks that do not train now stay in eval mode (``train()``)."""
        for name in self._network_names:
            if mode and not self.is_trainable(name):
                getattr(self, name).eval()

    def set_stage(self, index: Optional[int]):
        """Make training stage ``index`` current (None: no stage, everything trains)."""
        self.stage = None if index is None else self.stages[index]
        for name in self._network_names:
            if name not in self._frozen:
                getattr(self, name).requires_grad_(self.is_trainable(name))
        self.train(self.training)
        return self.stage
