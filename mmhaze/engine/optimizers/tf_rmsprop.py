"""TensorFlow 1's RMSProp, with optional weight clipping (U2Fusion's training recipe)."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Optional

import torch
from torch.optim import Optimizer

from mmhaze.registry import OPTIMIZERS


@OPTIMIZERS.register_module()
class TFRMSprop(Optimizer):
    """``tf.compat.v1.train.RMSPropOptimizer`` (non-centred), step for step.

    Per parameter, with gradient g::

        ms  ← decay·ms + (1 − decay)·g²            (ms starts at 1, not 0 as in torch)
        mom ← momentum·mom + lr·g / sqrt(ms + ε)   (ε inside the root, not outside)
        θ   ← θ − mom
        θ   ← clip(θ, −weight_clip, weight_clip)   (if weight_clip is set)

    ``torch.optim.RMSprop`` differs in the first two points, which matters most in the first
    steps (it starts with steps of about lr/sqrt(1 − decay) whatever the gradient's size).
    U2Fusion trains with lr 1e-4, decay 0.6, momentum 0.15, ε 1e-10 and clips every weight
    to [−50, 50] after each step.
    """

    def __init__(self, params: Iterable, lr: float = 1e-3, decay: float = 0.9,
                 momentum: float = 0.0, epsilon: float = 1e-10,
                 weight_clip: Optional[float] = None):
        if lr < 0 or not 0.0 <= decay < 1.0 or momentum < 0 or epsilon < 0:
            raise ValueError(f'TFRMSprop: invalid lr={lr}, decay={decay}, momentum={momentum} '
                             f'or epsilon={epsilon}')
        if weight_clip is not None and weight_clip <= 0:
            raise ValueError(f'TFRMSprop: weight_clip must be positive or None, got '
                             f'{weight_clip}')
        super().__init__(params, dict(lr=lr, decay=decay, momentum=momentum, epsilon=epsilon,
                                      weight_clip=weight_clip))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            clip = group['weight_clip']
            for p in group['params']:
                if p.grad is None:
                    if clip is not None:  # TF clips every variable of the list
                        p.clamp_(-clip, clip)
                    continue
                state = self.state[p]
                if not state:
                    state['ms'] = torch.ones_like(p)
                    state['mom'] = torch.zeros_like(p)
                ms, mom = state['ms'], state['mom']
                g = p.grad
                ms.mul_(group['decay']).addcmul_(g, g, value=1.0 - group['decay'])
                mom.mul_(group['momentum']).addcdiv_(g, (ms + group['epsilon']).sqrt_(),
                                                    value=group['lr'])
                p.sub_(mom)
                if clip is not None:
                    p.clamp_(-clip, clip)
        return loss
