"""The task wrapper every mmhaze model shares (mmagic's ``BaseEditModel`` pattern).

A whole model *composes* networks built from config, each in a named slot
(:mod:`.network_slots`), and owns what is common to all of them: the data preprocessor, mmengine's
three forward modes, the losses keyed by name (:mod:`.loss_terms`), training stages
(:mod:`.training_stages`) and the update step over one or several optimizers
(:mod:`.optimization`). Its wiring is checked against its contract (:mod:`.contract`) when it is
built, with the same messages ``config_check`` gives before training.

A subclass declares the slots it adds (``NETWORK_SLOTS``), builds each with ``add_network``,
implements :meth:`forward_networks`, declares what it outputs for a config
(:meth:`declared_outputs`) and calls :meth:`finish_setup` last in its ``__init__``.
"""
from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping, Sequence
from typing import Optional, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapper, OptimWrapperDict

from mmhaze.registry import MODELS
from mmhaze.structures import FusionDataSample

from .contract import ModelContract
from .loss_namespace import BatchFields, LossNamespace
from .loss_terms import LossTerm, build_loss_terms
from .network_slots import NetworkSlots
from .optimization import optim_contexts, stepping_wrappers, update_params
from .tiling import TilingDeclarations
from .training_stages import TrainingStage, stage_index

# What mode='tensor' returns (export, FLOPs, benchmarks), in model range.
TENSOR_OUTPUTS = ('dehazed', 'fused', 'seg_logits')


