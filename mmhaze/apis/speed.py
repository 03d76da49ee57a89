"""Inference speed switches shared by the inferencer, ``tools/test.py`` and the benchmarks.

Measured in docs/speed.md:

- :func:`prepare_for_inference` — what every inference path uses: the blocks' fused forms
  (:func:`mmhaze.models.utils.set_fused_forms`: folded norms, fused convolution epilogues,
  gathered windows, the fused attention kernel, SPADE's merged convolutions), batch norms folded
  into their convolutions and, on the CPU, channels-last convolution weights. Same outputs as
  training-mode eager to float rounding (IASSF: ≤ 4.8e-6 on outputs up to 4.8 on the model
  fixture), not bit for bit.
- :func:`compile_networks` — ``torch.compile`` (inductor) of every network the model composes.
  Minutes of compilation per input size on a small CPU (less with inductor's on-disk cache).
  The tools compile automatically where it pays back within the run
  (:class:`AutoCompile`, rule :func:`compile_pays_back`), or always (``--compile``), or never
  (``--no-compile``, ``MMHAZE_COMPILE=0``).
- :func:`retain_freed_memory` — glibc's allocator keeps freed blocks for reuse instead of
  returning them to the kernel; the inference tools switch it on.
- :func:`release_freed_memory` — the opposite, once: glibc hands its freed blocks back
  (tiled inference calls it between its large steps, to bound memory).

A bf16 autocast path is a benchmark option only (``benchmark.py --bf16``): it changes outputs by
~1e-2 and the benchmark reports by how much.
"""
from __future__ import annotations

import functools
import json
import os
import os.path as osp
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn as nn


def channels_last_weights(model: nn.Module) -> int:
    """Store every 4-D convolution weight of ``model`` channels-last (NHWC); returns how many.

    A convolution with a channels-last weight returns channels-last activations, so the whole
    network then runs NHWC: oneDNN computes 1×1 convolutions as plain matrix products without
    re-ordering, and window attention partitions NHWC features without a permute copy. Values
    and state-dict keys are unchanged; only the strides of the weights change.
    """
    count = 0
    for module in model.modules():
        if isinstance(module, nn.Conv2d) and module.weight.dim() == 4:
            module.weight.data = module.weight.data.contiguous(memory_format=torch.channels_last)
            count += 1
    return count


def prepare_for_inference(model: nn.Module, channels_last: Optional[bool] = None) -> nn.Module:
    """Switch ``model`` (in place) to its fastest eager inference form and return it.

    Every block's fused form (:func:`mmhaze.models.utils.set_fused_forms`: the fused attention
    kernel, SPADE's merged γ/β convolution, the no-gradient forms of the IASSF/DehazeFormer
    blocks, HSVF's full-resolution stacks in bands of rows), batch norms folded into the
    convolutions before them (:func:`mmhaze.models.utils.fold_batch_norms`, for eval-mode
    forwards without gradients; keys and checkpoint loading unchanged); channels-last weights
    when ``channels_last`` is True, or, when None, if the model's parameters are on the CPU
    (where it was measured to pay; on GPUs it was not measured).
    """
    from mmhaze.models.utils import fold_batch_norms, set_fused_forms
    set_fused_forms(model, True)
    fold_batch_norms(model)
    if channels_last is None:
        param = next(model.parameters(), None)
        channels_last = param is not None and param.device.type == 'cpu'
    if channels_last:
        channels_last_weights(model)
    return model


