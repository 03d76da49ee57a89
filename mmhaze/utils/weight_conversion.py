"""Key-mapping conversion of released checkpoints into mmhaze state dicts (the converters in
``tools/model_converters/`` are thin CLIs over this).

A converter declares *rules*: ``(regex, replacement)`` pairs from a released tensor name to an
mmhaze key (first match wins; the replacement may be a function of the match). Every released
tensor must map onto exactly one parameter of the target, with the same shape, and every target
parameter must receive one: anything else is one :class:`ConversionError` listing all problems.
The only tensors dropped are those a converter names as known and unused (``ignore``, e.g.
batch-norm statistics a released forward never reads) and optimizer slots (Adam moments,
``beta1_power`` ...), which are reported once as a notice.

TF1 checkpoints are read from an ``.npz`` export (no TensorFlow needed) or, when TensorFlow is
installed, from the checkpoint prefix itself; TF kernels are ``[kh, kw, in, out]`` and become
``[out, in, kh, kw]``.
"""
from __future__ import annotations

import os.path as osp
import re
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Optional, Union

import numpy as np

if TYPE_CHECKING:  # torch is imported where it is used, so that --help answers at once
    import torch

Rule = tuple[str, Union[str, Callable[[re.Match], str]]]

#: Names of optimizer state in TF1 checkpoints (Adam's moments and powers, RMSProp, momentum).
OPTIMIZER_SLOT = re.compile(r'(/(Adam|Adam_\d+|RMSProp|RMSProp_\d+|Momentum)$)|'
                            r'(^beta[12]_power(_\d+)?$)')
TF_HINT = ('TensorFlow is not installed (mmhaze does not need it): export the checkpoint to an '
           '.npz where it is (three lines, see the converter\'s docstring) and pass the .npz')


class ConversionError(ValueError):
    """The checkpoint does not match the mmhaze network."""


def is_optimizer_slot(name: str) -> bool:
    """Whether a checkpoint tensor is optimizer state rather than a weight."""
    return bool(OPTIMIZER_SLOT.search(name))


def map_name(name: str, rules: Sequence[Rule]) -> Optional[str]:
    """The mmhaze key of a released tensor name (None when no rule matches)."""
    for pattern, repl in rules:
        new, n = re.subn(pattern, repl, name, count=1)
        if n:
            return new
    return None


def tf_to_torch(value: np.ndarray) -> torch.Tensor:
    """A TF tensor as a torch tensor: 4-D conv kernels [kh, kw, in, out] → [out, in, kh, kw]."""
    import torch
    tensor = torch.from_numpy(np.ascontiguousarray(value, dtype=np.float32))
    return tensor.permute(3, 2, 0, 1).contiguous() if tensor.dim() == 4 else tensor


def convert_tensors(tensors: Mapping[str, Union[np.ndarray, torch.Tensor]],
                    rules: Sequence[Rule], target: Mapping[str, torch.Size],
                    ignore: Sequence[str] = (), tf_layout: bool = False,
                    notice: Optional[Callable[[str], None]] = None) -> dict[str, torch.Tensor]:
    """Map released ``tensors`` onto ``target`` (mmhaze key → shape), every key exactly once.

    Args:
        rules: ``(regex, replacement)`` pairs, first match wins.
        ignore: regexes of released tensors known to be unused by the released forward
            (dropped with a notice; they are part of the release, not a mismatch).
        tf_layout: the tensors are TF's (kernels transposed to PyTorch's layout).
        notice: called with a message when optimizer slots or ``ignore``d tensors were
            dropped (default: a warning).
    """
    import torch
    out: dict[str, torch.Tensor] = {}
    errors: list[str] = []
    slots: list[str] = []
    unused: list[str] = []
    for name in sorted(tensors):
        if is_optimizer_slot(name):
            slots.append(name)
            continue
        if any(re.search(p, name) for p in ignore):
            unused.append(name)
            continue
        key = map_name(name, rules)
        if key is None:
            errors.append(f'no counterpart for checkpoint tensor {name!r}')
            continue
        value = tensors[name]
        if tf_layout:
            value = tf_to_torch(np.asarray(value))
        elif not isinstance(value, torch.Tensor):
            value = torch.as_tensor(np.asarray(value))
        value = value.detach().to(torch.float32).contiguous()
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
    notice = notice or (lambda m: warnings.warn(m, stacklevel=3))
    if slots:
        notice(f'dropped {len(slots)} optimizer slot tensors (training state, not weights), '
               f'e.g. {slots[0]!r}')
    if unused:
        notice(f'dropped {len(unused)} tensors the released forward does not use, e.g. '
               f'{unused[0]!r}')
    return out


