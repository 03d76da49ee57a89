"""Convert a CAF release (a pickled whole model) into an mmhaze checkpoint, without unpickling it.

    python tools/model_converters/caf_official_to_mmhaze.py Det_final.pth DST [--force]

CAF's releases (github.com/RollingPlain/CAF_IVIF, ``cache/Det_final.pth`` — the default, which
made the published results — and ``cache/Seg_final.pth``) are ``torch.save({'fuse': net})`` of
the whole network object (class ``Ours`` of the repository's ``model/models.py``), not state
dicts: loading them the usual way imports that module and runs whatever the pickle says. This
converter never does: :func:`~mmhaze.utils.weight_conversion.read_pickled_module_state_dict`
reads the file with ``torch.load(weights_only=True)``, every class the pickle names mapped to an
inert record, and takes the tensors off the records (nothing of the file runs; nothing of the
repository is needed). The 46 tensors of ``fuse`` (batch-norm statistics and counters included)
map key by key onto :class:`~mmhaze.models.fusion.CAF` under ``fuser.``: ``encoder1`` (IR) →
``ir_stem``, ``encoder2`` (visible) → ``vis_stem``, ``dense`` → ``dense``, ``fuse.0.0``,
``fuse.1.0``, ``fuse.1.1``, ``fuse.2.0`` → ``head.0``, ``head.2``, ``head.3``, ``head.5``. Any
key that does not map, and any parameter left without one, is an error.
"""
from __future__ import annotations

import sys

from mmhaze.utils.weight_conversion import (
    BN_TENSORS,
    ConversionError,
    ReleaseConverter,
    ReleaseReader,
    read_pickled_module_state_dict,
)

PREFIX = 'fuser.'
#: The class the release pickled (its ``model/models.py`` imported as top-level ``models``).
RELEASED_CLASS = 'models.Ours'
_STEM = {'1': 'ir_stem', '2': 'vis_stem'}
_HEAD = {'0.0': 0, '1.0': 2, '1.1': 3, '2.0': 5}
RULES = [
    (rf'^encoder([12])\.([01])\.{BN_TENSORS}$', lambda m: f'{PREFIX}{_STEM[m[1]]}.{m[2]}.{m[3]}'),
    (rf'^dense\.(\d+)\.([01])\.{BN_TENSORS}$', lambda m: f'{PREFIX}dense.{m[1]}.{m[2]}.{m[3]}'),
    (rf'^fuse\.(0\.0|1\.0|1\.1|2\.0)\.{BN_TENSORS}$',
     lambda m: f'{PREFIX}head.{_HEAD[m[1]]}.{m[2]}'),
]


def read_release(src: str) -> dict:
    """The tensors of the network pickled under ``'fuse'`` at ``src``, read without running the
    pickle; it must be CAF's class."""
    tensors, pickled_class = read_pickled_module_state_dict(src, key='fuse')
    if pickled_class != RELEASED_CLASS:
        raise ConversionError(f"'fuse' is a pickled {pickled_class}, not CAF's "
                              f'{RELEASED_CLASS}')
    return tensors


CONVERTER = ReleaseConverter(
    network='CAF', source='RollingPlain/CAF_IVIF', prefix=PREFIX, rules=RULES,
    reader=ReleaseReader(read_release),
    description="Convert CAF's released (pickled) network without running its pickle")
convert, convert_state_dict, main = CONVERTER.convert, CONVERTER.convert_state_dict, CONVERTER.main

if __name__ == '__main__':
    sys.exit(main())