def networks(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The networks a whole model composes that are worth a compiled graph.

    A model-layer model's network slots (discriminators are training-only); otherwise its direct
    children. Leaves out the data preprocessor, parameter-free modules (losses) and single
    layers (a lone 1×1 conv is not worth a compiled graph).
    """
    if hasattr(model, 'network_names'):
        candidates = [(name, model.get_network(name)) for name in model.network_names]
    else:
        pre = getattr(model, 'data_preprocessor', None)
        candidates = [(n, c) for n, c in model.named_children() if c is not pre]
    return [(name, net) for name, net in candidates
            if next(net.parameters(), None) is not None and next(net.children(), None) is not None]


def _with_freezing(fn: Callable) -> Callable:
    """``fn`` run with inductor's ``freezing`` on. It must be on while dynamo traces (it decides
    there how weights enter the graph), i.e. at the call, not when ``torch.compile`` is set up;
    scoping it to these calls leaves other compiled code in the process untouched."""
    import torch._inductor.config as inductor_config

    @functools.wraps(fn)
    def run(*args, **kwargs):
        with inductor_config.patch(freezing=True):
            return fn(*args, **kwargs)
    return run


def compile_networks(model: nn.Module, freezing: bool = True,
                     gate: Optional[Callable[[], bool]] = None, **compile_kwargs) -> list[str]:
    """``torch.compile`` (inductor) the forward of each of :func:`networks`; returns their names.

    In place (the module's ``forward`` is replaced), so state-dict keys and the model object
    stay the same and the wrapper's Python glue (padding, data samples) stays eager.
    Compilation is lazy: it happens on the first forward of each input size, after checkpoints
    are loaded. ``freezing`` lets inductor fold the weights into the graph as constants and
    pre-pack them for oneDNN (fusing convolutions with the element-wise ops around them) when
    the forward runs without gradients; with gradients it compiles normally. Frozen graphs do
    not see weights changed after their compilation: compile after loading. ``gate`` (called
    at every forward) chooses between the compiled and the eager forward (:class:`AutoCompile`
    compiles only for some input sizes).
    """
    names = []
    for name, child in networks(model):
        compiled = torch.compile(child.forward, **compile_kwargs)
        compiled = _with_freezing(compiled) if freezing else compiled
        if gate is not None:
            compiled = _gated(compiled, child.forward, gate)
        child.forward = compiled
        names.append(name)
    return names


def _gated(compiled: Callable, eager: Callable, gate: Callable[[], bool]) -> Callable:
    @functools.wraps(eager)
    def run(*args, **kwargs):
        return (compiled if gate() else eager)(*args, **kwargs)
    return run


def prepare_runner_model(model: nn.Module, compile: bool | str = False,
                         dataloader=None) -> nn.Module:
    """:func:`prepare_for_inference` of a Runner's model (through a DDP-style wrapper if there
    is one) and, by ``compile`` (see :func:`compile_mode`): ``'on'``/True
    :func:`compile_networks`; ``'auto'`` an :class:`AutoCompile` for the input sizes
    ``dataloader`` will give (:func:`loader_size_counts`; unknown: eager, said once);
    ``'off'``/False nothing. Returns the unwrapped model."""
    from mmhaze.utils.modules import unwrap
    inner = unwrap(model)
    prepare_for_inference(inner)
    mode = {True: 'on', False: 'off'}.get(compile, compile)
    if mode == 'on':
        compile_networks(inner)
    elif mode == 'auto' and dataloader is not None:
        pre = getattr(inner, 'data_preprocessor', None)
        counts = loader_size_counts(dataloader, getattr(pre, 'pad_size_divisor', 1))
        if counts:
            AutoCompile(inner, counts).install()
        else:
            log_line('auto-compile: the image sizes of this test set are not known before '
                     'loading (a resizing transform, or batches of mixed sizes): eager; '
                     '--compile forces compilation')
    return inner


def log_line(message: str) -> None:
    """One line to the current mmengine logger (the run's log file and console)."""
    from mmengine.logging import print_log
    print_log(message, logger='current')


# --------------------------------------------------------------------------- allocator

RETAIN_MEMORY_ENV = 'MMHAZE_RETAIN_MEMORY'
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)
RETAINED_BLOCK_BYTES = 1 << 30


