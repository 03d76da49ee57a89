"""Key-mapping conversion of released checkpoints into mmhaze state dicts (the converters in
``tools/model_converters/`` are thin CLIs over this).

A release is described once, as a :class:`ReleaseConverter`: the mmhaze network it fills, the
prefix of its keys in a whole-model checkpoint, how its files are read (:data:`TORCH_WEIGHTS`,
:data:`TF1_CHECKPOINT`, or a reader of the release's own), its *rules* and the few tensor
transforms it needs. :func:`run_converter_cli` is the command line of every converter.

Rules are ``(regex, replacement)`` pairs from a released tensor name to an mmhaze key (first
match wins; the replacement may be a function of the match), or one function of the name
(``None``: no counterpart). Every released tensor must map onto exactly one parameter of the
target, with the same shape, and every target parameter must receive one: anything else is one
:class:`ConversionError` listing all problems. The only tensors dropped are those a converter
names as known and unused (``ignore``, e.g. batch-norm statistics a released forward never
reads), optimizer slots (Adam moments, ``beta1_power`` ...) and step counters (an integer scalar
``global_step`` / ``Variable``), which are reported once as a notice, with their number.

TF1 checkpoints are read from an ``.npz`` export (no TensorFlow needed) or, when TensorFlow is
installed, from the checkpoint prefix itself; TF kernels are ``[kh, kw, in, out]`` and become
``[out, in, kh, kw]``. A release saved as a pickled whole ``nn.Module`` is read without running
its pickle (:func:`read_pickled_module_state_dict`).
"""
from __future__ import annotations

import os
import os.path as osp
import pickletools
import re
import sys
import warnings
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pickle import UnpicklingError
from typing import TYPE_CHECKING, Any, Optional, Union

import numpy as np

if TYPE_CHECKING:  # torch is imported where it is used, so that --help answers at once
    import torch

Rule = tuple[str, Union[str, Callable[[re.Match], str]]]
#: A release's key mapping: rules (first match wins), or a function of the released name
#: (None: no counterpart).
Rules = Union[Sequence[Rule], Callable[[str], Optional[str]]]

#: Names of optimizer state in TF1 checkpoints (Adam's moments and powers, RMSProp, momentum).
OPTIMIZER_SLOT = re.compile(r'(/(Adam|Adam_\d+|RMSProp|RMSProp_\d+|Momentum)$)|'
                            r'(^beta[12]_power(_\d+)?$)')
#: TF1's global step: an integer scalar named ``global_step`` or, when created as a bare
#: ``tf.Variable(0)``, ``Variable`` (``Variable_1`` ...).
STEP_COUNTER = re.compile(r'^(global_step|Variable(_\d+)?)$')
#: PyTorch's batch-norm update counter: in a state dict, not a weight of any release.
BN_COUNTER = 'num_batches_tracked'
#: TF1 variable names → PyTorch's: a conv's ``kernel`` (``w`` in scopes written by hand) and
#: ``bias`` (``b``), a batch norm's ``gamma``, ``beta`` and moving statistics.
TF_NAMES = {'kernel': 'weight', 'w': 'weight', 'bias': 'bias', 'b': 'bias', 'gamma': 'weight',
            'beta': 'bias', 'moving_mean': 'running_mean', 'moving_variance': 'running_var'}
#: Regex group of a TF1 batch norm's variables.
TF_BN_VARIABLES = '(gamma|beta|moving_mean|moving_variance)'
#: Regex group of the tensors of a PyTorch conv or batch norm.
BN_TENSORS = '(weight|bias|running_mean|running_var|num_batches_tracked)'
TF_HINT = ('TensorFlow is not installed (mmhaze does not need it): export the checkpoint to an '
           '.npz where it is (three lines, see the converter\'s docstring) and pass the .npz')