class BaseFusionModel(NetworkSlots, TilingDeclarations, BaseModel):
    """Base of whole models: composed networks, named losses, stages, one or several optimizers.

    Args:
        data_preprocessor: ``FusionDataPreprocessor`` config (its ``input_range`` is the model
            range every network and loss sees unless a network declares its own).
        losses: ``name → loss config`` (see :mod:`mmhaze.models.base_models.loss_terms`).
        stages: training stages (see :mod:`mmhaze.models.base_models.training_stages`); None
            trains every non-frozen network with every loss throughout.
        init_cfg: mmengine initialisation of the whole model.

    The size and tiling properties the tools read come from :class:`TilingDeclarations`.
    """

    def __new__(cls, *args, **kwargs):
        # The config the model is built from (mmengine builds with keywords), kept so that the
        # contract is derived from exactly what config_check reads.
        self = super().__new__(cls)
        try:
            bound = inspect.signature(cls.__init__).bind_partial(None, *args, **kwargs)
            config = {k: v for k, v in bound.arguments.items() if k != 'self'}
            config.update(config.pop('kwargs', {}))
        except TypeError:  # a wrong call: __init__ reports it
            config = dict(kwargs)
        object.__setattr__(self, '_model_config', config)
        return self

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
        self._init_slots()
        self.losses = nn.ModuleDict()
        self.stages: list[TrainingStage] = []
        self.contract: Optional[ModelContract] = None

    # ------------------------------------------------------------------ what subclasses declare
    @classmethod
    def declared_outputs(cls, cfg: Mapping) -> set[str]:
        """Every output :meth:`forward_networks` can return for model config ``cfg`` (what
        losses may bind), derived without building a network (see :mod:`.contract`)."""
        raise NotImplementedError

    @classmethod
    def declared_extra_keys(cls, cfg: Mapping) -> set[str]:
        """Namespace entries computed lazily besides outputs, sources and fields."""
        return set()

    @classmethod
    def declared_discriminators(cls, cfg: Mapping) -> dict[str, tuple[Optional[str],
                                                                      Optional[str]]]:
        """``name → (fake, real)`` of the config's discriminators (none here)."""
        return {}

    def forward_networks(self, inputs: dict[str, torch.Tensor], fields: BatchFields,
                         wanted: Optional[set[str]] = None) -> dict[str, torch.Tensor]:
        """Model-range sources (+ batched fields) → dict of model-range outputs.

        ``wanted``: the outputs the active losses read (None: every output, for prediction); a
        subclass may skip networks whose outputs are not wanted.
        """
        raise NotImplementedError

    def output_names(self) -> set[str]:
        """Every output :meth:`forward_networks` can return (from the contract)."""
        if self.contract is None:
            raise RuntimeError(f'{type(self).__name__}.__init__ must call self.finish_setup() '
                               'last: it checks the wiring and builds the losses and stages')
        return set(self.contract.outputs)

    # ------------------------------------------------------------------ set-up
    def finish_setup(self) -> None:
        """Check the wiring against the contract and build the losses and stages (subclasses
        call it last in ``__init__``)."""
        contract = ModelContract.derive(type(self), self._model_config)
        contract.raise_if_invalid()
        self.contract = contract
        self.losses = build_loss_terms(contract.losses)
        self.stages = contract.stages
        # The preprocessor refuses (or pads up) a smaller image, naming its file, before any
        # network runs into a reflect pad larger than the feature map.
        if hasattr(self.data_preprocessor, 'require_min_size'):
            self.data_preprocessor.require_min_size(self.min_input_size, type(self).__name__)

    def train(self, mode: bool = True) -> BaseFusionModel:
        super().train(mode)
        self.keep_idle_networks_in_eval(mode)
        return self

    def init_weights(self) -> None:
        super().init_weights()
        self.load_pretrained_networks()

    # ------------------------------------------------------------------ stages and losses
    def stage_index_at(self, progress: int) -> int:
        """The stage iteration/epoch ``progress`` (0-based) falls in."""
        return stage_index(self.stages, progress)

    def active_losses(self, step: str = 'generator') -> list[LossTerm]:
        names = None if self.stage is None or self.stage.losses is None else self.stage.losses
        return [t for n, t in self.losses.items()
                if t.step == step and (names is None or n in names)]

    def wanted_outputs(self, terms: Iterable[LossTerm]) -> set[str]:
        """The outputs ``terms`` read (what :meth:`forward_networks` must compute)."""
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
            outputs = self.forward_networks(inputs, self.batch_fields(inputs, data_samples))
            return {k: outputs[k] for k in TENSOR_OUTPUTS if k in outputs}
        raise ValueError(f"mode must be 'loss', 'predict' or 'tensor', got {mode!r}")

    def batch_fields(self, inputs: dict[str, torch.Tensor],
                     data_samples: Optional[Sequence[FusionDataSample]]) -> BatchFields:
        return BatchFields(data_samples, self.data_preprocessor, inputs['vis'])

    def namespace(self, outputs: dict, inputs: dict, fields: BatchFields,
                  step: str = 'generator') -> LossNamespace:
        """What the losses of update ``step`` read (adversarial models add computed entries)."""
        return LossNamespace(outputs, inputs, fields)

    def step_losses(self, inputs: dict, data_samples, terms: Sequence[LossTerm],
                    step: str = 'generator') -> dict[str, torch.Tensor]:
        """Run the networks the ``terms`` need and compute them (``loss_<name>`` each)."""
        if not terms:
            where = f" in stage '{self.stage.name}'" if self.stage else ''
            raise RuntimeError(f'{type(self).__name__} has no active loss{where}: configure '
                               '`model.losses`')
        fields = self.batch_fields(inputs, data_samples)
        wanted = self.wanted_outputs(terms)
        if step == 'discriminator':  # generator outputs are inputs here, not trained
            with torch.no_grad():
                outputs = self.forward_networks(inputs, fields, wanted)
        else:
            outputs = self.forward_networks(inputs, fields, wanted)
        namespace = self.namespace(outputs, inputs, fields, step)
        return {f'loss_{t.name}': t(namespace) for t in terms}

    def loss(self, inputs: dict[str, torch.Tensor],
             data_samples: Sequence[FusionDataSample]) -> dict[str, torch.Tensor]:
        """The main (generator) update's losses (``mode='loss'``)."""
        return self.step_losses(inputs, data_samples, self.active_losses('generator'))

    def predict(self, inputs: dict[str, torch.Tensor],
                data_samples: Optional[list[FusionDataSample]] = None) -> list[FusionDataSample]:
        outputs = self.forward_networks(inputs, self.batch_fields(inputs, data_samples))
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
        wrappers = stepping_wrappers(optim_wrapper, self.stage)
        with optim_contexts(wrappers, self):
            data = self.data_preprocessor(data, True)
            losses = self._run_forward(data, mode='loss')
        parsed, log_vars = self.parse_losses(losses)
        update_params(wrappers, parsed)
        return log_vars

    # ------------------------------------------------------------------ checkpoints
    def checkpoint_layout_hint(self, state_keys: Iterable[str]) -> Optional[str]:
        """Why ``state_keys`` cannot be this model's (None when they could): weights under none
        of the model's slots belong to another model, or to an IASSF / ConvDehazeFuser
        checkpoint written before the model layer (which one tool converts)."""
        keys = list(state_keys)
        slots = set(self.network_names)
        if not keys or any(k.split('.', 1)[0] in slots for k in keys):
            return None
        tops = sorted({k.split('.', 1)[0] for k in keys})
        return (f'its weights sit at {tops[:6]}, under none of the model\'s network slots '
                f'{sorted(slots)}: it is a checkpoint of another model, or one of IASSF / '
                'ConvDehazeFuser written before the model layer (convert those once with python '
                'tools/model_converters/upgrade_model_layer_checkpoint.py IN OUT)')