def retain_freed_memory() -> bool:
    """Let glibc's ``malloc`` keep freed blocks of up to 1 GiB for reuse instead of handing
    them back to the kernel; returns whether it was applied (Linux with glibc, and
    ``MMHAZE_RETAIN_MEMORY`` not ``0``). Process-wide; the inference tools call it.

    An eager forward allocates and frees its feature maps (tens of MB each at 480×640) hundreds
    of times. By default glibc maps every block above a threshold (128 KiB, adapted up to
    32 MiB) fresh from the kernel and unmaps it when freed, so each forward page-faults and the
    kernel zero-fills gigabytes: IASSF at 480×640 took 2.8 million page faults and ~2/3 of its
    CPU time in the kernel per restoration-head forward on the shared test machine
    (docs/speed.md). With both thresholds at 1 GiB, blocks come from the heap and are reused.
    The cost: the process keeps its peak memory until it exits.
    """
    if os.environ.get(RETAIN_MEMORY_ENV, '1').strip().lower() in ('0', 'false', 'off', 'no'):
        return False
    libc = _glibc()
    if libc is None:
        return False
    mallopt = libc.mallopt
    return bool(mallopt(_M_MMAP_THRESHOLD, RETAINED_BLOCK_BYTES)
                and mallopt(_M_TRIM_THRESHOLD, RETAINED_BLOCK_BYTES))


def _glibc():
    try:
        import ctypes
        libc = ctypes.CDLL('libc.so.6')
        libc.malloc_trim  # noqa: B018 (glibc only)
        return libc
    except (OSError, AttributeError):  # not glibc (macOS, Windows, musl)
        return None


def release_freed_memory() -> bool:
    """Hand the freed blocks glibc's ``malloc`` holds back to the kernel (``malloc_trim(0)``);
    returns whether it could (Linux with glibc).

    Bounded-memory paths call it between large steps (tiled inference after decoding the pair,
    around its drift check's forward and after each tile). By default glibc serves blocks of
    up to 32 MiB from its heap once it has seen such blocks freed, and keeps what they leave
    free: one step's freed temporaries then stay resident under the next step's image-size
    buffers (HSVF on a 4K pair with ``--tile 512``: 0.6 GB carried from the drift check into
    the tiling). The cost is the page faults of the next step's first allocations.
    """
    libc = _glibc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True


# --------------------------------------------------------------------------- auto compile

COMPILE_ENV = 'MMHAZE_COMPILE'
COMPILE_MODES = ('auto', 'on', 'off')
_COMPILE_ALIASES = {'1': 'on', 'true': 'on', 'yes': 'on', '0': 'off', 'false': 'off',
                    'no': 'off', '': 'auto'}


def compile_mode(force: bool = False, disable: bool = False) -> str:
    """The compile mode of an inference tool: ``--compile`` (``force``) → ``'on'``,
    ``--no-compile`` (``disable``) → ``'off'``, else ``MMHAZE_COMPILE`` (``auto``, ``1``/``on``,
    ``0``/``off``; unset: ``'auto'``)."""
    if force and disable:
        raise ValueError('--compile and --no-compile exclude each other')
    if force or disable:
        return 'on' if force else 'off'
    mode = os.environ.get(COMPILE_ENV, 'auto').strip().lower()
    mode = _COMPILE_ALIASES.get(mode, mode)
    if mode not in COMPILE_MODES:
        raise ValueError(f'{COMPILE_ENV} must be auto, 1/on or 0/off, got {mode!r}')
    return mode


def compile_pays_back(count: int, eager_seconds: float, compiled_seconds: float,
                      compile_seconds: float) -> bool:
    """Whether compiling for one input size pays back within a run: ``count`` more calls at
    that size save more than the one-off compilation costs,
    ``count · (eager − compiled) > compile``."""
    return count * (eager_seconds - compiled_seconds) > compile_seconds


@dataclass
class CompileEstimate:
    """What compiling a model for one input size is expected to cost and give: the compiled
    latency as a fraction of the eager one, and the one-off compile time.

    :func:`default_compile_estimate` gives the measured defaults; :class:`AutoCompile` and
    ``benchmark.py --compile`` replace them by what they measured on this machine
    (:class:`CompileRecords`), for the same model, size, threads and torch.
    """
    compiled_ratio: float
    compile_seconds: float
    source: str