class ConversionError(ValueError):
    """The checkpoint does not match the mmhaze network.

    ``kinds``: the kinds of problem found by :func:`convert_tensors` (``'unmapped'``,
    ``'foreign'``, ``'shape'``, ``'twice'``, ``'missing'``), for a converter to add a hint.
    """

    def __init__(self, message: str, kinds: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.kinds = frozenset(kinds)


def is_optimizer_slot(name: str) -> bool:
    """Whether a checkpoint tensor is optimizer state rather than a weight."""
    return bool(OPTIMIZER_SLOT.search(name))


def is_step_counter(name: str, value: object) -> bool:
    """Whether a checkpoint tensor is a training-step counter (an integer scalar so named)."""
    arr = np.asarray(value)
    return bool(STEP_COUNTER.match(name)) and arr.ndim == 0 and arr.dtype.kind in 'iu'


def map_name(name: str, rules: Rules) -> Optional[str]:
    """The mmhaze key of a released tensor name (None when no rule matches)."""
    if callable(rules):
        return rules(name)
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
                    rules: Rules, target: Mapping[str, torch.Size],
                    ignore: Sequence[str] = (), tf_layout: bool = False,
                    notice: Optional[Callable[[str], None]] = None) -> dict[str, torch.Tensor]:
    """Map released ``tensors`` onto ``target`` (mmhaze key → shape), every key exactly once.

    Args:
        rules: ``(regex, replacement)`` pairs, first match wins (or a function of the
            name, None for no counterpart).
        ignore: regexes of released tensors known to be unused by the released forward
            (dropped with a notice; they are part of the release, not a mismatch).
        tf_layout: the tensors are TF's (kernels transposed to PyTorch's layout).
        notice: called with a message when optimizer slots or ``ignore``d tensors were
            dropped (default: a warning).
    """
    import torch
    out: dict[str, torch.Tensor] = {}
    errors: dict[str, list[str]] = {}  # kind of problem → one text per tensor
    slots: list[str] = []
    counters: list[str] = []
    unused: list[str] = []
    for name in sorted(tensors):
        if is_optimizer_slot(name):
            slots.append(name)
            continue
        if is_step_counter(name, tensors[name]):
            counters.append(name)
            continue
        if any(re.search(p, name) for p in ignore):
            unused.append(name)
            continue
        key = map_name(name, rules)
        if key is None:
            errors.setdefault('unmapped', []).append(
                f'no counterpart for checkpoint tensor {name!r}')
            continue
        value = tensors[name]
        if tf_layout:
            value = tf_to_torch(np.asarray(value))
        elif not isinstance(value, torch.Tensor):
            value = torch.as_tensor(np.asarray(value))
        value = value.detach()
        # Weights become float32; integer state (batch norms' num_batches_tracked) keeps its type.
        value = (value.to(torch.float32) if value.is_floating_point() else value).contiguous()
        if key not in target:
            errors.setdefault('foreign', []).append(
                f'{name} → {key}: not a parameter of the mmhaze model')
        elif tuple(value.shape) != tuple(target[key]):
            errors.setdefault('shape', []).append(
                f'{name} → {key}: shape {tuple(value.shape)} vs {tuple(target[key])}')
        elif key in out:
            errors.setdefault('twice', []).append(f'{name} → {key}: mapped twice')
        else:
            out[key] = value
    missing = [f'mmhaze key {k!r} has no checkpoint tensor' for k in target if k not in out]
    if missing:
        errors['missing'] = missing
    if errors:
        raise ConversionError('cannot convert the checkpoint: ' + '; '.join(
            _summary(texts) for texts in errors.values()), kinds=errors)
    notice = notice or (lambda m: warnings.warn(m, stacklevel=3))
    if slots or counters:
        what = ' and '.join(part for part in (
            f'{len(slots)} optimizer slot tensors' if slots else '',
            f'{len(counters)} step counter{"s" * (len(counters) != 1)}' if counters else '')
            if part)
        notice(f'dropped {what} (training state, not weights), e.g. {(slots + counters)[0]!r}')
    if unused:
        notice(f'dropped {len(unused)} tensors the released forward does not use, e.g. '
               f'{unused[0]!r}')
    return out


#: Problems of one kind listed in full before the rest are only counted.
_EXAMPLES = 3


