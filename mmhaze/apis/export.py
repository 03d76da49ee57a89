"""ONNX export of any mmhaze model that follows the ``mode='tensor'`` contract (docs/design.md §3).

The exported graph takes what the image files hold and returns what ``mode='predict'`` returns:

- inputs ``vis`` (B×3×H×W) and ``ir`` (B×C×H×W, C = ``ir_channels``, 1 by default), float32 in
  [0, 1];
- outputs ``pred_dehazed`` / ``pred_fused`` (B×3×H×W, float32 in [0, 1]) — whichever the model
  gives — and ``pred_sem_seg`` (B×1×H×W int64 labels) for models with ``seg_logits``.

Inside the graph, as the data preprocessor and ``to_data_samples`` do: channel matching (a
1-channel IR replicated for a model that expects 3), normalisation to the model range, padding to
``pad_size_divisor`` (the preprocessor's ``pad_mode``), ``model(inputs, mode='tensor')``, cropping
back, denormalisation and clamping to [0, 1]. Nothing is model-specific: every model that follows
the contract exports, and one that cannot is refused with an :class:`ExportError` naming the
block (and op) that failed.

Exporter: ``torch.export`` (non-strict) then ``torch.onnx.export(..., dynamo=True)`` (torch's
dynamo-based exporter, onnxscript). Dynamic H/W use ``Dim.AUTO``: the exporter keeps H and W
symbolic and derives the smallest size the graph accepts from the model's own shape checks.
Every export is verified: onnxruntime runs the graph on seeded inputs and its outputs must match
PyTorch's within a tolerance: :data:`DEFAULT_TOLERANCE`, or what the model's blocks declare as
``export_tolerance`` (see :func:`model_tolerance`), or 4× PyTorch's own float32 error against
float64 where that is larger (:func:`pytorch_float32_error`); labels may differ at a fraction
:data:`LABEL_TOLERANCE` of the pixels.
"""
from __future__ import annotations

import ast
import copy
import os
import os.path as osp
import re
import tempfile
import time
import traceback
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

import torch
import torch.nn as nn

from mmhaze.models.utils.padding import pad_amount
from mmhaze.utils.errors import UserError

INPUT_NAMES = ('vis', 'ir')
#: ``mode='tensor'`` key → graph output name (the data-sample field it corresponds to).
OUTPUT_NAMES = {'dehazed': 'pred_dehazed', 'fused': 'pred_fused', 'seg_logits': 'pred_sem_seg'}
#: Largest max |Δ| between onnxruntime and PyTorch outputs when no block declares more.
DEFAULT_TOLERANCE = 1e-4
#: Largest fraction of ``pred_sem_seg`` labels that may differ (near-ties of two logits).
LABEL_TOLERANCE = 1e-3
#: The tolerance is at least this many times PyTorch's own float32 error against float64: two
#: float32 evaluations each that far from exact, rounding differently, were measured up to 2.7×
#: it apart (DehazeFormer-B with seeded weights: 9.8e-4 against 3.6e-4).
FLOAT32_ERROR_FACTOR = 4.0
#: Keys of the metadata written into the ONNX file (``metadata_props``).
META_PREFIX = 'mmhaze.'


class ExportError(UserError, RuntimeError):
    """The model cannot be exported, or the request is wrong (file exists, size too small)."""


class ExportMismatchError(ExportError):
    """onnxruntime's outputs differ from PyTorch's by more than the tolerance."""

    exit_code = 1


def check_output_path(out: str, overwrite: bool = False) -> None:
    """Refuse anything but a new ``.onnx`` path (an existing one only with ``overwrite``)."""
    if not out.endswith('.onnx'):
        raise ExportError(f'the output must be a .onnx file, got {out}')
    if osp.exists(out) and not overwrite:
        raise ExportError(f'{out} exists; choose a new name or pass --overwrite')
    if osp.isdir(out):
        raise ExportError(f'{out} is a folder')


