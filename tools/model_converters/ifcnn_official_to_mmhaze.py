"""Convert IFCNN's released PyTorch state dict into an mmhaze checkpoint.

    python tools/model_converters/ifcnn_official_to_mmhaze.py IFCNN-MAX.pth DST [--force]

The release (github.com/uzeful/IFCNN, ``Code/snapshots/IFCNN-MAX.pth``; VIF-Benchmark's
``Checkpoint/IFCNN/``) holds everything, ResNet-101's conv1 included (nothing to download). Its
keys map onto :class:`~mmhaze.models.fusion.IFCNN` under ``fuser.``; the batch norms'
``num_batches_tracked`` counters, absent from the release, are written as 0. Any key that does
not map, and any parameter left without one, is an error.
"""
from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:  # torch is imported where it is used, so that --help answers at once
    import torch

from mmhaze.utils.weight_conversion import (
    convert_tensors,
    prefixed_shapes,
    read_torch_state_dict,
    run_converter,
)

PREFIX = 'fuser.'
RULES = [
    (r'^conv1\.weight$', f'{PREFIX}conv1.weight'),
    (r'^conv([23])\.(conv\.weight|bn\.(weight|bias|running_mean|running_var))$',
     lambda m: f'{PREFIX}conv{m[1]}.{m[2]}'),
    (r'^conv4\.(weight|bias)$', lambda m: f'{PREFIX}conv4.{m[1]}'),
]
COUNTER = 'num_batches_tracked'


def target_shapes() -> dict[str, torch.Size]:
    from mmhaze.models.fusion import IFCNN
    return {k: v for k, v in prefixed_shapes(IFCNN(), PREFIX).items()
            if not k.endswith(COUNTER)}


def convert_state_dict(official: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The whole-model state dict (``fuser.*``) of a released state dict."""
    import torch
    # Newer PyTorch saves the counters: they carry no weight, so they are not mapped.
    official = {k: v for k, v in official.items() if not k.endswith(COUNTER)}
    out = convert_tensors(official, RULES, target_shapes())
    for bn in ('conv2', 'conv3'):
        out[f'{PREFIX}{bn}.bn.{COUNTER}'] = torch.tensor(0, dtype=torch.long)
    return out


def convert(src: str) -> dict[str, torch.Tensor]:
    """The whole-model state dict (``fuser.*``) of the release at ``src``."""
    return convert_state_dict(read_torch_state_dict(src))


def main(argv: Optional[Sequence[str]] = None) -> int:
    return run_converter(argv, "Convert IFCNN's released state dict", convert,
                         network='IFCNN', source='uzeful/IFCNN', prefix=PREFIX)


if __name__ == '__main__':
    sys.exit(main())