def _summary(texts: Sequence[str]) -> str:
    """Problems of one kind: all of them when few, else the first few and a count."""
    if len(texts) <= _EXAMPLES:
        return '; '.join(texts)
    return (f'{"; ".join(texts[:_EXAMPLES])} (and {len(texts) - _EXAMPLES} more of this kind, '
            f'{len(texts)} in all)')


ZIP_MAGIC = b'PK\x03\x04'


def _read_npz(src: str) -> dict[str, np.ndarray]:
    import zipfile
    try:
        with np.load(src, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except ValueError as err:  # object arrays: reading them would unpickle
        raise ConversionError(f'{src}: {err} (an .npz of a checkpoint holds numeric arrays '
                              'only; export it again with plain arrays)') from None
    except (zipfile.BadZipFile, EOFError, OSError) as err:
        raise ConversionError(f'{src}: cannot read it as an .npz ({err}): the file is '
                              'truncated, corrupt or not an .npz; export it again') from None


def _is_tf_checkpoint(src: str) -> bool:
    return (osp.isfile(src + '.index') or src.endswith('.index')
            or re.search(r'\.data-\d+-of-\d+$', src) is not None)


def read_tf_checkpoint(src: str) -> dict[str, np.ndarray]:
    """Tensors by name from an ``.npz`` export, or from a TF checkpoint prefix (TensorFlow)."""
    if src.endswith('.npz'):
        if not osp.isfile(src):
            raise FileNotFoundError(f'{src} not found')
        return _read_npz(src)
    if not (_is_tf_checkpoint(src) or osp.isfile(src)):
        raise FileNotFoundError(f'{src}: neither an .npz nor a TF checkpoint prefix '
                                f'({src}.index not found)')
    if not _is_tf_checkpoint(src):  # a file: an .npz by another name, or something else
        with open(src, 'rb') as f:
            if f.read(4) == ZIP_MAGIC:
                return _read_npz(src)
        raise ConversionError(f'{src} is neither an .npz export nor a TF checkpoint (a prefix '
                              f'with {src}.index beside it); pass one of those')
    try:
        import tensorflow as tf  # optional: only this reader needs it
    except ImportError:
        raise ConversionError(f'{src}: {TF_HINT}') from None
    reader = tf.train.load_checkpoint(src)
    return {k: reader.get_tensor(k) for k in reader.get_variable_to_shape_map()}


def read_torch_state_dict(src: str) -> dict[str, torch.Tensor]:
    """A released PyTorch state dict (plain, or under ``state_dict``/``model``/``weight`` —
    DIDFuse saves ``{'weight': ..., 'epoch': ...}``; a DataParallel ``module.`` prefix is
    stripped), loaded with ``weights_only=True``."""
    from .checkpoint import safe_torch_load
    if not osp.isfile(src):
        raise FileNotFoundError(f'{src} not found')
    obj = safe_torch_load(src, map_location='cpu')  # --unsafe-load: the user trusts it
    for key in ('state_dict', 'model', 'weight'):
        if isinstance(obj, Mapping) and isinstance(obj.get(key), Mapping):
            obj = obj[key]
    if not isinstance(obj, Mapping):
        raise ConversionError(f'{src}: not a state dict ({type(obj).__name__})')
    return {(k[len('module.'):] if k.startswith('module.') else k): v for k, v in obj.items()}


def pop_derived_tensors(tensors: Mapping[str, torch.Tensor], pattern: str,
                        expected: Callable[[str], torch.Tensor],
                        atol: float = 1e-6) -> dict[str, torch.Tensor]:
    """``tensors`` without those matching ``pattern``: buffers the release saved that mmhaze
    computes itself (relative-position tables, index buffers); each must equal ``expected(name)``
    (else a :class:`ConversionError`), so a release whose tables differ is not silently
    converted."""
    import torch
    rest, errors = {}, []
    for name, value in tensors.items():
        if not re.search(pattern, name):
            rest[name] = value
            continue
        want = expected(name)
        value = torch.as_tensor(value)
        if tuple(value.shape) != tuple(want.shape):
            errors.append(f'{name}: shape {tuple(value.shape)}, mmhaze computes '
                          f'{tuple(want.shape)}')
        elif not torch.allclose(value.double(), want.double(), rtol=0, atol=atol):
            diff = (value.double() - want.double()).abs().max().item()
            errors.append(f'{name}: differs from the table mmhaze computes by {diff:.3g}')
    if errors:
        raise ConversionError('cannot convert the checkpoint: ' + _summary(errors))
    return rest


def pop_relative_position_tables(tensors: Mapping[str, torch.Tensor],
                                 pattern: str) -> dict[str, torch.Tensor]:
    """``tensors`` without the log-spaced relative-position tables of DehazeFormer-style window
    attention (saved by the releases, computed by mmhaze) matching ``pattern``: each must equal
    the table of its window, whose size its shape gives (window² rows)."""
    from mmhaze.models.backbones import log_relative_positions
    return pop_derived_tensors(tensors, pattern, lambda name: log_relative_positions(
        int(round(tensors[name].shape[0] ** 0.5))))


class PickledObject:
    """An inert stand-in for a class a pickled whole-model file names (its ``nn.Module``
    classes, the release's own ones): building one only records its arguments and state, so
    reading the file runs none of the file's code and needs none of the release's classes."""

    pickled_name = '?'

    def __new__(cls, *args, **kwargs):
        obj = super().__new__(cls)
        obj.args, obj.state = args, None
        return obj

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state) -> None:
        self.state = state

    def __repr__(self) -> str:
        return f'<pickled {self.pickled_name}>'