@dataclass
class ExportResult:
    """What :func:`export_onnx` wrote and measured."""

    path: str
    outputs: list[str]
    shape: tuple[int, int]
    dynamic: bool
    min_size: Optional[tuple[int, int]]
    opset: int
    ir_channels: int
    tolerance: float
    max_abs_diff: dict[str, float] = field(default_factory=dict)
    #: Fraction of output values differing by more than :data:`DEFAULT_TOLERANCE` (0 unless the
    #: model quantises internally and a value landed on the other side of a step).
    over_default: dict[str, float] = field(default_factory=dict)
    #: PyTorch's own float32 error against float64 (:func:`pytorch_float32_error`).
    float32_error: Optional[float] = None
    checked_shapes: list[tuple[int, int]] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        size = ('dynamic H×W ≥ {}×{}'.format(*self.min_size) if self.dynamic
                else '{}×{}'.format(*self.shape))
        diffs = ', '.join(f'{k} {v:.2e}' + (f' ({100 * self.over_default[k]:.3g} % of values '
                                            f'> {DEFAULT_TOLERANCE:g})'
                                            if self.over_default.get(k) else '')
                          for k, v in self.max_abs_diff.items())
        sizes = ', '.join(f'{h}×{w}' for h, w in self.checked_shapes)
        own = ('' if self.float32_error is None
               else f'; PyTorch float32 vs float64 {self.float32_error:.2e}')
        return (f'{self.path}: {", ".join(self.outputs)}; {size}; opset {self.opset}; '
                f'onnxruntime vs PyTorch max |Δ| ({sizes}): {diffs} (tolerance '
                f'{self.tolerance:.3g}{own}); {self.seconds:.0f} s')


class OnnxExportWrapper(nn.Module):
    """[0, 1] ``vis``, ``ir`` → [0, 1] predictions: the preprocessor's steps around
    ``model(inputs, mode='tensor')``, traced into the graph."""

    def __init__(self, model: nn.Module, ir_channels: int = 1):
        super().__init__()
        pre = getattr(model, 'data_preprocessor', None)
        for attr in ('normalize', 'denormalize', 'match_channels', 'pad_size_divisor'):
            if not hasattr(pre, attr):
                raise ExportError(f'{type(model).__name__} has no FusionDataPreprocessor-like '
                                  f'data_preprocessor (missing {attr!r}): the export wrapper '
                                  'needs its normalisation, channels and padding')
        protocol = getattr(model, 'protocol', None)
        if getattr(protocol, 'whole_image', False) and pre.pad_size_divisor > 1:
            # Its stretch must see the image, not the padding; the graph has no per-image sizes.
            raise ExportError(f'{type(model).__name__} with {protocol!r}: the output stretch '
                              'covers the whole image, which padding to pad_size_divisor '
                              f'{pre.pad_size_divisor} would change; export with '
                              'pad_size_divisor=1 or a protocol without stretch')
        library_reads = [r for r in (getattr(protocol, 'vis_read', None),
                                     getattr(protocol, 'ir_read', None),
                                     getattr(protocol, 'chroma', None)) if r not in (None, 'rgb')]
        if library_reads:
            # Pillow's and OpenCV's gray conversions run in NumPy on 8-bit files: no graph op.
            raise ExportError(f'{type(model).__name__} with {protocol!r}: the release reads its '
                              f'sources through {", ".join(sorted(set(library_reads)))} (Pillow/'
                              'OpenCV on 8-bit files), which a graph cannot hold; export with '
                              "protocol='plain' and read the files that way before the graph")
        self.model = model
        self.ir_channels = int(ir_channels)

    def forward(self, vis: torch.Tensor, ir: torch.Tensor) -> tuple[torch.Tensor, ...]:
        from mmhaze.models.data_preprocessors.fusion_data_preprocessor import pad_to
        pre = self.model.data_preprocessor
        h, w = vis.shape[-2:]
        # One H and W for both inputs (the export then shares the symbolic sizes).
        torch._check(ir.shape[-2] == h)
        torch._check(ir.shape[-1] == w)
        d = pre.pad_size_divisor
        size = (h + pad_amount(h, d), w + pad_amount(w, d))
        inputs = {key: pre.normalize(pre.match_channels(x, key, warn=False))
                  for key, x in (('vis', vis), ('ir', ir))}
        if d > 1:  # no padding ops in the graph of a model that needs none
            inputs = {k: pad_to(x, *size, mode=pre.pad_mode) for k, x in inputs.items()}
        out = self.model(inputs, mode='tensor')
        preds = [pre.denormalize(out[key][..., :h, :w]).clamp(0.0, 1.0)
                 for key in ('dehazed', 'fused') if key in out]
        if 'seg_logits' in out:
            preds.append(out['seg_logits'][..., :h, :w].argmax(1, keepdim=True))
        return tuple(preds)

    def output_names(self, example: Sequence[torch.Tensor]) -> list[str]:
        """Graph output names, from one eager forward of the model's tensor mode."""
        pre = self.model.data_preprocessor
        with torch.no_grad():
            out = self.model({k: pre.normalize(pre.match_channels(x, k, warn=False))
                              for k, x in zip(INPUT_NAMES, example)}, mode='tensor')
        names = [OUTPUT_NAMES[k] for k in OUTPUT_NAMES if k in out]
        if not names:
            raise ExportError(f"{type(self.model).__name__}(mode='tensor') returned "
                              f'{sorted(out)}; the export needs dehazed, fused or seg_logits')
        return names


