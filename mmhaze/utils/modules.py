"""Small helpers on torch modules that every layer of mmhaze uses."""
from __future__ import annotations

import torch.nn as nn
from mmengine.model import is_model_wrapper


def unwrap(module: nn.Module) -> nn.Module:
    """The module inside a DDP wrapper (mmengine's wrappers and torch's), else ``module``."""
    return module.module if is_model_wrapper(module) else module