#: Names a pickled module resolves to torch's own (tensor rebuilding, storages, containers);
#: every other name becomes a :class:`PickledObject`.
TORCH_PICKLE_GLOBALS = re.compile(
    r'^(torch\._utils\._rebuild_(tensor(_v2)?|parameter(_with_state)?)|torch\.\w+Storage|'
    r'torch\.storage\.UntypedStorage|torch\.Size|torch\.(float|int|long|bool|uint8)\d*|'
    r'collections\.OrderedDict|(__builtin__|builtins)\.(set|frozenset|list|dict|tuple))$')


def _pickle_globals(src: str) -> set[str]:
    """The ``module.name`` globals a torch zip checkpoint's pickle names, read from its opcodes
    (nothing is executed)."""
    try:
        with zipfile.ZipFile(src) as archive:
            pkl = [n for n in archive.namelist() if n.endswith('/data.pkl') or n == 'data.pkl']
            if len(pkl) != 1:
                raise ConversionError(f'{src}: not a torch zip checkpoint (no single data.pkl)')
            data = archive.read(pkl[0])
    except zipfile.BadZipFile:
        raise ConversionError(f'{src}: not a torch zip checkpoint (legacy or corrupt file; '
                              'read it once where its code is trusted)') from None
    names = set()
    for opcode, arg, _ in pickletools.genops(data):
        if opcode.name == 'GLOBAL':
            names.add(arg.replace(' ', '.', 1))
        elif opcode.name in ('STACK_GLOBAL', 'INST', 'OBJ'):
            raise ConversionError(f'{src}: its pickle uses {opcode.name}, which this reader '
                                  'does not follow (torch.save writes protocol 2 GLOBALs)')
    return names


def module_state_dict(record: object, where: str = '') -> dict[str, torch.Tensor]:
    """The state dict of a pickled ``nn.Module`` read as :class:`PickledObject` records:
    parameters and persistent buffers, children by dotted name (as ``Module.state_dict``)."""
    import torch
    state = getattr(record, 'state', None)
    if not isinstance(record, PickledObject) or not isinstance(state, Mapping) or not all(
            isinstance(state.get(k), Mapping) for k in ('_parameters', '_buffers', '_modules')):
        raise ConversionError(f'{where or "the object"} is a {type(record).__name__} '
                              f'({record!r}), not a pickled nn.Module')
    out: dict[str, torch.Tensor] = {}
    skip = set(state.get('_non_persistent_buffers_set') or ())
    tensors = list(state['_parameters'].items()) + [
        (k, v) for k, v in state['_buffers'].items() if k not in skip]
    for name, value in tensors:
        if value is None:
            continue
        if not isinstance(value, torch.Tensor):
            raise ConversionError(f'{where}{name} is a {type(value).__name__}, not a tensor')
        out[where + name] = value.detach()
    for name, child in state['_modules'].items():
        if child is not None:
            out.update(module_state_dict(child, f'{where}{name}.'))
    return out