# --------------------------------------------------------------------------- models and weights


def build_export_model(config: str, checkpoint: Optional[str] = None,
                       cfg_options: Optional[dict] = None) -> nn.Module:
    """The config's model (CPU, eval mode) with its weights.

    ``checkpoint`` is loaded strictly through mmhaze's weights_only loader. Without one, the
    model must bring its own weights, as ``tools/test.py`` requires: ``init_cfg``
    (``Pretrained``) slots are loaded by ``model.init_weights()``, parameter-free networks need
    none, and any other network with parameters is refused (it would export random weights).
    """
    from mmhaze.registry import MODELS
    from mmhaze.utils import register_all_modules
    from mmhaze.utils.checkpoint import load_weights

    from .checkpointless import init_without_checkpoint
    from .config_check import ConfigError, load_config
    register_all_modules(init_default_scope=True)
    cfg = load_config(config, cfg_options)
    if 'model' not in cfg:
        raise ConfigError(f'{config} defines no model')
    model_cfg = cfg.model.copy()
    # Inference needs no losses (some load weight files, e.g. U2Fusion's VGG), nor the training
    # stages that name them.
    model_cfg.pop('losses', None)
    model_cfg.pop('stages', None)
    model = MODELS.build(model_cfg)
    if checkpoint is not None:
        if not osp.isfile(checkpoint):
            raise ConfigError(f'checkpoint not found: {checkpoint}')
        load_weights(model, checkpoint, strict=True)
    else:
        init_without_checkpoint(model, 'exported')
    return model.eval()


def model_tolerance(model: nn.Module) -> float:
    """The largest ``export_tolerance`` a module of ``model`` declares, at least
    :data:`DEFAULT_TOLERANCE`.

    A block that quantises internally declares how far one rounding step apart can move the
    outputs (float rounding differs between PyTorch's and onnxruntime's kernels, so a value on a
    quantisation step may land on either side of it). :attr:`ExportResult.over_default` then
    says how rare such values are.
    """
    declared = []
    for module in model.modules():
        # Modules, and the plain objects they hold (e.g. a fusion release protocol).
        for obj in (module, *vars(module).values()):
            if not isinstance(obj, type) and getattr(obj, 'export_tolerance', None):
                declared.append(float(obj.export_tolerance))
    return max([DEFAULT_TOLERANCE] + declared)


# --------------------------------------------------------------------------- export


