"""Move the weights of a checkpoint written before the model layer to today's slots, once.

    python tools/model_converters/upgrade_model_layer_checkpoint.py OLD.pth NEW.pth [--force]

Before the model layer, ``IASSF`` kept its restorer's parts (``encoder.``, ``ir_projection.``,
``restoration_prompt.``, ``restoration_embedding.``, ``haze_density.``, ``restoration_head.``) and
its fusion network (``fusion.``) at the top of the state dict, and ``ConvDehazeFuser`` its one
network's parts (``vis_encoder.`` … ``fusion_head.``); today they sit under the slots
``dehazer.`` / ``fuser.`` and ``network.`` of ``DehazeFuseModel``. This tool renames the keys of
the ``state_dict`` (optimizer state, scheduler, meta and message hub are kept as they are, so a
training checkpoint still resumes) and writes a new, weights_only-safe file; it never writes over
its input. Loading an old checkpoint without it says to run it.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from typing import Optional

# Old top-level prefix → today's key prefix, per model of the first releases.
_IASSF_RESTORER = ('encoder', 'ir_projection', 'restoration_prompt', 'restoration_embedding',
                   'haze_density', 'restoration_head')
_CONV_NET = ('vis_encoder', 'ir_encoder', 'merge', 'trunk', 'dehaze_head', 'fusion_head')
LAYOUTS: dict[str, dict[str, str]] = {
    'IASSF': {**{f'{p}.': f'dehazer.{p}.' for p in _IASSF_RESTORER}, 'fusion.': 'fuser.'},
    'ConvDehazeFuser': {f'{p}.': f'network.{p}.' for p in _CONV_NET},
}


def detect_layout(keys: Sequence[str]) -> Optional[str]:
    """The old model whose layout ``keys`` follow (every key under one of its prefixes)."""
    for name, mapping in LAYOUTS.items():
        if keys and all(any(k.startswith(old) for old in mapping) for k in keys):
            return name
    return None


def upgrade_keys(state_dict: Mapping, layout: str) -> dict:
    """``state_dict`` with the old prefixes of ``layout`` replaced by today's."""
    mapping = LAYOUTS[layout]
    out = {}
    for key, value in state_dict.items():
        old = next(p for p in sorted(mapping, key=len, reverse=True) if key.startswith(p))
        out[mapping[old] + key[len(old):]] = value
    return out


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='a checkpoint of IASSF or ConvDehazeFuser from before the '
                                    'model layer')
    parser.add_argument('dst', help='the upgraded checkpoint to write')
    parser.add_argument('--force', action='store_true', help='overwrite dst if it exists')
    args = parser.parse_args(argv)
    from mmhaze.utils.errors import report_user_errors
    # An unreadable or unsafe checkpoint, a full disk: one line.
    return report_user_errors(lambda: upgrade(args))


def upgrade(args) -> int:
    from mmhaze.utils.checkpoint import safe_torch_load, save_safe_checkpoint
    from mmhaze.utils.weight_conversion import refuse_paths
    refusal = refuse_paths(args.dst, args.force, [('checkpoint', args.src)], inputs=[args.src])
    if refusal:
        print(f'error: {refusal}', file=sys.stderr)
        return 2
    ckpt = safe_torch_load(args.src, map_location='cpu')
    bare = not (isinstance(ckpt, Mapping) and isinstance(ckpt.get('state_dict'), Mapping))
    state = ckpt if bare else ckpt['state_dict']
    if not isinstance(state, Mapping):
        print(f'error: {args.src} holds no state dict', file=sys.stderr)
        return 2
    layout = detect_layout(list(state))
    if layout is None:
        tops = sorted({k.split('.', 1)[0] for k in state})[:8]
        print(f'error: {args.src} is not an IASSF or ConvDehazeFuser checkpoint from before the '
              f'model layer (its weights sit at {tops}); nothing to upgrade', file=sys.stderr)
        return 2
    upgraded = upgrade_keys(state, layout)
    out = upgraded if bare else {**ckpt, 'state_dict': upgraded}
    save_safe_checkpoint(out, args.dst)
    print(f'wrote {args.dst}: {len(upgraded)} weights of {layout} moved to '
          f"{sorted({v.split('.', 1)[0] + '.' for v in LAYOUTS[layout].values()})}"
          + ('' if bare else '; optimizer, scheduler and meta kept'))
    return 0


if __name__ == '__main__':
    sys.exit(main())