def read_pickled_module_state_dict(src: str, key: Optional[str] = None
                                   ) -> tuple[dict[str, torch.Tensor], str]:
    """(state dict, class name) of a whole ``nn.Module`` pickled by ``torch.save`` (under
    ``key`` of a saved dict), **without unpickling it**: the file goes through
    ``torch.load(weights_only=True)`` with every class it names, other than torch's tensor
    rebuilding, mapped to an inert :class:`PickledObject` that records the state it is given;
    the tensors are then read off those records. No code from the file, nor from the release's
    repository, runs. torch refuses the globals of the modules it blocks (``os``, ``sys`` …)."""
    import torch
    if not osp.isfile(src):
        raise FileNotFoundError(f'{src} not found')
    stand_ins = [(type(f'Pickled[{name}]', (PickledObject,), dict(pickled_name=name)), name)
                 for name in sorted(_pickle_globals(src)) if not TORCH_PICKLE_GLOBALS.match(name)]
    try:
        with torch.serialization.safe_globals(stand_ins):
            obj = torch.load(src, map_location='cpu', weights_only=True)
    except UnpicklingError as err:
        raise ConversionError(f'{src}: refused by the weights-only reader: '
                              f'{str(err).splitlines()[0]}') from None
    where = ''
    if key is not None:
        if not isinstance(obj, Mapping) or key not in obj:
            found = sorted(obj) if isinstance(obj, Mapping) else type(obj).__name__
            raise ConversionError(f'{src}: no {key!r} entry (found {found})')
        obj, where = obj[key], f'[{key!r}] '
    state = module_state_dict(obj, '')
    if not state:
        raise ConversionError(f'{src}: {where}holds no tensors')
    return state, getattr(obj, 'pickled_name', type(obj).__name__)


def prefixed_shapes(network: torch.nn.Module, prefix: str) -> dict[str, torch.Size]:
    """The persistent state of ``network`` under ``prefix`` (a whole-model checkpoint's keys)."""
    return {prefix + k: v.shape for k, v in network.state_dict().items()}


def zero_counter(shape: torch.Size) -> torch.Tensor:
    """A batch-norm update counter at 0, what a freshly built network holds (``shape``: the
    counter's, a scalar)."""
    import torch
    return torch.zeros(shape, dtype=torch.long)


#: A :attr:`ReleaseConverter.unreleased` entry: the batch-norm counters, which TF releases (and
#: some PyTorch ones) do not hold, written as 0 (:data:`TF1_CHECKPOINT` adds it itself).
BN_COUNTERS_AT_ZERO = (rf'\.{BN_COUNTER}$', zero_counter)


def source_files(src: str) -> list[str]:
    """The files a converter reads for ``src``: the file itself, or a TF checkpoint prefix's
    ``.index``, ``.meta`` and data shards."""
    import glob
    if osp.isfile(src):
        return [src]
    return [src] + sorted(glob.glob(glob.escape(src) + '.index') +
                          glob.glob(glob.escape(src) + '.meta') +
                          glob.glob(glob.escape(src) + '.data-*'))


def same_file(a: str, b: str) -> bool:
    """Whether two paths name one file (after symlinks and ``~``; hard links too, when both
    exist)."""
    a, b = osp.expanduser(a), osp.expanduser(b)
    if osp.realpath(a) == osp.realpath(b):
        return True
    return osp.exists(a) and osp.exists(b) and osp.samefile(a, b)


def refuse_paths(dst: str, force: bool, required: Sequence[tuple[str, str]] = (),
                 inputs: Sequence[str] = ()) -> Optional[str]:
    """The converters' one-line error for a missing input (``(what, path)`` pairs), an output
    that is one of the ``inputs`` (even with ``--force``: a tool never overwrites its input) or
    an existing output without ``--force``; None when the paths are fine."""
    for what, path in required:
        if not osp.isfile(path):
            return f'{what} not found: {path}'
    for path in inputs:
        if same_file(dst, path):
            return f'{dst} is an input of the conversion ({path}); choose another output'
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