def read_tf_checkpoint(src: str) -> dict[str, np.ndarray]:
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


def read_torch_state_dict(src: str) -> dict[str, torch.Tensor]:
    """A released PyTorch state dict (plain, or under ``state_dict``/``model``; a DataParallel
    ``module.`` prefix is stripped), loaded with ``weights_only=True``."""
    import torch
    if not osp.isfile(src):
        raise FileNotFoundError(f'{src} not found')
    obj = torch.load(src, map_location='cpu', weights_only=True)
    for key in ('state_dict', 'model'):
        if isinstance(obj, Mapping) and isinstance(obj.get(key), Mapping):
            obj = obj[key]
    if not isinstance(obj, Mapping):
        raise ConversionError(f'{src}: not a state dict ({type(obj).__name__})')
    return {(k[len('module.'):] if k.startswith('module.') else k): v for k, v in obj.items()}


def prefixed_shapes(network: torch.nn.Module, prefix: str) -> dict[str, torch.Size]:
    """The persistent state of ``network`` under ``prefix`` (a whole-model checkpoint's keys)."""
    return {prefix + k: v.shape for k, v in network.state_dict().items()}


def same_path(a: str, b: str) -> bool:
    """Whether two paths name one file (through links, or the same resolved path)."""
    if osp.exists(a) and osp.exists(b):
        return osp.samefile(a, b)
    return osp.realpath(a) == osp.realpath(b)


def refuse_paths(dst: str, force: bool, required: Sequence[tuple[str, str]] = (),
                 sources: Sequence[str] = ()) -> Optional[str]:
    """The converters' one-line error for a missing input (``(what, path)`` pairs), an output
    that is (or resolves to) an input (``required`` or ``sources``; ``--force`` or not), or an
    existing output without ``--force``; None when the paths are fine."""
    for what, path in required:
        if not osp.isfile(path):
            return f'{what} not found: {path}'
    for src in [path for _, path in required] + list(sources):
        if same_path(dst, src):
            return f'{dst} is the input {src}: a converter never overwrites its input'
    if osp.exists(dst) and not force:
        return f'{dst} exists (use --force to overwrite)'
    return None


def write_converted(state_dict: Mapping[str, torch.Tensor], dst: str, meta: dict,
                    prefix: Optional[str] = None) -> None:
    """Save a converted state dict as a weights_only-safe checkpoint and say what was written."""
    from .checkpoint import save_safe_checkpoint
    save_safe_checkpoint(dict(state_dict=dict(state_dict), meta=meta), dst)
    n = sum(v.numel() for v in state_dict.values())
    where = f" (keys under '{prefix}')" if prefix else ''
    print(f'wrote {dst}: {len(state_dict)} tensors, {n:,} parameters{where}')


def run_converter(argv: Optional[Sequence[str]], description: str,
                  convert: Callable[[str], dict[str, torch.Tensor]], network: str,
                  source: str, prefix: str = 'fuser.') -> int:
    """The shared command line of the converters: ``SRC DST [--force]``."""
    import argparse
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('src', help='the released checkpoint (or its .npz export)')
    parser.add_argument('dst', help='mmhaze checkpoint to write')
    parser.add_argument('--force', action='store_true', help='overwrite dst if it exists')
    args = parser.parse_args(argv)
    refusal = refuse_paths(args.dst, args.force, sources=[args.src])
    if refusal:
        print(f'error: {refusal}', file=sys.stderr)
        return 2
    try:
        state_dict = convert(args.src)
    except FileNotFoundError as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    except ConversionError as err:
        print(f'error: {args.src}: {err}', file=sys.stderr)
        return 1
    write_converted(state_dict, args.dst, dict(converted_from=osp.basename(args.src.rstrip('/')),
                                               network=network, source=source), prefix)
    return 0