#: IASSF at 480×640 on 2 threads of the shared test CPU (docs/speed.md): ~150 s to compile its
#: two networks (frozen graphs, which inductor's FX graph cache does not keep); compiled 0.61×
#: the eager latency without the blocks' fast inference form, and no faster than eager with it
#: (1.11× at load 1.8, 0.80× at load 5).
COMPILE_SECONDS = 150.0
COMPILED_RATIO_PLAIN = 0.61
COMPILED_RATIO_FAST_FORM = 1.0


def default_compile_estimate(model: nn.Module) -> CompileEstimate:
    """The default :class:`CompileEstimate` of ``model``: compilation gains nothing for a model
    whose blocks run the fast inference form (the compiled graphs trace the reference form),
    0.61× otherwise."""
    fast = any(getattr(m, 'fast_inference', False) for m in model.modules())
    if fast:
        return CompileEstimate(COMPILED_RATIO_FAST_FORM, COMPILE_SECONDS,
                               'default: blocks in the fast eager form, compiled no faster')
    return CompileEstimate(COMPILED_RATIO_PLAIN, COMPILE_SECONDS,
                           'default: compiled 0.61× eager, 150 s to compile')


def inductor_cache_dir() -> str:
    """Inductor's on-disk cache (``TORCHINDUCTOR_CACHE_DIR``, default
    ``<tmp>/torchinductor_<user>``), where compiled graphs are kept between processes."""
    try:
        from torch._inductor.runtime.cache_dir_utils import cache_dir
        return cache_dir()
    except ImportError:  # older torch: its default
        import getpass
        import tempfile
        return os.environ.get('TORCHINDUCTOR_CACHE_DIR', osp.join(
            tempfile.gettempdir(), f'torchinductor_{getpass.getuser()}'))


class CompileRecords:
    """Compile costs and latencies measured by earlier runs, kept next to inductor's cache
    (``mmhaze_compile_records.json``): cleared together with it, since a compile with a warm
    cache costs a fraction of a cold one. Keyed by model, input size, threads and torch."""

    FILE = 'mmhaze_compile_records.json'

    def __init__(self, path: Optional[str] = None):
        self.path = path or osp.join(inductor_cache_dir(), self.FILE)

    @staticmethod
    def key(model: nn.Module, size: tuple[int, int]) -> str:
        params = sum(p.numel() for p in model.parameters())
        return (f'{type(model).__name__}/{params}/{size[0]}x{size[1]}/'
                f'threads{torch.get_num_threads()}/torch{torch.__version__}')

    def _load(self) -> dict:
        try:
            with open(self.path) as f:
                records = json.load(f)
            return records if isinstance(records, dict) else {}
        except (OSError, ValueError):
            return {}

    def get(self, key: str) -> Optional[dict]:
        return self._load().get(key)

    def put(self, key: str, **values: float) -> None:
        records = self._load()
        records[key] = {**records.get(key, {}), **values}
        try:
            os.makedirs(osp.dirname(self.path), exist_ok=True)
            tmp = f'{self.path}.{os.getpid()}.tmp'
            with open(tmp, 'w') as f:
                json.dump(records, f, indent=1, sort_keys=True)
            os.replace(tmp, self.path)
        except OSError:  # a read-only cache folder only loses the record
            pass

    def estimate(self, key: str, default: CompileEstimate) -> CompileEstimate:
        record = self.get(key) or {}
        if not {'compile_seconds', 'compiled_seconds', 'eager_seconds'} <= set(record):
            return default
        return CompileEstimate(record['compiled_seconds'] / record['eager_seconds'],
                               record['compile_seconds'], f'measured earlier ({self.path})')