@dataclass(frozen=True)
class ConverterOption:
    """A command-line option of a converter beyond ``SRC ... DST [--force] [--unsafe-load]``:
    passed to its ``convert`` (and to ``network`` / ``source`` when they are functions) as the
    keyword :attr:`name`, and recorded in the written checkpoint's ``meta``."""

    flag: str
    help: str
    default: Optional[str] = None  # None: the option is required
    choices: Optional[Sequence[str]] = None
    input_file: bool = False  # a file the conversion reads: it must exist, it is never DST

    @property
    def name(self) -> str:
        return self.flag.lstrip('-').replace('-', '_')


def run_converter(argv: Optional[Sequence[str]], description: str,
                  convert: Callable[..., dict[str, torch.Tensor]],
                  network: Union[str, Callable[..., str]],
                  source: Union[str, Callable[..., str]], prefix: Optional[str] = 'fuser.',
                  sources: Sequence[tuple[str, str]] = (
                      ('src', 'the released checkpoint (or its .npz export)'),),
                  options: Sequence[ConverterOption] = ()) -> int:
    """The shared command line of the converters: ``SRC [SRC2 ...] DST [--force]``.

    ``sources``: (name, help) of each positional input, passed to ``convert`` in order (a
    release whose weights come in several files). ``source``: where the release comes from, or
    a function of the inputs saying it (after a successful conversion), printed and recorded;
    ``network`` likewise names the network in the checkpoint's ``meta``. ``options``: further
    options, passed to those functions as keywords. ``prefix``: where the keys sit, said when
    the checkpoint is written (None: the keys of a whole model).
    """
    import argparse
    parser = argparse.ArgumentParser(description=description)
    for name, help_text in sources:
        parser.add_argument(name, help=help_text)
    parser.add_argument('dst', help='mmhaze checkpoint to write')
    for option in options:
        parser.add_argument(option.flag, required=option.default is None, default=option.default,
                            choices=option.choices, help=option.help)
    parser.add_argument('--force', action='store_true', help='overwrite dst if it exists')
    parser.add_argument('--unsafe-load', action='store_true',
                        help='allow a trusted release that torch.load(weights_only=True) '
                             'refuses (unpickling can run code)')
    args = parser.parse_args(argv)
    srcs = [getattr(args, name) for name, _ in sources]
    settings = {option.name: getattr(args, option.name) for option in options}
    input_options = [(option.name, settings[option.name]) for option in options
                     if option.input_file]
    refusal = refuse_paths(args.dst, args.force, required=input_options,
                           inputs=[f for src in srcs for f in source_files(src)] +
                           [path for _, path in input_options])
    if refusal:
        print(f'error: {refusal}', file=sys.stderr)
        return 2
    if args.unsafe_load:
        from .checkpoint import UNSAFE_LOAD_ENV
        os.environ[UNSAFE_LOAD_ENV] = '1'
    from .errors import report_user_errors
    return report_user_errors(lambda: _convert_and_write(
        convert, srcs, settings, args.dst, network, source, prefix))


def _convert_and_write(convert: Callable[..., dict[str, torch.Tensor]], srcs: Sequence[str],
                       settings: dict[str, str], dst: str,
                       network: Union[str, Callable[..., str]],
                       source: Union[str, Callable[..., str]], prefix: Optional[str]) -> int:
    try:
        state_dict = convert(*srcs, **settings)
        origin = source(*srcs, **settings) if callable(source) else source
    except FileNotFoundError as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    except ConversionError as err:
        named = any(str(err).startswith(src) for src in srcs)
        print(f'error: {err}' if named else f'error: {", ".join(srcs)}: {err}', file=sys.stderr)
        return 1
    if callable(source):
        print(f'converting {origin}')
    converted_from = ' + '.join(osp.basename(src.rstrip('/')) for src in srcs)
    network_name = network(*srcs, **settings) if callable(network) else network
    write_converted(state_dict, dst, dict(converted_from=converted_from, network=network_name,
                                          source=origin, **settings), prefix)
    return 0