def export_onnx(model: nn.Module, out: str, shape: Sequence[int] = (256, 256),
                dynamic: bool = False, ir_channels: int = 1, batch: int = 1,
                opset: Optional[int] = None, overwrite: bool = False,
                tolerance: Optional[float] = None,
                metadata: Optional[Mapping[str, Any]] = None) -> ExportResult:
    """Export ``model`` to ``out`` (an ``.onnx`` file) and verify it with onnxruntime.

    Args:
        model: an mmhaze model (``mode='tensor'`` contract) with its weights, on the CPU.
        out: the file to write; an existing file is refused unless ``overwrite``.
        shape: H, W of the example inputs: the only size of a static graph, the size traced and
            checked first with ``dynamic``.
        dynamic: symbolic H and W (the batch stays ``batch``).
        ir_channels: channels of the graph's ``ir`` input (matched to the model's inside).
        opset: ONNX opset (None: the exporter's default).
        tolerance: largest max |Δ| allowed against PyTorch, as given (None:
            :func:`model_tolerance`, raised to :data:`FLOAT32_ERROR_FACTOR` × PyTorch's own
            float32 error where that is larger).
        metadata: extra ``mmhaze.*`` metadata (e.g. config and checkpoint paths).

    Raises:
        ExportError: the model cannot be exported (the message names the block and op), or
            onnxruntime's outputs differ from PyTorch's by more than the tolerance.
    """
    start = time.perf_counter()
    check_output_path(out, overwrite)
    height, width = (int(s) for s in shape)
    min_input = smallest_image(model)
    if min(height, width) < min_input:
        raise ExportError(f'--shape {height} {width} is smaller than the model accepts '
                          f'({min_input} px per side)')
    model = model.cpu().eval()
    wrapper = OnnxExportWrapper(model, ir_channels).eval()
    example = example_inputs(batch, ir_channels, height, width)
    names = wrapper.output_names(example)
    float32_error = pytorch_float32_error(wrapper, example)
    if tolerance is not None:  # the caller's, as given
        tolerance = float(tolerance)
    else:
        tolerance = model_tolerance(model)
        # A model whose own float32 outputs are this far from exact cannot be held to less;
        # not for one that rounds inside (its float64 run flips roundings, not a float error).
        if float32_error is not None and tolerance <= DEFAULT_TOLERANCE:
            tolerance = max(tolerance, FLOAT32_ERROR_FACTOR * float32_error)

    program = _torch_export(wrapper, example, dynamic, model)
    min_size = None
    if dynamic:  # the graph's own bound, or the networks' declared one if that is larger
        min_size = tuple(max(m, min_input) for m in _dynamic_min_size(program))
    proto = _to_onnx(program, example, names, opset, model)
    opset_used = next(o.version for o in proto.opset_import if o.domain in ('', 'ai.onnx'))
    meta = dict(outputs=','.join(names), input_range=_range(model), ir_channels=ir_channels,
                pad_size_divisor=model.data_preprocessor.pad_size_divisor,
                pad_mode=model.data_preprocessor.pad_mode,
                min_input_size=int(getattr(model, 'min_input_size', 1)), dynamic=int(dynamic),
                shape=f'{height},{width}', tolerance=tolerance, **(metadata or {}))
    if min_size is not None:
        meta['min_size'] = f'{min_size[0]},{min_size[1]}'
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = META_PREFIX + key, str(value)

    checks = [(height, width)]
    if dynamic:  # a second size of another parity, within what the graph accepts
        checks.append((max(height - 5, min_size[0]), max(width + 3, min_size[1])))
    session = _ort_session(proto.SerializeToString(), model, proto)
    diffs: dict[str, float] = {}
    over: dict[str, float] = {}
    for i, (h, w) in enumerate(checks):
        inputs = example if i == 0 else example_inputs(batch, ir_channels, h, w, seed=i)
        with torch.no_grad():
            expected = wrapper(*inputs)
        try:
            got = session.run(None, {k: v.numpy() for k, v in zip(INPUT_NAMES, inputs)})
        except Exception as err:  # e.g. an index computed for the traced size only
            where = _block_of_onnx_node(str(err), proto) or type(model).__name__
            hint = (f' at {h}×{w} (traced at {height}×{width}): the dynamic graph does not '
                    'generalise to other sizes; export without --dynamic' if i else '')
            raise ExportError(f'cannot run the export of {where} in onnxruntime{hint}: '
                              f'{_first_line(err)}') from err
        for name, ref, val in zip(names, expected, got):
            delta = (torch.from_numpy(val).double() - ref.double()).abs()
            if ref.is_floating_point():
                diffs[name] = max(diffs.get(name, 0.0), float(delta.max()))
            else:  # labels: the fraction that differ (a near-tie of two logits may flip)
                diffs[name] = max(diffs.get(name, 0.0), float((delta > 0).double().mean()))
            over[name] = max(over.get(name, 0.0),
                             float((delta > DEFAULT_TOLERANCE).double().mean()))
    bad = {k: v for k, v in diffs.items()
           if not v <= (tolerance if k != OUTPUT_NAMES['seg_logits'] else LABEL_TOLERANCE)}
    if bad:
        raise ExportMismatchError(
            f'{type(model).__name__}: onnxruntime differs from PyTorch by '
            + ', '.join(f'{k} {v:.3g}' for k, v in bad.items())
            + f' (max |Δ|, tolerance {tolerance:g}); nothing written')
    _write_atomic(proto, out)
    return ExportResult(path=out, outputs=names, shape=(height, width), dynamic=dynamic,
                        min_size=min_size, opset=opset_used, ir_channels=ir_channels,
                        tolerance=tolerance, max_abs_diff=diffs, over_default=over,
                        float32_error=float32_error,
                        checked_shapes=checks,
                        seconds=time.perf_counter() - start)


