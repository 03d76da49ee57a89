"""What the tools read about a whole model's inputs: smallest size and whether tiling is exact.

Derived from the networks that run at inference (every filled slot but the training-only ones),
each of which may declare:

- ``min_input_size``: the smallest H and W it runs on (the model's is the largest of them);
- ``tile_exact``: True only when tiles with ``tile_overlap`` pixels of context at every inner
  edge reproduce its whole-image output; a network that does not declare it counts as not
  exact (tiling it could silently change its output);
- ``tile_overlap``: its receptive-field radius (the model's is the sum: networks run one after
  the other);
- ``tile_inexact_reason``: why tiling is not exact (``tools/infer.py --tile`` prints it).

A model class may add its own ``MIN_INPUT_SIZE``, ``TILE_EXACT`` and ``TILE_OVERLAP``.
"""
from __future__ import annotations

import torch.nn as nn

from .network_slots import training_only_slots


class TilingDeclarations:
    """Mixin of :class:`BaseFusionModel`: the size and tiling properties the tools read."""

    MIN_INPUT_SIZE: int = 1
    TILE_EXACT: bool = True
    TILE_OVERLAP: int = 0

    def inference_networks(self) -> list[nn.Module]:
        """The networks that run at inference, unwrapped."""
        skip = training_only_slots(type(self))
        return [self.get_network(n) for n in self.network_names if n not in skip]

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