# --------------------------------------------------------------------------------- releases

@dataclass(frozen=True)
class ReleaseReader:
    """How a release's files are read: ``read(path)`` gives the tensors by name;
    ``tf_layout``: they are TF's (conv kernels [kh, kw, in, out], transposed when mapped);
    ``unreleased``: mmhaze keys no file of this kind holds (as
    :attr:`ReleaseConverter.unreleased`)."""

    read: Callable[[str], Mapping[str, Any]]
    tf_layout: bool = False
    unreleased: Sequence[tuple[str, Callable[[torch.Size], torch.Tensor]]] = ()


#: A PyTorch state dict, loaded with ``weights_only=True`` (:func:`read_torch_state_dict`).
TORCH_WEIGHTS = ReleaseReader(read_torch_state_dict)
#: A TF1 checkpoint: its ``.npz`` export, or its prefix with TensorFlow installed. It holds no
#: batch-norm update counters (PyTorch's): they are written as 0.
TF1_CHECKPOINT = ReleaseReader(read_tf_checkpoint, tf_layout=True,
                               unreleased=(BN_COUNTERS_AT_ZERO,))
#: The command-line help of a release in one file.
RELEASE_FILE_HELP = 'the released checkpoint (or its .npz export)'


@dataclass(frozen=True)
class ReleaseFile:
    """One file of a release whose weights come in several (one command-line argument each,
    in this order), with its own rules and ignored tensors, and the mmhaze keys it fills."""

    name: str
    help: str
    rules: Rules
    #: the mmhaze keys it fills: those under these prefixes (after the converter's
    #: ``prefix``); empty: every key no other file claims
    under: tuple[str, ...] = ()
    ignore: Sequence[str] = ()


