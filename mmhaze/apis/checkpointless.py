"""Using a model without a checkpoint (``tools/test.py`` and ``pytorch2onnx.py`` with none)."""
from __future__ import annotations

import os.path as osp
from typing import Optional

import torch.nn as nn

from .config_check import ConfigError


def init_without_checkpoint(model: nn.Module, use: str = 'used') -> dict[str, str]:
    """Initialise ``model`` for use without a checkpoint; return where each network's weights
    come from.

    ``model.init_weights()`` loads every ``init_cfg=dict(type='Pretrained', ...)`` slot (the
    Runner only initialises weights before training) and a model-level Pretrained
    ``init_cfg`` (a whole-model checkpoint, checked to fit the model strictly first). A
    network with parameters that no ``init_cfg`` loads would be ``use``-d (tested, exported)
    with random weights: that is an error naming the slot.
    """
    from mmhaze.models.base_models import BaseFusionModel
    sources: dict[str, str] = {}
    if isinstance(model, BaseFusionModel):
        random = []
        pretrained = model.pretrained_networks()
        whole = _whole_model_pretrained(model)
        for name in model.network_names:
            net = model.get_network(name)
            n_params = sum(p.numel() for p in net.parameters())
            if name in pretrained:
                sources[name] = (f'{type(net).__name__}: init_cfg '
                                 f'{pretrained[name].get("checkpoint")}')
            elif whole is not None and n_params:
                sources[name] = f'{type(net).__name__}: model.init_cfg {whole}'
            elif n_params == 0:
                sources[name] = f'{type(net).__name__}: training-free'
            else:
                random.append(f'model.{name} ({type(net).__name__}, {n_params:,} parameters)')
        if random:
            raise ConfigError(
                f'no checkpoint given and {", ".join(random)} would be {use} with random '
                'weights: pass a CHECKPOINT or give the network an init_cfg '
                "(dict(type='Pretrained', checkpoint=..., prefix=...))")
    try:
        model.init_weights()
    except (OSError, KeyError, ValueError) as err:  # a missing or misfitting init_cfg file
        raise ConfigError(str(err).strip('"')) from None
    return sources


def _whole_model_pretrained(model: nn.Module) -> Optional[str]:
    """The checkpoint of a model-level ``init_cfg=dict(type='Pretrained', checkpoint=...)``
    (None without one), after checking that its weights fit the model strictly: mmengine
    loads it non-strictly and would only log the weights that do not fit."""
    cfgs = model.init_cfg if isinstance(model.init_cfg, list) else [model.init_cfg]
    for cfg in cfgs:
        if isinstance(cfg, dict) and cfg.get('type') == 'Pretrained':
            checkpoint = str(cfg.get('checkpoint') or '')
            if not osp.isfile(checkpoint):
                raise ConfigError(f'model.init_cfg.checkpoint: {checkpoint or "(not set)"} not '
                                  'found (mmhaze downloads no weights: give a local file)')
            if not cfg.get('prefix'):
                from mmhaze.utils.checkpoint import check_weights_fit
                check_weights_fit(model, checkpoint, hint=' (model.init_cfg)')
            return checkpoint
    return None
