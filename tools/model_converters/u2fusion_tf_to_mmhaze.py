"""Convert U2Fusion's released TensorFlow checkpoint into an mmhaze checkpoint.

    python tools/model_converters/u2fusion_tf_to_mmhaze.py SRC DST [--force]

SRC is either the TF1 checkpoint prefix (``.../model/model.ckpt``, read with TensorFlow, an
optional extra that mmhaze never needs at run time) or an ``.npz`` holding the checkpoint's
tensors by their names, which needs no TensorFlow. Export that ``.npz`` anywhere TensorFlow is
installed with::

    import numpy as np, tensorflow as tf
    r = tf.train.load_checkpoint('model/model.ckpt')
    np.savez('u2fusion.npz', **{k: r.get_tensor(k) for k in r.get_variable_to_shape_map()})

The 20 tensors of the release (``Generator/encoder/...``, ``Generator_1/decoder/...``, kernels in
TF's [kh, kw, in, out] layout) map onto :class:`~mmhaze.models.fusion.U2FusionNet` under the
``fuser.`` prefix (a whole-model checkpoint: ``init_cfg=dict(type='Pretrained',
checkpoint=DST, prefix='fuser.')`` or ``load_from``). The dense block keeps TF's
[new, old] channel order, so kernels are only transposed to [out, in, kh, kw]. Any tensor
that does not map, and any mmhaze parameter left without one, is an error.
"""
from __future__ import annotations

import argparse
import os.path as osp
import re
import sys
from collections.abc import Mapping

import numpy as np
import torch

FUSER_PREFIX = 'fuser.'
# TF variable scope → U2FusionNet module (first match wins).
_MODULES: list[tuple[str, str]] = [
    (r'^Generator/encoder/conv1_1/', 'conv_in.'),
    (r'^Generator/encoder/dense_block_conv([1-9])/', lambda m: f'dense.{int(m[1]) - 1}.'),
    (r'^Generator_1/decoder/conv2_([1-9])/', lambda m: f'decoder.{int(m[1]) - 1}.'),
]
_PARAMS = {'kernel': 'weight', 'bias': 'bias'}
TF_HINT = ('TensorFlow is not installed (mmhaze does not need it): export the checkpoint to an '
           '.npz where it is (three lines, see this script\'s docstring) and pass the .npz')


class ConversionError(ValueError):
    """The checkpoint does not match U2FusionNet."""


def map_key(name: str) -> str:
    """TF tensor name → mmhaze key (with the ``fuser.`` prefix), or raise."""
    for pattern, repl in _MODULES:
        new, n = re.subn(pattern, repl, name, count=1)
        if n:
            param = new.rsplit('.', 1)[-1]
            if param not in _PARAMS:
                break
            return FUSER_PREFIX + new[:-len(param)] + _PARAMS[param]
    raise ConversionError(f'no U2FusionNet counterpart for checkpoint tensor {name!r}')


def to_torch(name: str, value: np.ndarray) -> torch.Tensor:
    """A TF tensor as a torch tensor: conv kernels [kh, kw, in, out] → [out, in, kh, kw]."""
    tensor = torch.from_numpy(np.ascontiguousarray(value, dtype=np.float32))
    return tensor.permute(3, 2, 0, 1).contiguous() if name.endswith('/kernel') else tensor


def convert_tensors(tensors: Mapping[str, np.ndarray],
                    target: Mapping[str, torch.Size]) -> dict[str, torch.Tensor]:
    """Map the checkpoint's tensors onto ``target`` (mmhaze key → shape), every key once."""
    out: dict[str, torch.Tensor] = {}
    errors: list[str] = []
    for name in sorted(tensors):
        try:
            key = map_key(name)
        except ConversionError as err:
            errors.append(str(err))
            continue
        value = to_torch(name, np.asarray(tensors[name]))
        if key not in target:
            errors.append(f'{name} → {key}: not a parameter of the mmhaze model')
        elif tuple(value.shape) != tuple(target[key]):
            errors.append(f'{name} → {key}: shape {tuple(value.shape)} vs {tuple(target[key])}')
        elif key in out:
            errors.append(f'{name} → {key}: mapped twice')
        else:
            out[key] = value
    errors += [f'mmhaze key {k!r} has no checkpoint tensor' for k in target if k not in out]
    if errors:
        raise ConversionError('cannot convert the checkpoint:\n  ' + '\n  '.join(errors))
    return out


def read_checkpoint(src: str) -> dict[str, np.ndarray]:
    """Tensors by name from an ``.npz`` export, or from a TF checkpoint prefix (TensorFlow)."""
    if src.endswith('.npz'):
        if not osp.isfile(src):
            raise FileNotFoundError(f'{src} not found')
        with np.load(src, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    if not (osp.isfile(src + '.index') or osp.isfile(src)):
        raise FileNotFoundError(f'{src}: neither an .npz nor a TF checkpoint prefix '
                                f'({src}.index not found)')
    try:
        import tensorflow as tf  # optional: only this reader needs it
    except ImportError:
        raise ConversionError(f'{src}: {TF_HINT}') from None
    reader = tf.train.load_checkpoint(src)
    return {k: reader.get_tensor(k) for k in reader.get_variable_to_shape_map()}


def target_shapes() -> dict[str, torch.Size]:
    """The parameters of the released U2FusionNet, under ``fuser.``."""
    from mmhaze.models.fusion import U2FusionNet
    return {FUSER_PREFIX + k: v.shape for k, v in U2FusionNet().state_dict().items()}


def convert(src: str) -> dict[str, torch.Tensor]:
    """The whole-model state dict (``fuser.*``) of the checkpoint at ``src``."""
    return convert_tensors(read_checkpoint(src), target_shapes())


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Convert U2Fusion's TF checkpoint")
    parser.add_argument('src', help='TF checkpoint prefix (model.ckpt) or an .npz export')
    parser.add_argument('dst', help='mmhaze checkpoint to write')
    parser.add_argument('--force', action='store_true', help='overwrite dst if it exists')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmhaze.utils.checkpoint import save_safe_checkpoint
    if osp.exists(args.dst) and not args.force:
        print(f'error: {args.dst} exists (use --force to overwrite)', file=sys.stderr)
        return 2
    try:
        state_dict = convert(args.src)
    except FileNotFoundError as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    except ConversionError as err:
        print(f'error: {args.src}: {err}', file=sys.stderr)
        return 1
    save_safe_checkpoint(dict(state_dict=state_dict,
                              meta=dict(converted_from=osp.basename(args.src),
                                        network='U2FusionNet', source='hanna-xu/U2Fusion')),
                         args.dst)
    n = sum(v.numel() for v in state_dict.values())
    print(f'wrote {args.dst}: {len(state_dict)} tensors, {n:,} parameters (keys under '
          f"'{FUSER_PREFIX}')")
    return 0


if __name__ == '__main__':
    sys.exit(main())