def model_input_size(inputs) -> Optional[tuple[int, int]]:
    """H×W of the first image tensor among a model's ``inputs`` (a tensor or a dict of them)."""
    values = inputs.values() if isinstance(inputs, dict) else [inputs]
    for value in values:
        if isinstance(value, torch.Tensor) and value.dim() >= 3:
            return int(value.shape[-2]), int(value.shape[-1])
    return None


def padded_size_counts(sizes: Iterable[tuple[int, int]], divisor: int = 1) -> Counter:
    """How many images of each size a run will feed the model, sizes rounded up to a multiple
    of ``divisor`` (the data preprocessor's padding)."""
    d = max(1, int(divisor))
    return Counter((-(-h // d) * d, -(-w // d) * d) for h, w in sizes)


#: Test-pipeline transforms that keep an image's size: with only these, a record's image file
#: gives the size the model sees.
SIZE_KEEPING_TRANSFORMS = frozenset({'LoadFusionImages', 'SynthesizeHaze', 'PackFusionInputs',
                                     'PairedRandomFlip'})


def image_file_size(path: str) -> tuple[int, int]:
    """(H, W) of an image file, from its header (the pixels are not decoded)."""
    from PIL import Image
    with Image.open(path) as image:
        width, height = image.size
    return height, width


def dataset_image_sizes(dataset) -> Optional[list[tuple[int, int]]]:
    """(H, W) of every pair a test dataset gives, without loading them: a synthetic dataset's
    ``img_size``, else the header of each record's ``vis_path``. None when it cannot be known
    this way (a transform outside :data:`SIZE_KEEPING_TRANSFORMS` in the pipeline, records
    without a visible image path, unreadable headers): the run then stays eager."""
    if hasattr(dataset, 'datasets'):  # ConcatDataset
        parts = [dataset_image_sizes(d) for d in dataset.datasets]
        return None if any(p is None for p in parts) else [s for p in parts for s in p]
    pipeline = getattr(getattr(dataset, 'pipeline', None), 'transforms', [])
    if any(type(t).__name__ not in SIZE_KEEPING_TRANSFORMS for t in pipeline):
        return None
    if hasattr(dataset, 'img_size'):
        return [tuple(dataset.img_size)] * len(dataset)
    sizes = []
    try:
        for index in range(len(dataset)):
            path = dataset.get_data_info(index).get('vis_path')
            if path is None:
                return None
            sizes.append(image_file_size(path))
    except (OSError, ValueError, TypeError):
        return None
    return sizes


def loader_size_counts(dataloader, divisor: int = 1) -> Optional[Counter]:
    """Forwards per padded input size of a test dataloader (:func:`dataset_image_sizes`);
    None when unknown or when batches would mix sizes."""
    sizes = dataset_image_sizes(dataloader.dataset)
    if sizes is None:
        return None
    counts = padded_size_counts(sizes, divisor)
    batch = max(1, int(getattr(dataloader, 'batch_size', 1) or 1))
    if batch > 1:
        if len(counts) > 1:
            return None  # mixed sizes are padded to each batch's largest
        counts = Counter({size: -(-n // batch) for size, n in counts.items()})
    return counts


class AutoCompile:
    """Compile a model's networks for the input sizes where it pays back within the run.

    ``counts`` says how many forwards of each (padded) input size the run will make. The first
    two forwards of a size run eagerly, the second timed (the first pays one-off set-up costs);
    then the size is compiled if :func:`compile_pays_back` holds for the forwards still to
    come, with the compiled latency
    and the compile cost from :class:`CompileRecords` of an earlier run (same model, size,
    threads), else from ``estimate``. Sizes not in ``counts`` and sizes that do not pay back run
    eagerly; compilation is lazy (the first compiled forward compiles). The decision and the
    measured compile cost are printed once per size, and recorded for the next run.
    """

    def __init__(self, model: nn.Module, counts: Counter,
                 estimate: Optional[CompileEstimate] = None,
                 records: Optional[CompileRecords] = None,
                 log: Optional[Callable[[str], None]] = None,
                 clock: Callable[[], float] = time.perf_counter):
        self.model = model
        self.remaining = Counter(counts)
        self.default = estimate or default_compile_estimate(model)
        self.records = records if records is not None else CompileRecords()
        self.log = log or log_line
        self.clock = clock
        self.decisions: dict[tuple[int, int], bool] = {}
        self.eager_seconds: dict[tuple[int, int], float] = {}
        self._first_compiled: dict[tuple[int, int], float] = {}
        self._compiled_calls: Counter = Counter()
        self._warmed_up: set[tuple[int, int]] = set()
        self._active = False

    def install(self) -> AutoCompile:
        """Gate the model's networks (:func:`compile_networks`) and wrap its forward."""
        compile_networks(self.model, gate=lambda: self._active, dynamic=False)
        eager_forward = self.model.forward

        @functools.wraps(eager_forward)
        def forward(inputs, *args, **kwargs):
            return self.run(eager_forward, inputs, *args, **kwargs)

        self.model.forward = forward
        return self

    def decide(self, size: tuple[int, int], eager_seconds: float) -> bool:
        """Whether to compile for ``size``, given the measured eager latency; logs why."""
        key = CompileRecords.key(self.model, size)
        est = self.records.estimate(key, self.default)
        count = self.remaining[size]
        compiled_seconds = est.compiled_ratio * eager_seconds
        yes = compile_pays_back(count, eager_seconds, compiled_seconds, est.compile_seconds)
        self.log(f'auto-compile {size[0]}×{size[1]}: {count} more forward(s) × '
                 f'({eager_seconds:.2f} s eager − {compiled_seconds:.2f} s compiled) '
                 f'{">" if yes else "≤"} {est.compile_seconds:.0f} s to compile '
                 f'(estimates: {est.source}) → {"compiling" if yes else "eager"}'
                 + ('' if yes else f'; {COMPILE_ENV}=1 or --compile forces it'))
        return yes

    def run(self, forward: Callable, inputs, *args, **kwargs):
        size = model_input_size(inputs)
        if size is None or size not in self.remaining:
            return forward(inputs, *args, **kwargs)
        self.remaining[size] = max(0, self.remaining[size] - 1)
        decision = self.decisions.get(size)
        start = self.clock()
        if decision is None:  # eager: the first forward warms up, the second is timed
            out = forward(inputs, *args, **kwargs)
            if size in self._warmed_up:
                self.eager_seconds[size] = self.clock() - start
                self.decisions[size] = self.decide(size, self.eager_seconds[size])
            self._warmed_up.add(size)
            return out
        self._active = decision
        try:
            out = forward(inputs, *args, **kwargs)
        finally:
            self._active = False
        if decision:
            self._after_compiled_call(size, self.clock() - start)
        return out

    def _after_compiled_call(self, size: tuple[int, int], seconds: float) -> None:
        """The first compiled call is compilation + one forward: its excess over the expected
        compiled latency is the compile cost, printed once; the second call gives the compiled
        latency. Both are recorded for the next run's decision."""
        self._compiled_calls[size] += 1
        key = CompileRecords.key(self.model, size)
        eager = self.eager_seconds[size]
        if self._compiled_calls[size] == 1:
            self._first_compiled[size] = seconds
            expected = self.records.estimate(key, self.default).compiled_ratio * eager
            compile_seconds = max(0.0, seconds - expected)
            self.log(f'auto-compile {size[0]}×{size[1]}: compiling took ~{compile_seconds:.0f} s '
                     f'(first compiled forward {seconds:.1f} s; inductor cache '
                     f'{inductor_cache_dir()})')
            self.records.put(key, compile_seconds=compile_seconds, eager_seconds=eager)
        elif self._compiled_calls[size] == 2:
            self.records.put(key, compile_seconds=max(0.0, self._first_compiled[size] - seconds),
                             compiled_seconds=seconds, eager_seconds=eager)