def pytorch_float32_error(wrapper: OnnxExportWrapper,
                          example: Sequence[torch.Tensor]) -> Optional[float]:
    """Max |Δ| between the wrapper's float32 and float64 image outputs on ``example``: how far
    PyTorch's own float32 result is from exact (None: the model does not run in float64).

    Most models are at ~1e-6; one with large activations before a saturating output (HSVF's
    SPADE generator: ~1e4 before its tanh with seeded weights) is at ~1e-4, where onnxruntime's
    different but equally valid float32 rounding lands as far from PyTorch's as PyTorch's own
    thread count does. Such a model is checked against :data:`FLOAT32_ERROR_FACTOR` times this
    error instead of 1e-4.
    """
    try:
        model64 = copy.deepcopy(wrapper.model).double()
        with torch.no_grad():
            exact = OnnxExportWrapper(model64, wrapper.ir_channels)(*(x.double()
                                                                      for x in example))
            got = wrapper(*example)
    except Exception:  # e.g. an op without a float64 kernel: keep the declared tolerance
        return None
    diffs = [float((a.double() - b).abs().max()) for a, b in zip(got, exact)
             if a.is_floating_point()]
    return max(diffs) if diffs else None


def smallest_image(model: nn.Module) -> int:
    """The smallest image side the model accepts (after padding to its divisor; at least 2,
    below which the exporter specialises a size of 1)."""
    pre = getattr(model, 'data_preprocessor', None)
    side = getattr(pre, 'min_image_size', None) or getattr(model, 'min_input_size', 1)
    return max(int(side), 2)


