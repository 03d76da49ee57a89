"""What networks and losses read besides the sources: batched sample fields and the namespace.

The loss namespace is one flat set of names a loss entry binds to (see
:mod:`.loss_terms`):

- the model's outputs (``dehazed``, ``fused``, ``seg_logits`` and whatever else a model lists in
  its ``output_names``, e.g. IASSF's ``haze_density``), in model range;
- the sources ``vis`` and ``ir`` in model range (normalised, channel-matched, padded);
- batched data-sample fields, stacked on first use: ``gt_clear`` (model range, padded like the
  sources), ``gt_sem_seg`` (int64, padded with 255 = ignore), ``unpaired_clear`` (model range, its
  own crop size, never padded with the pair);
- extra entries a model computes lazily, on first use, from the namespace itself (e.g.
  discriminator outputs ``d_<name>_fake``).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Optional

import torch

SOURCE_KEYS = ('vis', 'ir')
FIELD_KEYS = ('gt_clear', 'gt_sem_seg', 'unpaired_clear')


class BatchFields:
    """Batched pixel fields of the data samples, stacked once, on first use.

    ``fields['gt_clear']`` raises a ``KeyError`` naming the sample that lacks it;
    ``fields.get('gt_sem_seg')`` returns None when any sample lacks it (inference on unlabelled
    data). Without data samples (``mode='tensor'``) every field is absent.
    """

    def __init__(self, data_samples: Optional[Sequence], preprocessor: Any,
                 like: torch.Tensor):
        self.data_samples = data_samples
        self.preprocessor = preprocessor
        self.like = like
        self._cache: dict[str, torch.Tensor] = {}

    def __contains__(self, name: str) -> bool:
        return bool(self.data_samples) and all(name in s for s in self.data_samples)

    def __getitem__(self, name: str) -> torch.Tensor:
        if name not in FIELD_KEYS:
            raise KeyError(f'{name!r} is not a batched sample field; known: {FIELD_KEYS}')
        if name not in self._cache:
            if not self.data_samples:
                raise KeyError(f'{name!r} is needed but there are no data samples '
                               "(mode='tensor' has none)")
            self._cache[name] = self.preprocessor.stack_field(self.data_samples, name, self.like)
        return self._cache[name]

    def get(self, name: str, default: Any = None) -> Any:
        return self[name] if name in self else default

    def subset(self, names: Iterable[str]) -> dict[str, Optional[torch.Tensor]]:
        """``{name: tensor or None}`` for the fields a network declares it consumes."""
        return {n: self.get(n) for n in names}


class LossNamespace:
    """Resolves a loss binding's key: outputs, then sources, then fields, then lazy extras."""

    def __init__(self, outputs: Mapping[str, Any], inputs: Mapping[str, torch.Tensor],
                 fields: BatchFields,
                 extras: Optional[Mapping[str, Callable[[LossNamespace], Any]]] = None):
        self.outputs = outputs
        self.inputs = inputs
        self.fields = fields
        self.extras = dict(extras or {})
        self._extra_cache: dict[str, Any] = {}

    def __call__(self, key: str) -> Any:
        if key in self.outputs:
            return self.outputs[key]
        if key in SOURCE_KEYS:
            return self.inputs[key]
        if key in FIELD_KEYS:
            return self.fields[key]
        if key in self.extras:
            if key not in self._extra_cache:
                self._extra_cache[key] = self.extras[key](self)
            return self._extra_cache[key]
        raise KeyError(f'loss input {key!r} is not available; this step has outputs '
                       f'{sorted(self.outputs)}, sources {list(SOURCE_KEYS)}, fields '
                       f'{list(FIELD_KEYS)} and {sorted(self.extras)}')
