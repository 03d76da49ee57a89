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

from mmhaze.utils.weight_conversion import (
    BN_COUNTER,
    BN_COUNTERS_AT_ZERO,
    ReleaseConverter,
)

PREFIX = 'fuser.'
RULES = [
    (r'^conv1\.weight$', f'{PREFIX}conv1.weight'),
    (r'^conv([23])\.(conv\.weight|bn\.(weight|bias|running_mean|running_var))$',
     lambda m: f'{PREFIX}conv{m[1]}.{m[2]}'),
    (r'^conv4\.(weight|bias)$', lambda m: f'{PREFIX}conv4.{m[1]}'),
]


def without_counters(official: dict, network=None) -> dict:
    """Newer PyTorch saves the batch-norm counters: they carry no weight, so they are not
    mapped (the converter writes them as 0)."""
    return {k: v for k, v in official.items() if not k.endswith(BN_COUNTER)}


CONVERTER = ReleaseConverter(network='IFCNN', source='uzeful/IFCNN', prefix=PREFIX, rules=RULES,
                             description="Convert IFCNN's released state dict",
                             prepare=without_counters, unreleased=[BN_COUNTERS_AT_ZERO])
convert, convert_state_dict, main = CONVERTER.convert, CONVERTER.convert_state_dict, CONVERTER.main

if __name__ == '__main__':
    sys.exit(main())