@dataclass(frozen=True)
class ReleaseConverter:
    """What is particular to one release; :meth:`convert` and :func:`run_converter_cli` do the
    rest: build the network, take its keys and shapes as the target, read the files, map every
    released tensor onto exactly one key (:func:`convert_tensors`), refuse what does not fit,
    write a weights_only-safe checkpoint.

    Args:
        network: the registered mmhaze network the release fills (built with its defaults);
            also the ``network`` recorded in the checkpoint's ``meta``.
        source: where the release comes from (recorded in ``meta``), or a function of the
            input paths saying it (then also printed).
        description: the command line's description.
        rules: the key mapping of a release in one file (see :data:`Rules`), to full mmhaze
            keys (``prefix`` included).
        ignore: regexes of released tensors its forward never uses (dropped with a notice).
        files: a release in several files, instead of ``rules`` and ``ignore``; with several
            files, errors and notices name the file.
        prefix: the network's slot in a whole-model checkpoint (``'fuser.'``, ``'dehazer.'``).
        reader: how the files are read: :data:`TORCH_WEIGHTS` (default),
            :data:`TF1_CHECKPOINT`, or a reader of the release's own.
        prepare: ``(tensors, network) -> tensors``, run on each file's tensors before they
            are mapped: e.g. buffers the release saved that mmhaze computes, checked against
            the network's and dropped (:func:`pop_derived_tensors`).
        unreleased: ``(regex, value of a shape)`` pairs for mmhaze keys the release does not
            hold: written with that value (after the mapped ones) instead of being required
            (e.g. :data:`BN_COUNTERS_AT_ZERO`).
    """

    network: str
    source: Union[str, Callable[..., str]]
    description: str
    rules: Rules = ()
    ignore: Sequence[str] = ()
    files: Sequence[ReleaseFile] = ()
    prefix: str = 'fuser.'
    reader: ReleaseReader = TORCH_WEIGHTS
    prepare: Optional[Callable[[dict, torch.nn.Module], dict]] = None
    unreleased: Sequence[tuple[str, Callable[[torch.Size], torch.Tensor]]] = ()

    @property
    def release_files(self) -> tuple[ReleaseFile, ...]:
        """The release's files, in command-line order."""
        return tuple(self.files) or (
            ReleaseFile('src', RELEASE_FILE_HELP, self.rules, ignore=self.ignore),)

    def build_network(self) -> torch.nn.Module:
        from mmhaze.registry import MODELS
        network = MODELS.get(self.network)
        if network is None:
            raise KeyError(f'{self.network} is not a registered mmhaze network')
        return network()

    def target_shapes(self, network: Optional[torch.nn.Module] = None
                      ) -> dict[str, torch.Size]:
        """The keys (under ``prefix``) and shapes of the network: what the release fills."""
        return prefixed_shapes(self.build_network() if network is None else network,
                               self.prefix)

    def convert(self, *srcs: str) -> dict[str, torch.Tensor]:
        """The whole-model state dict (keys under ``prefix``) of the release's files."""
        self._check_arity(srcs)
        # with several files, a problem says in which
        return self._convert((self.reader.read(src) for src in srcs),
                             srcs if len(srcs) > 1 else None)

    def convert_state_dicts(self, *released: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        """The whole-model state dict of the released tensors, one mapping per file."""
        self._check_arity(released)
        return self._convert(released)

    def convert_state_dict(self, released: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        """The whole-model state dict of a release in one file, from its tensors."""
        return self.convert_state_dicts(released)

    def main(self, argv: Optional[Sequence[str]] = None) -> int:
        """The converter's command line (:func:`run_converter_cli`)."""
        return run_converter_cli(argv, self)

    def _check_arity(self, given: Sequence) -> None:
        files = self.release_files
        if len(given) != len(files):
            raise TypeError(f'{self.network}: the release is {len(files)} file(s) '
                            f'({", ".join(f.name for f in files)}), {len(given)} given')

    def _convert(self, released: Iterable[Mapping[str, Any]],
                 names: Optional[Sequence[str]] = None) -> dict[str, torch.Tensor]:
        network = self.build_network()
        shapes = self.target_shapes(network)
        filled = {}
        for key, shape in shapes.items():
            fill = next((f for pattern, f in (*self.unreleased, *self.reader.unreleased)
                         if re.search(pattern, key)), None)
            if fill is not None:
                filled[key] = fill(shape)
        weights = {k: v for k, v in shapes.items() if k not in filled}
        out: dict[str, torch.Tensor] = {}
        # zip reads each file only once the files before it have converted
        for index, (file, tensors) in enumerate(zip(self.release_files, released)):
            if self.prepare is not None:
                tensors = self.prepare(tensors, network)
            out.update(self._convert_file(file, tensors, self._file_target(file, weights),
                                          names[index] if names else None))
        out.update(filled)
        return out

    def _file_target(self, file: ReleaseFile, weights: Mapping[str, torch.Size]
                     ) -> dict[str, torch.Size]:
        def under(f: ReleaseFile) -> tuple[str, ...]:
            return tuple(self.prefix + p for p in f.under)
        if file.under:
            return {k: v for k, v in weights.items() if k.startswith(under(file))}
        claimed = tuple(p for f in self.release_files for p in under(f))
        return {k: v for k, v in weights.items() if not k.startswith(claimed)}

    def _convert_file(self, file: ReleaseFile, tensors: Mapping[str, Any],
                      target: Mapping[str, torch.Size],
                      name: Optional[str]) -> dict[str, torch.Tensor]:
        def notice(message: str) -> None:
            warnings.warn(f'{name}: {message}' if name else message, stacklevel=5)
        try:
            return convert_tensors(tensors, file.rules, target, ignore=file.ignore,
                                   tf_layout=self.reader.tf_layout, notice=notice)
        except ConversionError as err:
            if name is None:
                raise
            raise ConversionError(f'{name}: {err}', err.kinds) from None


def run_converter_cli(argv: Optional[Sequence[str]], converter: ReleaseConverter) -> int:
    """The command line of a release's converter: ``SRC [SRC2 ...] DST [--force]
    [--unsafe-load]``, one SRC per file of the release; one-line errors, exit codes 0 / 1
    (the release does not fit) / 2 (refused input)."""
    return run_converter(argv, converter.description, converter.convert,
                         network=converter.network, source=converter.source,
                         prefix=converter.prefix,
                         sources=[(f.name, f.help) for f in converter.release_files])
