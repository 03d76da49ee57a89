"""The model layer: what every whole model shares (docs/design.md §3).

- :mod:`.contract` — the one contract of a model config: slots, outputs, loss namespace and every
  binding, checked without building a network (the model and ``config_check`` both use it);
- :mod:`.network_slots` — declaring, building, freezing, loading and calling networks in slots;
- :mod:`.loss_terms` / :mod:`.loss_namespace` — losses keyed by name and what they bind to;
- :mod:`.training_stages` — which networks, losses and optimizers are active when;
- :mod:`.optimization` — which optimizer wrappers step, and one update over several;
- :mod:`.tiling` — the size and tiling properties the tools read;
- :mod:`.base_fusion_model` / :mod:`.base_adversarial_model` — the base classes.

Nothing here imports a concrete model (those are in ``mmhaze.models.task_models``).
"""
from .base_adversarial_model import BaseAdversarialFusionModel, DiscriminatorDict
from .base_fusion_model import TENSOR_OUTPUTS, BaseFusionModel
from .contract import (
    DISCRIMINATOR_SLOT,
    ContractError,
    ModelContract,
    composed_model_class,
    network_outputs,
)
from .loss_namespace import FIELD_KEYS, SOURCE_KEYS, BatchFields, LossNamespace
from .loss_terms import LossEntry, LossTerm, build_loss_terms, parse_loss_entry
from .network_slots import SLOT_OPTIONS, declared_slots, fixed_parameters, unwrap
from .training_stages import TrainingStage, read_stages, stage_index

__all__ = [
    'BaseFusionModel', 'BaseAdversarialFusionModel', 'DiscriminatorDict', 'TENSOR_OUTPUTS',
    'ModelContract', 'ContractError', 'composed_model_class', 'network_outputs',
    'DISCRIMINATOR_SLOT', 'BatchFields', 'LossNamespace', 'SOURCE_KEYS', 'FIELD_KEYS',
    'LossEntry', 'LossTerm', 'build_loss_terms', 'parse_loss_entry', 'SLOT_OPTIONS',
    'declared_slots', 'fixed_parameters', 'unwrap', 'TrainingStage', 'read_stages',
    'stage_index'
]