def example_inputs(batch: int, ir_channels: int, height: int, width: int,
                   seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded [0, 1] ``vis`` (B×3×H×W) and ``ir`` (B×C×H×W)."""
    gen = torch.Generator().manual_seed(seed)
    return (torch.rand(batch, 3, height, width, generator=gen),
            torch.rand(batch, ir_channels, height, width, generator=gen))


def _range(model: nn.Module) -> str:
    lo, hi = model.data_preprocessor.input_range
    return f'{lo:g},{hi:g}'


def _torch_export(wrapper: OnnxExportWrapper, example: tuple, dynamic: bool,
                  model: nn.Module) -> torch.export.ExportedProgram:
    dynamic_shapes = None
    if dynamic:
        auto = torch.export.Dim.AUTO
        dynamic_shapes = {k: {2: auto, 3: auto} for k in INPUT_NAMES}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')  # the exporter's notes on every traced op
            return torch.export.export(wrapper, example, dynamic_shapes=dynamic_shapes,
                                       strict=False)
    except Exception as err:  # any failure of tracing: name the block it happened in
        where = _block_in_traceback(err, model) or type(model).__name__
        raise ExportError(f'cannot export {where}: torch.export failed: '
                          f'{_first_line(err)}') from err


def _dynamic_min_size(program: torch.export.ExportedProgram) -> tuple[int, int]:
    """Smallest H, W the dynamic graph accepts; an error if the exporter had to fix them."""
    placeholder = next(n for n in program.graph.nodes if n.op == 'placeholder'
                       and n.name == INPUT_NAMES[0])
    sizes = placeholder.meta['val'].shape[-2:]
    fixed = [axis for axis, s in zip('HW', sizes) if not isinstance(s, torch.SymInt)]
    if fixed:
        raise ExportError(f'the model fixes {" and ".join(fixed)} at the example size '
                          f'({tuple(int(s) for s in sizes)}): export it without --dynamic')
    out = []
    for s in sizes:
        lower = program.range_constraints.get(s.node.expr)
        out.append(int(lower.lower) if lower is not None else 2)
    return out[0], out[1]


def _to_onnx(program: torch.export.ExportedProgram, example: tuple, names: list[str],
             opset: Optional[int], model: nn.Module):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            onnx_program = torch.onnx.export(program, example, input_names=list(INPUT_NAMES),
                                             output_names=names, opset_version=opset,
                                             dynamo=True, verbose=False)
    except Exception as err:
        where = _block_of_fx_node(err, program) or type(model).__name__
        raise ExportError(f'cannot export {where}: no ONNX translation: '
                          f'{_first_line(_innermost(err))}') from err
    if program.range_constraints:  # readable names for the dynamic axes
        sizes = next(n for n in program.graph.nodes if n.op == 'placeholder'
                     and n.name == INPUT_NAMES[0]).meta['val'].shape[-2:]
        onnx_program.rename_axes({str(s.node.expr): axis for s, axis
                                  in zip(sizes, ('height', 'width'))
                                  if isinstance(s, torch.SymInt)})
    return onnx_program.model_proto


def _ort_session(data: bytes, model: nn.Module, proto):
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.log_severity_level = 4  # fatal only: errors become ExportError
    try:
        return ort.InferenceSession(data, options, providers=['CPUExecutionProvider'])
    except Exception as err:  # e.g. an op/dtype without an onnxruntime kernel
        where = _block_of_onnx_node(str(err), proto) or type(model).__name__
        raise ExportError(f'cannot run the export of {where} in onnxruntime: '
                          f'{_first_line(err)}') from err


def _write_atomic(proto, out: str) -> None:
    import onnx
    folder = osp.dirname(osp.abspath(out))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix='.onnx.tmp', dir=folder)
    os.close(fd)
    try:
        onnx.save(proto, tmp)
        os.replace(tmp, out)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


# --------------------------------------------------------------------------- naming the culprit


def _first_line(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0][:300]


def _innermost(err: BaseException) -> BaseException:
    while err.__cause__ is not None:
        err = err.__cause__
    return err


def _describe(path: str, module_type: str) -> str:
    path = re.sub(r"^(L\['self'\]\.)?(model\.)?", '', path.strip('.'))
    return f'{path} ({module_type.rsplit(".", 1)[-1]})' if path else module_type


def _block_in_traceback(err: BaseException, model: nn.Module) -> Optional[str]:
    """The innermost module of ``model`` whose ``forward`` was running when ``err`` was
    raised (any exception in its cause chain)."""
    names = {id(m): n for n, m in model.named_modules()}
    seen = err
    while seen is not None:
        for frame, _ in reversed(list(traceback.walk_tb(seen.__traceback__))):
            module = frame.f_locals.get('self')
            if isinstance(module, nn.Module) and id(module) in names:
                return _describe(names[id(module)], type(module).__name__)
        seen = seen.__cause__ or seen.__context__
    return None


def _block_of_fx_node(err: BaseException, program: torch.export.ExportedProgram
                      ) -> Optional[str]:
    """The module of the FX node an ONNX translation error names (``%node``)."""
    text = ''
    seen: Optional[BaseException] = err
    while seen is not None:
        text += str(seen) + '\n'
        seen = seen.__cause__
    nodes = {n.name: n for n in program.graph.nodes}
    for name in re.findall(r'%(\w+)', text):
        node = nodes.get(name)
        stack = node.meta.get('nn_module_stack') if node is not None else None
        if stack:
            path, module_type = list(stack.values())[-1]
            target = getattr(node.target, '__name__', str(node.target))
            return f'{_describe(path, str(module_type))}, op {target}'
    return None


def _block_of_onnx_node(message: str, proto) -> Optional[str]:
    """The module of the ONNX node an onnxruntime error names, from the exporter's metadata."""
    match = re.search(r"node with name '([^']+)'", message) or \
        re.search(r'Node \(([^)]+)\)', message) or re.search(r"Name:'([^']+)'", message)
    if not match:
        return None
    for node in proto.graph.node:
        if node.name == match.group(1):
            op = f'ONNX {node.op_type}{_input_dtypes(node, proto)}'
            props = {p.key: p.value for p in node.metadata_props}
            scopes = props.get('pkg.torch.onnx.name_scopes')
            classes = props.get('pkg.torch.onnx.class_hierarchy')
            if scopes and classes:
                scopes, classes = ast.literal_eval(scopes), ast.literal_eval(classes)
                # The last entries are the op itself; the one before is its module.
                path = scopes[-2] if len(scopes) > 1 else ''
                path = path.split('.', 1)[1] if '.' in path else ''
                module_type = classes[-2] if len(classes) > 1 else ''
                return f'{_describe(path, module_type)}, {op}'
            return f'{op} node {node.name}'
    return None


def _input_dtypes(node, proto) -> str:
    """`` on float64`` etc.: the element types of a node's inputs, where the graph says."""
    import onnx
    graph = proto.graph
    types = {v.name: v.type.tensor_type.elem_type for v in (*graph.value_info, *graph.input)}
    types.update({t.name: t.data_type for t in graph.initializer})
    names = sorted({onnx.helper.tensor_dtype_to_np_dtype(types[i]).name
                    for i in node.input if types.get(i)})
    return f' on {"/".join(names)}' if names else ''
