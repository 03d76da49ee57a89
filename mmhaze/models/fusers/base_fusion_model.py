"""The task wrapper every mmhaze model shares (mmagic's ``BaseEditModel`` pattern).

A model *composes* networks built from config, each in a named slot, and owns what is common to
all of them: the data preprocessor, mmengine's three forward modes, the losses keyed by name,
pretrained and frozen parts, training stages, and the update step over one or several
optimizers. A subclass declares its slots and implements :meth:`forward_networks`.

Slot options, accepted in every slot's config besides the network's own arguments:

- ``frozen=True``: the network keeps eval mode through ``train()``, its parameters have
  ``requires_grad=False`` and no optimizer built by mmhaze's constructor holds them;
- ``init_cfg=dict(type='Pretrained', checkpoint=..., prefix=...)``: after the model's own
  initialisation, the network's weights are loaded (strictly, through mmhaze's weights_only
  loader) from a checkpoint — a whole-model mmhaze checkpoint with ``prefix='dehazer.'``, or a
  network's own state dict without ``prefix``. Works for any module, mmhaze's or not.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Optional, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModel, is_model_wrapper
from mmengine.optim import OptimWrapper, OptimWrapperDict

from mmhaze.registry import MODELS
from mmhaze.structures import FusionDataSample

from ..losses.loss_term import LossTerm, build_loss_terms
from .loss_namespace import FIELD_KEYS, SOURCE_KEYS, BatchFields, LossNamespace
from .training_stages import TrainingStage, parse_stages, stage_index

# What mode='tensor' returns (export, FLOPs, benchmarks), in model range.
TENSOR_OUTPUTS = ('dehazed', 'fused', 'seg_logits')
SLOT_OPTIONS = ('frozen', 'init_cfg')


def unwrap(module: nn.Module) -> nn.Module:
    """The module inside a DDP wrapper (MMSeparateDistributedDataParallel wraps each slot)."""
    return module.module if is_model_wrapper(module) else module


class BaseFusionModel(BaseModel):
    """Base of whole models: composed networks, named losses, stages, one or several optimizers.

    Subclasses set ``NETWORK_SLOTS`` (the attribute names of their networks), build each with
    :meth:`add_network` and implement :meth:`forward_networks` and :meth:`output_names`.

    Args:
        data_preprocessor: ``FusionDataPreprocessor`` config (its ``input_range`` is the model
            range every network and loss sees unless a network declares its own).
        losses: ``name → loss config`` (see :mod:`mmhaze.models.losses.loss_term`).
        stages: training stages (see :mod:`mmhaze.models.fusers.training_stages`); None trains
            every non-frozen network with every loss throughout.
        init_cfg: mmengine initialisation of the whole model.

    Properties read by the tools, derived from the networks that run at inference (the slots
    not in ``TRAINING_ONLY_SLOTS``): ``min_input_size`` (smallest H and W the networks accept,
    the largest of theirs), ``tile_exact`` (tiles whose outputs keep ``tile_overlap`` pixels of
    context at every inner edge reproduce the whole-image output: true only when every network
    declares ``tile_exact = True``), ``tile_overlap`` (the networks' receptive-field radii,
    summed: they run one after the other) and ``tile_inexact_reasons`` (why tiling is not
    exact, from each network's ``tile_inexact_reason``). A network that does not declare
    ``tile_exact`` is taken as not exact: tiling it could silently change its output.
    """

    NETWORK_SLOTS: tuple[str, ...] = ()
    # Slots whose networks only train (discriminators): not part of the inference contract.
    TRAINING_ONLY_SLOTS: tuple[str, ...] = ()
    MIN_INPUT_SIZE: int = 1
    TILE_EXACT: bool = True
    TILE_OVERLAP: int = 0
    # Checkpoints written before the model layer stored networks at other keys: prefix maps
    # (old → new) applied on load when a state dict has none of today's slot prefixes.
    LEGACY_KEY_PREFIXES: Mapping[str, str] = {}

    def __init__(self, data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 losses: Optional[Mapping] = None, stages: Optional[Sequence[Mapping]] = None,
                 init_cfg: Optional[dict] = None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='FusionDataPreprocessor')
        if isinstance(data_preprocessor, dict):
            # Built with mmhaze's registry: mmengine's BaseModel would use the root registry,
            # which only finds it when the default scope happens to be 'mmhaze'.
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self._network_names: list[str] = []
        self._frozen: set[str] = set()
        self._pretrained: dict[str, dict] = {}
        self.losses = build_loss_terms(losses)
        self._stage_cfgs = stages
        self.stages: list[TrainingStage] = []
        self.stage: Optional[TrainingStage] = None
        self._checked = False

    # ------------------------------------------------------------------ networks
    def add_network(self, name: str, cfg: Optional[Union[dict, nn.Module]],
                    registry=MODELS) -> Optional[nn.Module]:
        """Build the network of slot ``name`` (None leaves the slot empty)."""
        if name not in self.NETWORK_SLOTS:
            raise ValueError(f'{type(self).__name__} has no network slot {name!r}; slots: '
                             f'{self.NETWORK_SLOTS}')
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
        return list(self._network_names)

    def get_network(self, name: str) -> nn.Module:
        """The network of a slot, unwrapped from DDP (for attributes, not for calls)."""
        return unwrap(getattr(self, name))

    def pretrained_networks(self) -> dict[str, dict]:
        """Slot → its ``init_cfg`` (Pretrained), loaded by :meth:`init_weights`."""
        return {name: dict(cfg) for name, cfg in self._pretrained.items()}

    def is_frozen(self, name: str) -> bool:
        return name in self._frozen

    def is_trainable(self, name: str) -> bool:
        """Whether the network of ``name`` trains now (not frozen, and in the current stage)."""
        if name in self._frozen or getattr(self, name, None) is None:
            return False
        return self.stage is None or name in self.stage.train

    def run(self, name: str, *args, **kwargs) -> Any:
        """Call a network; one that does not train now runs without building a graph."""
        net = getattr(self, name)
        if self.training and not self.is_trainable(name):
            with torch.no_grad():
                return net(*args, **kwargs)
        return net(*args, **kwargs)

    def train(self, mode: bool = True) -> BaseFusionModel:
        super().train(mode)
        for name in self._network_names:
            if mode and not self.is_trainable(name):
                getattr(self, name).eval()
        return self

    def init_weights(self) -> None:
        super().init_weights()
        from mmhaze.utils.checkpoint import load_pretrained_network
        for name, init_cfg in self._pretrained.items():
            load_pretrained_network(self.get_network(name), init_cfg,
                                    where=f'model.{name}.init_cfg')

    # ------------------------------------------------------------------ properties the tools read
    def inference_networks(self) -> list[nn.Module]:
        """The networks that run at inference, unwrapped."""
        return [self.get_network(n) for n in self._network_names
                if n not in self.TRAINING_ONLY_SLOTS]

    def _network_attr(self, attr: str) -> list:
        return [getattr(net, attr) for net in self.inference_networks() if hasattr(net, attr)]

    @property
    def min_input_size(self) -> int:
        return max([self.MIN_INPUT_SIZE] + self._network_attr('min_input_size'))

    @property
    def tile_inexact_reasons(self) -> list[str]:
        """One entry per network (or the model) whose output tiling would change."""
        reasons = [] if self.TILE_EXACT else [f'{type(self).__name__} sets TILE_EXACT = False']
        for net in self.inference_networks():
            name = type(net).__name__
            if not hasattr(net, 'tile_exact'):
                reasons.append(f'{name} does not declare tile_exact')
            elif not net.tile_exact:
                why = getattr(net, 'tile_inexact_reason', None) or 'tile_exact = False'
                reasons.append(f'{name}: {why}')
        return reasons

    @property
    def tile_exact(self) -> bool:
        return not self.tile_inexact_reasons

    @property
    def tile_overlap(self) -> int:
        return self.TILE_OVERLAP + sum(self._network_attr('tile_overlap'))

    # ------------------------------------------------------------------ what subclasses implement
    def forward_networks(self, inputs: dict[str, torch.Tensor], fields: BatchFields,
                         need: Optional[set[str]] = None) -> dict[str, torch.Tensor]:
        """Model-range sources (+ batched fields) → dict of model-range outputs.

        ``need``: the outputs the active losses read (None: every output, for prediction); a
        subclass may skip networks whose outputs are not needed.
        """
        raise NotImplementedError

    def output_names(self) -> set[str]:
        """Every output :meth:`forward_networks` can return (what losses may bind to)."""
        raise NotImplementedError

    def extra_loss_keys(self) -> set[str]:
        """Lazily computed namespace entries besides outputs, sources and fields."""
        return set()

    # ------------------------------------------------------------------ set-up checks
    def finalize(self) -> None:
        """Check the losses and stages against the networks (subclasses call it last)."""
        available = self.output_names() | set(SOURCE_KEYS) | set(FIELD_KEYS) | \
            self.extra_loss_keys()
        for term in self.losses.values():
            for arg, binding in term.bindings.items():
                if binding.key not in available:
                    raise ValueError(
                        f'{term.where}.{arg}: {binding.key!r} is not something this model '
                        f'provides; available: {sorted(available)}')
        self.stages = parse_stages(self._stage_cfgs, self._network_names, list(self.losses),
                                   frozen=self._frozen)
        # The preprocessor refuses (or pads up) a smaller image, naming its file, before any
        # network runs into a reflect pad larger than the feature map.
        if hasattr(self.data_preprocessor, 'require_min_size'):
            self.data_preprocessor.require_min_size(self.min_input_size, type(self).__name__)
        self._checked = True

    # ------------------------------------------------------------------ stages
    def set_stage(self, index: Optional[int]) -> Optional[TrainingStage]:
        """Make stage ``index`` current (None: no stage, everything trains)."""
        self.stage = None if index is None else self.stages[index]
        for name in self._network_names:
            if name not in self._frozen:
                getattr(self, name).requires_grad_(self.is_trainable(name))
        self.train(self.training)
        return self.stage

    def stage_index_at(self, progress: int) -> int:
        """The stage iteration/epoch ``progress`` (0-based) falls in."""
        return stage_index(self.stages, progress)

    def active_losses(self, step: str = 'generator') -> list[LossTerm]:
        names = None if self.stage is None or self.stage.losses is None else self.stage.losses
        return [t for n, t in self.losses.items()
                if t.step == step and (names is None or n in names)]

    def needed_outputs(self, terms: Iterable[LossTerm]) -> set[str]:
        outputs = self.output_names()
        return {k for t in terms for k in t.keys if k in outputs}

    # ------------------------------------------------------------------ modes
    def forward(self, inputs: dict[str, torch.Tensor],
                data_samples: Optional[list[FusionDataSample]] = None, mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            fields = BatchFields(data_samples, self.data_preprocessor, inputs['vis'])
            outputs = self.forward_networks(inputs, fields, None)
            return {k: outputs[k] for k in TENSOR_OUTPUTS if k in outputs}
        raise ValueError(f"mode must be 'loss', 'predict' or 'tensor', got {mode!r}")

    def batch_fields(self, inputs: dict[str, torch.Tensor],
                     data_samples: Optional[Sequence[FusionDataSample]]) -> BatchFields:
        return BatchFields(data_samples, self.data_preprocessor, inputs['vis'])

    def loss(self, inputs: dict[str, torch.Tensor],
             data_samples: Sequence[FusionDataSample]) -> dict[str, torch.Tensor]:
        if not self._checked:
            self.finalize()
        terms = self.active_losses('generator')
        fields = self.batch_fields(inputs, data_samples)
        outputs = self.forward_networks(inputs, fields, self.needed_outputs(terms))
        return self.compute_losses(terms, LossNamespace(outputs, inputs, fields))

    def compute_losses(self, terms: Sequence[LossTerm],
                       namespace: LossNamespace) -> dict[str, torch.Tensor]:
        if not terms:
            where = f" in stage '{self.stage.name}'" if self.stage else ''
            raise RuntimeError(f'{type(self).__name__} has no active loss{where}: configure '
                               '`model.losses`')
        return {f'loss_{t.name}': t(namespace) for t in terms}

    def predict(self, inputs: dict[str, torch.Tensor],
                data_samples: Optional[list[FusionDataSample]] = None) -> list[FusionDataSample]:
        fields = self.batch_fields(inputs, data_samples)
        outputs = self.forward_networks(inputs, fields, None)
        return self.to_data_samples(outputs, data_samples, len(inputs['vis']))

    def to_data_samples(self, outputs: dict[str, torch.Tensor],
                        data_samples: Optional[list[FusionDataSample]],
                        batch_size: int) -> list[FusionDataSample]:
        """Write un-padded [0, 1] predictions into the data samples (created if absent)."""
        if data_samples is None:
            data_samples = [FusionDataSample() for _ in range(batch_size)]
        pre = self.data_preprocessor
        for key, field in (('dehazed', 'pred_dehazed'), ('fused', 'pred_fused')):
            if key in outputs:
                for sample, pred in zip(data_samples, pre.destruct(outputs[key], data_samples)):
                    setattr(sample, field, pred)
        if 'seg_logits' in outputs:
            for sample, logits in zip(data_samples, outputs['seg_logits']):
                h, w = sample.metainfo.get('img_shape', logits.shape[-2:])
                sample.pred_sem_seg = logits[:, :h, :w].argmax(0, keepdim=True)
        return data_samples

    # ------------------------------------------------------------------ optimisation
    def train_step(self, data: Union[dict, tuple, list],
                   optim_wrapper: Union[OptimWrapper, OptimWrapperDict]) -> dict[str, torch.Tensor]:
        """Preprocess, compute the active losses, update the optimizers of the trained networks.

        With one ``OptimWrapper`` this is mmengine's ``BaseModel.train_step``. With an
        ``OptimWrapperDict`` the wrappers that hold a parameter training in this stage (or the
        stage's ``optimizers``) step together on the summed loss.
        """
        wrappers = self.active_optim_wrappers(optim_wrapper)
        with optim_contexts(wrappers, self):
            data = self.data_preprocessor(data, True)
            losses = self._run_forward(data, mode='loss')
        parsed, log_vars = self.parse_losses(losses)
        update_params(wrappers, parsed)
        return log_vars

    def active_optim_wrappers(self, optim_wrapper: Union[OptimWrapper, OptimWrapperDict],
                              exclude: Iterable[str] = ()) -> list[OptimWrapper]:
        """The wrappers that step now (``exclude``: network slots whose wrappers do not)."""
        if not isinstance(optim_wrapper, OptimWrapperDict):
            return [optim_wrapper]
        if self.stage is not None and self.stage.optimizers is not None:
            missing = [n for n in self.stage.optimizers if n not in optim_wrapper]
            if missing:
                raise KeyError(f"stage '{self.stage.name}' steps optimizers {missing} that "
                               f'optim_wrapper does not define ({list(optim_wrapper.keys())})')
            return [optim_wrapper[n] for n in self.stage.optimizers]
        excluded = {id(p) for n in exclude for p in self.get_network(n).parameters()}
        active = []
        for wrapper in optim_wrapper.values():
            params = [p for g in wrapper.optimizer.param_groups for p in g['params']]
            if any(p.requires_grad and id(p) not in excluded for p in params):
                active.append(wrapper)
        return active

    # ------------------------------------------------------------------ checkpoints
    def upgrade_state_dict(self, state_dict: Mapping) -> dict:
        """A copy of ``state_dict`` with keys of an older layout (``LEGACY_KEY_PREFIXES``)
        renamed to today's — what loading does, for tools that compare keys first."""
        state = dict(state_dict)
        upgrade_legacy_keys(state, '', self.LEGACY_KEY_PREFIXES, self._network_names)
        return state

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        upgrade_legacy_keys(state_dict, prefix, self.LEGACY_KEY_PREFIXES, self._network_names)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


def upgrade_legacy_keys(state_dict: dict, prefix: str, mapping: Mapping[str, str],
                        slots: Sequence[str]) -> bool:
    """Rename old-layout keys in place; True when it did (nothing when today's slots appear)."""
    if not mapping:
        return False
    keys = [k for k in state_dict if k.startswith(prefix)]
    if any(k[len(prefix):].split('.', 1)[0] in slots for k in keys):
        return False
    renamed = False
    # Longest old prefix first: '' (catch-all) must come last.
    order = sorted(mapping, key=len, reverse=True)
    for key in keys:
        rest = key[len(prefix):]
        for old in order:
            if rest.startswith(old):
                state_dict[prefix + mapping[old] + rest[len(old):]] = state_dict.pop(key)
                renamed = True
                break
    return renamed


@contextlib.contextmanager
def optim_contexts(wrappers: Sequence[OptimWrapper], model: nn.Module):
    """Enter every wrapper's ``optim_context`` (autocast for AMP, no_sync for accumulation)."""
    with contextlib.ExitStack() as stack:
        for wrapper in wrappers:
            stack.enter_context(wrapper.optim_context(model))
        yield


def update_params(wrappers: Sequence[OptimWrapper], loss: torch.Tensor) -> None:
    """One backward of ``loss``, then a step of every wrapper.

    One wrapper: its own ``update_params`` (loss scaling, accumulation, clipping). Several: they
    share one backward, which only plain wrappers without accumulation can do — AMP loss scales
    or accumulation counts are per wrapper; put those sub-networks under one wrapper instead
    (``modules=[...]`` in MultiOptimWrapperConstructor).
    """
    if not wrappers:
        raise RuntimeError('no optimizer steps in this update: the stage trains no network that '
                           'an optimizer holds')
    if len(wrappers) == 1:
        wrappers[0].update_params(loss)
        return
    for w in wrappers:
        if type(w) is not OptimWrapper or w._accumulative_counts != 1:
            raise RuntimeError(
                f'{len(wrappers)} optimizer wrappers step on one loss, and one of them is a '
                f'{type(w).__name__} with accumulative_counts={w._accumulative_counts}: they '
                'cannot share a backward. Use one wrapper over these sub-networks '
                "(MultiOptimWrapperConstructor: modules=['a', 'b']) or stage optimizers.")
    loss.backward()
    for w in wrappers:
        w.step()
        w.zero_grad()
