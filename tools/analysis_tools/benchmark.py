"""CPU (or GPU) forward latency of a config's model, with each part's share of the time.

    python tools/analysis_tools/benchmark.py configs/iassf/iassf_official_msrs.py \
        --shape 256 256 --shape 480 640 --repeat 5 [--compile] [--bf16]

    python tools/analysis_tools/benchmark.py configs/iassf/iassf_official_msrs.py \
        --shape 480 640 --threads 2 --repeat 5 --compare-official ../IASSF [--compile] [--bf16] \
        [--onnx] [--images 361]

The model runs as every inference path runs it (:func:`mmhaze.apis.speed.prepare_for_inference`:
fused attention, channels-last weights on the CPU): batch 1, ``mode='tensor'``, no grad, eval
mode, ``--warmup`` untimed forwards, then ``--repeat`` timed ones. Variants, measured in
interleaved rounds (one forward of each per round, so load changes hit all alike):

- ``eager`` — always;
- ``compiled`` (``--compile``) — ``torch.compile`` of its networks (the first forward compiles:
  tens of seconds per network on a small CPU; inductor caches the result on disk);
- ``bf16`` (``--bf16``) — eager under bf16 autocast; its drift (max |Δ| against eager float32)
  is printed, it is not an accuracy-preserving option;
- ``--reference`` adds ``reference``: the training-mode eager form (bit-exact, NCHW, unfused);
- ``--fused-only`` adds ``fused-only``: eager with the fused attention kernel and channels-last
  weights but without the blocks' fast inference form (the default form before issue 24);
- ``--channels-last-only`` adds ``channels-last-only``: eager with channels-last weights and no
  fused form at all (HSVF's inference form before its fused forms), for before/after tables;
- ``onnx`` (``--onnx``) — the model exported as ``tools/deployment/pytorch2onnx.py`` exports it
  (a static graph per size, [0, 1] images in and out, padding inside), run by onnxruntime on
  the CPU with as many intra-op threads as torch uses; its drift against eager (outputs
  clamped to the model range, as the graph clamps them) is printed.

Every run also prints the *default path*: what ``tools/test.py`` without flags runs for a test
set of ``--images N`` images of that size (the fast eager form, or the compiled one when its
auto-compile rule finds that compiling pays back over the N − 2 images after the two it runs
eagerly; with
``--compile`` the compiled latency and compile cost are the ones measured in the run, else the
estimates the tool would use), per image once running and per image over the whole run with the
compilation. The process runs with the tools' allocator setting (``--allocator retain``,
:func:`mmhaze.apis.speed.retain_freed_memory`) unless ``--allocator glibc``; it applies to
every variant and to the official code alike, unless ``--official-process`` runs the official
code in a spawned process of its own with glibc's default allocator (as its own scripts run;
requests and replies through a pipe, still interleaved). Each line gives the page faults per
forward (memory the kernel mapped and zero-filled for it).

Without ``--compare-official``, prints the mean and median latency per size and, for eager, the
share of each part of each network (e.g. IASSF's ``dehazer.haze_density``). With
``--compare-official DIR`` (a local checkout of github.com/fangjiaqi0909/IASSF, outside this
repository; no weights needed), both implementations get the same seeded weights through
``tools/model_converters/iassf_official_to_mmhaze.py``, their outputs are checked to agree
(max |Δ| ≤ 1e-5 in float32, else exit 1), the official networks join the interleaved rounds, and
each variant prints one line::

    eager: mmhaze X s, official Y s, ratio R (threads T, load L)

with median latencies and L the mean 1-minute load average over the rounds. On a shared machine
the figures are only comparable at similar load. Parameters and GMACs: ``get_flops.py``.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import os
import os.path as osp
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, NamedTuple, Optional

from mmhaze.utils.cli import CfgOptionsAction

if TYPE_CHECKING:  # torch is imported where it is used, so that --help answers at once
    import torch

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from get_flops import build_model, dummy_inputs, model_parts  # noqa: E402

#: Largest max |Δ| allowed between float32 variants and the official code.
AGREEMENT_TOL = 1e-5
#: The outputs compared between variants.
IMAGE_OUTPUTS = ('dehazed', 'fused')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Measure forward latency per input size')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--shape', type=int, nargs=2, action='append', metavar=('H', 'W'),
                        help='input size; repeat for several (default: 256 256)')
    parser.add_argument('--repeat', type=int, default=5, help='timed forwards (default: 5)')
    parser.add_argument('--warmup', type=int, default=1, help='untimed forwards (default: 1)')
    parser.add_argument('--device', default='cpu', help="'cpu' or 'cuda'")
    parser.add_argument('--threads', type=int, default=None, help='torch CPU threads')
    parser.add_argument('--compile', action='store_true',
                        help='also measure the torch.compile path')
    parser.add_argument('--bf16', action='store_true',
                        help='also measure eager under bf16 autocast and report its drift')
    parser.add_argument('--reference', action='store_true',
                        help='also measure the training-mode (bit-exact, unfused) eager form')
    parser.add_argument('--fused-only', action='store_true',
                        help='also measure the previous default inference form: fused attention '
                             'and channels-last weights without the fast inference form')
    parser.add_argument('--channels-last-only', action='store_true',
                        help='also measure the inference form before any fused form: '
                             'channels-last weights only')
    parser.add_argument('--onnx', action='store_true',
                        help='also measure the ONNX export under onnxruntime (CPU)')
    parser.add_argument('--compare-official', metavar='DIR',
                        help='checkout of the official IASSF code to measure side by side')
    parser.add_argument('--images', type=int, default=1, metavar='N',
                        help='a run of N images of each --shape: print the default path '
                             '(tools/test.py without flags, whose auto-compile decides from N; '
                             'default: 1)')
    parser.add_argument('--allocator', choices=('retain', 'glibc'), default='retain',
                        help="retain: freed blocks kept for reuse, as mmhaze's inference tools "
                             'run (mmhaze.apis.speed.retain_freed_memory); glibc: its default. '
                             'Process-wide: every variant and the official code alike')
    parser.add_argument('--official-process', action='store_true',
                        help='run the official code in a process of its own with glibc\'s '
                             'default allocator, as its scripts run (mmhaze\'s variants keep '
                             '--allocator)')
    parser.add_argument('--by-network', action='store_true',
                        help='time each network slot (e.g. HSVF\'s streams) instead of its '
                             'children')
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction,
                        help='override config keys')
    return parser.parse_args(argv)


class ChildTimer:
    """Wall time spent inside each part (:func:`model_parts`) during forwards (forward hooks)."""

    def __init__(self, model: torch.nn.Module, sync, by_network: bool = False):
        import torch
        self.totals: dict[str, float] = defaultdict(float)
        self._start: dict[str, float] = {}
        self._sync = sync
        self._handles = []
        for name, part in model_parts(model, by_network):  # parts never called stay absent
            # A ModuleList is never called itself: time its elements under its name.
            modules = list(part) if isinstance(part, torch.nn.ModuleList) else [part]
            for module in modules:
                self._handles.append(module.register_forward_pre_hook(self._pre(name)))
                self._handles.append(module.register_forward_hook(self._post(name)))

    def _pre(self, name):
        def hook(module, args):
            self._sync()
            self._start[name] = time.perf_counter()
        return hook

    def _post(self, name):
        def hook(module, args, output):
            self._sync()
            self.totals[name] += time.perf_counter() - self._start.pop(name)
        return hook

    def reset(self):
        self.totals.clear()

    def remove(self):
        for h in self._handles:
            h.remove()


def _sync_for(device: str):
    import torch
    return torch.cuda.synchronize if device.startswith('cuda') else (lambda: None)


def benchmark(model: torch.nn.Module, height: int, width: int, repeat: int = 5,
              warmup: int = 1, device: str = 'cpu', by_network: bool = False) -> dict:
    """Latency (ms) of ``repeat`` forwards and each child's share of the forward time."""
    import torch
    model = model.to(device).eval()
    inputs = {k: v.to(device) for k, v in dummy_inputs(model, height, width).items()}
    sync = _sync_for(device)
    timer = ChildTimer(model, sync, by_network)
    times = []
    with torch.no_grad():
        for i in range(warmup + repeat):
            if i == warmup:
                timer.reset()
            sync()
            start = time.perf_counter()
            model(inputs, mode='tensor')
            sync()
            if i >= warmup:
                times.append(time.perf_counter() - start)
    timer.remove()
    total = sum(times)
    shares = {k: v / total for k, v in sorted(timer.totals.items(), key=lambda kv: -kv[1])}
    return dict(shape=(height, width), mean_ms=1e3 * total / len(times),
                median_ms=1e3 * statistics.median(times), shares=shares)


# --------------------------------------------------------------------------- variants


class Variant(NamedTuple):
    """A form of the model to time: its own copy of the model, optionally under bf16 autocast."""
    model: torch.nn.Module
    bf16: bool = False

    def __call__(self, inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        import torch
        device = next(self.model.parameters()).device.type
        ctx = (torch.autocast(device, dtype=torch.bfloat16) if self.bf16
               else contextlib.nullcontext())
        with ctx:
            return self.model(inputs, mode='tensor')


class OnnxVariant:
    """The model exported to ONNX at one size and run by onnxruntime, called like a
    :class:`Variant` (model-range inputs and outputs; the graph's [0, 1] ends are mapped)."""

    clamped = True  # the graph clamps its outputs to [0, 1]

    def __init__(self, model: torch.nn.Module, height: int, width: int, folder: str,
                 threads: Optional[int] = None):
        from mmhaze.apis.export import export_onnx
        from mmhaze.apis.onnx_inferencer import OnnxInferencer
        self.pre = model.data_preprocessor
        ir_channels = self.pre.channels.get('ir') or 3  # what dummy_inputs gives
        path = osp.join(folder, f'model_{height}x{width}.onnx')
        self.export = export_onnx(copy.deepcopy(model).cpu().eval(), path,
                                  shape=(height, width), ir_channels=ir_channels, overwrite=True)
        self.infer = OnnxInferencer(path, threads=threads)

    def __call__(self, inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        import torch
        arrays = {k: self.pre.denormalize(inputs[k]).cpu().numpy() for k in ('vis', 'ir')}
        out = self.infer.run(arrays['vis'], arrays['ir'])
        return {k: self.pre.normalize(torch.from_numpy(out[f'pred_{k}']))
                for k in IMAGE_OUTPUTS if f'pred_{k}' in out}


def onnx_variant(model: torch.nn.Module, height: int, width: int,
                 folder: str) -> tuple[OnnxVariant, str]:
    """The ``onnx`` variant at one size, and one line on its export (time, check)."""
    import torch
    variant = OnnxVariant(model, height, width, folder, threads=torch.get_num_threads())
    r = variant.export
    checks = ', '.join(f'{k} {v:.2e}' for k, v in r.max_abs_diff.items())
    return variant, (f'onnx export {height}×{width}: {r.seconds:.0f} s, opset {r.opset}, '
                     f'onnxruntime vs PyTorch max |Δ| {checks} (tolerance {r.tolerance:g})')


#: The variants that run as plain eager modules (forward hooks can time their parts).
EAGER_FORMS = ('reference', 'channels-last-only', 'fused-only', 'eager')


def build_variants(model: torch.nn.Module, compile: bool = False, bf16: bool = False,
                   reference: bool = False, fused_only: bool = False,
                   channels_last_only: bool = False) -> dict[str, Variant]:
    """Name → :class:`Variant` for every requested form of ``model`` (same weights)."""
    from mmhaze.apis.speed import channels_last_weights, compile_networks, prepare_for_inference
    from mmhaze.models.utils.fused_forms import set_fused_forms
    base = model.eval()
    variants = {}
    if reference:
        variants['reference'] = Variant(copy.deepcopy(base))
    if channels_last_only:
        plain = copy.deepcopy(base)
        channels_last_weights(plain)
        variants['channels-last-only'] = Variant(plain)
    if fused_only:
        fused = prepare_for_inference(copy.deepcopy(base))
        set_fused_forms(fused, False, switches=('fast_inference',))
        variants['fused-only'] = Variant(fused)
    eager = prepare_for_inference(copy.deepcopy(base))
    variants['eager'] = Variant(eager)
    if compile:
        compiled = prepare_for_inference(copy.deepcopy(base))
        compile_networks(compiled)
        variants['compiled'] = Variant(compiled)
    if bf16:
        variants['bf16'] = Variant(eager, bf16=True)
    return variants


def drift_lines(outputs: dict[str, dict[str, torch.Tensor]],
                official: Optional[dict[str, torch.Tensor]] = None,
                clamp: Optional[tuple[float, float]] = None) -> tuple[list[str], bool]:
    """Max |Δ| of every variant's outputs against float32 eager (and the official outputs);
    whether the float32 PyTorch variants agree with the official ones within
    :data:`AGREEMENT_TOL`. ``onnx`` outputs are compared with references clamped to ``clamp``
    (the model range; the graph clamps) and, like bf16, do not decide the agreement (the ONNX
    export has its own check and tolerance)."""
    lines, agree = [], True
    for name, out in outputs.items():
        parts = []
        eager, reference = outputs['eager'], official
        if name == 'onnx' and clamp is not None:
            eager = {k: v.clamp(*clamp) for k, v in eager.items()}
            reference = None if official is None else {k: v.clamp(*clamp)
                                                       for k, v in official.items()}
        if name != 'eager':
            parts.append(f'{max_abs_diff(out, eager):.3g} against float32 eager')
        if reference is not None:
            diff = max_abs_diff(out, reference)
            parts.append(f'{diff:.3g} against the official code')
            if name not in ('bf16', 'onnx') and diff > AGREEMENT_TOL:
                agree = False
                parts[-1] += f' (> {AGREEMENT_TOL:g})'
        if parts:
            lines.append(f'{name} outputs: max |Δ| ' + ', '.join(parts))
    return lines, agree


def minor_page_faults() -> int:
    """Minor page faults of this process so far (0 where ``resource`` is missing)."""
    try:
        import resource
    except ImportError:  # Windows
        return 0
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def interleaved(fns: dict[str, Callable[[], object]], repeat: int, warmup: int,
                sync=lambda: None, faults: Optional[dict[str, list[int]]] = None
                ) -> tuple[dict[str, list[float]], list[float]]:
    """Seconds per call of each function over ``repeat`` rounds (one call of each per round),
    after ``warmup`` untimed rounds; and the 1-minute load average sampled every round.
    ``faults``, if given, receives each call's minor page faults (memory the kernel mapped
    and zero-filled for it: see ``--allocator``)."""
    import torch
    times: dict[str, list[float]] = {k: [] for k in fns}
    loads = []
    with torch.no_grad():
        for i in range(warmup + repeat):
            for name, fn in fns.items():
                sync()
                start, faults_before = time.perf_counter(), minor_page_faults()
                fn()
                sync()
                if i >= warmup:
                    times[name].append(time.perf_counter() - start)
                    if faults is not None:
                        faults.setdefault(name, []).append(minor_page_faults() - faults_before)
            loads.append(os.getloadavg()[0])
    return times, loads


def max_abs_diff(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    """Largest |Δ| over the image outputs both dicts have (not side outputs such as IASSF's
    8-bit-quantised haze density, where a rounding flips one level)."""
    keys = [k for k in IMAGE_OUTPUTS if k in a and k in b]
    return max((a[k].float() - b[k].float()).abs().max().item() for k in keys)


# --------------------------------------------------------------------------- official code


def load_official(directory: str) -> tuple[torch.nn.Module, torch.nn.Module]:
    """The official restoration and fusion networks from a checkout (``models/IASSF.py``).

    Built with ``torch.manual_seed(0)`` initial weights. The checkout's own import-time and
    construction warnings (deprecated timm paths, ``torch.meshgrid``) are its noise, not ours,
    and are silenced.
    """
    import importlib
    import warnings

    import torch
    directory = osp.abspath(directory)
    if not osp.isfile(osp.join(directory, 'models', 'IASSF.py')):
        raise FileNotFoundError(f'{directory} is not a checkout of the official IASSF code '
                                '(no models/IASSF.py); clone github.com/fangjiaqi0909/IASSF')
    clash = [m for m in ('models', 'get_hazy_density') if m in sys.modules]
    if clash:
        raise RuntimeError(f'cannot import the official code: modules {clash} are already '
                           'imported from elsewhere')
    sys.path.insert(0, directory)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            official = importlib.import_module('models.IASSF')
            torch.manual_seed(0)
            return official.iassf().eval(), official.RestormerUNet().eval()
    finally:
        sys.path.remove(directory)


def _official_worker(conn, directory: str, threads: int) -> None:
    """The official networks in a process of their own (see :class:`OfficialProcess`)."""
    import torch
    torch.set_num_threads(threads)
    try:
        dehaze, fusion = load_official(directory)
        dehaze_state, fusion_state, inputs = conn.recv()
        dehaze.load_state_dict(dehaze_state)
        fusion.load_state_dict(fusion_state)
    except Exception as err:  # reported in the parent
        conn.send(('error', f'{type(err).__name__}: {err}'))
        return
    conn.send(('ready', None))
    with torch.no_grad():
        while True:
            request = conn.recv()
            if request == 'stop':
                return
            faults = minor_page_faults()
            dehazed, ir_image = dehaze(inputs['vis'], inputs['ir'])
            fused = fusion(dehazed, ir_image)
            conn.send((dict(dehazed=dehazed, fused=fused) if request == 'outputs' else None,
                       minor_page_faults() - faults))


class OfficialProcess:
    """The official code run in a spawned process (a fresh interpreter with glibc's default
    allocator and its own threads, as the official scripts run), called like the in-process
    official function: one forward per call, the outputs on the first."""

    def __init__(self, directory: str, dehaze: torch.nn.Module, fusion: torch.nn.Module,
                 inputs: dict[str, torch.Tensor]):
        import multiprocessing

        import torch
        context = multiprocessing.get_context('spawn')
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_official_worker, daemon=True,
                                       args=(child, directory, torch.get_num_threads()))
        self.process.start()
        self.conn.send((dehaze.state_dict(), fusion.state_dict(), inputs))
        kind, message = self.conn.recv()
        if kind != 'ready':
            raise RuntimeError(f'the official code failed in its process: {message}')
        self.faults: list[int] = []  # minor page faults of each call, in its process

    def __call__(self) -> Optional[dict[str, torch.Tensor]]:
        self.conn.send('run' if self.faults else 'outputs')
        outputs, faults = self.conn.recv()
        self.faults.append(faults)
        return outputs

    def close(self) -> None:
        self.conn.send('stop')
        self.process.join(timeout=60)


def official_to_mmhaze(model: torch.nn.Module, dehaze: torch.nn.Module,
                       fusion: torch.nn.Module) -> None:
    """Load the official networks' weights into ``model`` through the checkpoint converter."""
    import importlib.util
    path = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'model_converters',
                    'iassf_official_to_mmhaze.py')
    spec = importlib.util.spec_from_file_location('iassf_official_to_mmhaze', path)
    converter = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(converter)
    target = {k: v.shape for k, v in model.state_dict().items()}
    state, _ = converter.convert_state_dict(
        dict(dehaze_network_state_dict=dehaze.state_dict(),
             fusion_network_state_dict=fusion.state_dict()), target)
    model.load_state_dict(state, strict=True)


def first_calls(variants: dict, inputs: dict) -> tuple[dict, dict[str, float]]:
    """Each variant's outputs and the time of its first call (for ``compiled``: compilation
    and one forward)."""
    outputs, seconds = {}, {}
    for name, variant in variants.items():
        start = time.perf_counter()
        outputs[name] = variant(inputs)
        seconds[name] = time.perf_counter() - start
    return outputs, seconds


def default_path(model: torch.nn.Module, size: tuple[int, int], images: int,
                 medians: dict[str, float], first: dict[str, float]) -> dict:
    """What ``tools/test.py`` without flags runs for ``images`` images of ``size``: its
    auto-compile rule (:func:`mmhaze.apis.speed.compile_pays_back`) on the eager latency and
    the count after the two eager images it times, with the compiled latency and compile cost
    measured here when ``compiled`` was timed, else the estimate the tool would use. Returns
    the form
    chosen, its per-image latency once running (``steady``) and per image over the whole run,
    compilation included (``amortised``)."""
    from mmhaze.apis.speed import (
        CompileRecords,
        compile_pays_back,
        default_compile_estimate,
        padded_size_counts,
        prepare_for_inference,
    )
    eager = medians['eager']
    divisor = getattr(model.data_preprocessor, 'pad_size_divisor', 1)
    key = CompileRecords.key(model, next(iter(padded_size_counts([size], divisor))))
    records = CompileRecords()
    if 'compiled' in medians:
        compiled = medians['compiled']
        compile_s = max(0.0, first['compiled'] - compiled)
        source = 'compiled latency and compile cost measured in this run, recorded for the tools'
        records.put(key, compile_seconds=compile_s, compiled_seconds=compiled,
                    eager_seconds=eager)
    else:
        prepared = prepare_for_inference(copy.deepcopy(model))
        est = records.estimate(key, default_compile_estimate(prepared))
        compiled, compile_s = est.compiled_ratio * eager, est.compile_seconds
        source = f'compiled latency and compile cost estimated: {est.source}'
    rest = max(0, images - 2)  # the tool times the second eager forward, then decides
    compiles = compile_pays_back(rest, eager, compiled, compile_s)
    steady = compiled if compiles else eager
    amortised = ((eager * (images - rest) + compile_s + rest * compiled) / images if compiles
                 else eager)
    rule = (f'{rest} × ({eager:.2f} − {compiled:.2f}) s {">" if compiles else "≤"} '
            f'{compile_s:.0f} s ({source})')
    return dict(form='compiled' if compiles else 'eager', steady=steady, amortised=amortised,
                rule=rule, measured=not compiles or 'compiled' in medians)


def default_path_line(path: dict, images: int, size: tuple[int, int],
                      reference: float, reference_name: str) -> str:
    """One line on :func:`default_path`, its latencies as ratios to ``reference``."""
    note = '' if path['measured'] else ' [not measured: add --compile]'
    return (f'default path (tools/test.py, no flags, {images} image(s) of {size[0]}×{size[1]}): '
            f'{path["form"]}{note}, {path["steady"]:.2f} s per image, ratio '
            f'{path["steady"] / reference:.2f} to {reference_name}; whole run with '
            f'compilation {path["amortised"]:.2f} s per image, ratio '
            f'{path["amortised"] / reference:.2f}; rule: {path["rule"]}')


def compare_official(model: torch.nn.Module, directory: str, height: int, width: int,
                     repeat: int, warmup: int, compile: bool, bf16: bool,
                     reference: bool, onnx_dir: Optional[str] = None,
                     images: int = 1, fused_only: bool = False,
                     official_process: bool = False) -> tuple[list[str], bool]:
    """Lines ``<variant>: mmhaze X s, official Y s, ratio R (threads T, load L)``, the default
    path's line for a run of ``images`` images (:func:`default_path`), and whether the float32
    outputs agree with the official ones within :data:`AGREEMENT_TOL`."""
    dehaze, fusion = load_official(directory)
    official_to_mmhaze(model, dehaze, fusion)
    inputs = dummy_inputs(model, height, width)

    def official() -> dict[str, torch.Tensor]:
        dehazed, ir_image = dehaze(inputs['vis'], inputs['ir'])
        return dict(dehazed=dehazed, fused=fusion(dehazed, ir_image))

    if official_process:
        official = OfficialProcess(directory, dehaze, fusion, inputs)
    try:
        return _compare_official(model, official, inputs, height, width, repeat, warmup,
                                 compile, bf16, reference, onnx_dir, images, fused_only,
                                 'the official code' + (' (own process, glibc allocator)'
                                                        if official_process else ''))
    finally:
        if official_process:
            official.close()


def _compare_official(model: torch.nn.Module, official: Callable, inputs: dict,
                      height: int, width: int, repeat: int, warmup: int, compile: bool,
                      bf16: bool, reference: bool, onnx_dir: Optional[str], images: int,
                      fused_only: bool, official_name: str) -> tuple[list[str], bool]:
    import torch

    variants = build_variants(model, compile, bf16, reference, fused_only)
    export_line = []
    if onnx_dir is not None:
        variants['onnx'], line = onnx_variant(model, height, width, onnx_dir)
        export_line.append(line)
    with torch.no_grad():
        reference_out = official()
        outputs, first = first_calls(variants, inputs)  # also compiles 'compiled'
    lines, agree = drift_lines(outputs, reference_out, model.data_preprocessor.input_range)
    lines = export_line + lines
    fns = {'official': official, **{k: partial(v, inputs) for k, v in variants.items()}}
    faults: dict[str, list[int]] = {}
    times, loads = interleaved(fns, repeat, max(warmup - 1, 0), faults=faults)
    official_s = statistics.median(times.pop('official'))
    if isinstance(official, OfficialProcess):  # counted in its own process
        faults['official'] = official.faults[-repeat:]

    def thousand_faults(name: str) -> str:
        return f'{statistics.median(faults[name]) / 1e3:.0f}k'

    for name, t in times.items():
        mm = statistics.median(t)
        lines.append(f'{name}: mmhaze {mm:.2f} s, official {official_s:.2f} s, ratio '
                     f'{mm / official_s:.2f} (threads {torch.get_num_threads()}, load '
                     f'{statistics.mean(loads):.2f}; page faults per forward '
                     f'{thousand_faults(name)}, official {thousand_faults("official")})')
    medians = {k: statistics.median(t) for k, t in times.items()}
    path = default_path(model, (height, width), images, medians, first)
    lines.append(default_path_line(path, images, (height, width), official_s, official_name))
    return lines, agree


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch

    from mmhaze.apis import ConfigError
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        model = build_model(args.config, args.cfg_options)
    except ConfigError as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    shapes = [tuple(s) for s in (args.shape or [[256, 256]])]
    if args.onnx and args.device != 'cpu':
        print('error: --onnx runs onnxruntime on the CPU', file=sys.stderr)
        return 2
    # Exported graphs live only as long as the run.
    onnx_tmp = tempfile.TemporaryDirectory(prefix='mmhaze_onnx_') if args.onnx else None
    onnx_dir = onnx_tmp.name if onnx_tmp else None
    from mmhaze.apis.speed import retain_freed_memory
    retained = args.allocator == 'retain' and retain_freed_memory()
    print(f'config: {args.config}  device: {args.device}  threads: {torch.get_num_threads()}  '
          f'allocator: {"freed blocks retained" if retained else "glibc default"}  '
          f'load average at start: {os.getloadavg()[0]:.2f}')
    if args.compare_official:
        if args.device != 'cpu':
            print('error: --compare-official runs on the CPU', file=sys.stderr)
            return 2
        ok = True
        for h, w in shapes:
            print(f'{h}×{w}, batch 1, float32, median of {args.repeat} interleaved rounds:')
            try:
                lines, agree = compare_official(model, args.compare_official, h, w,
                                                args.repeat, args.warmup, args.compile,
                                                args.bf16, args.reference, onnx_dir,
                                                args.images, args.fused_only,
                                                args.official_process)
            except (FileNotFoundError, RuntimeError, ValueError) as err:
                print(f'error: {err}', file=sys.stderr)
                return 2
            print('\n'.join(lines))
            ok &= agree
        return 0 if ok else 1
    variants = build_variants(model.to(args.device), args.compile, args.bf16, args.reference,
                              args.fused_only, args.channels_last_only)
    sync = _sync_for(args.device)
    for h, w in shapes:
        inputs = {k: v.to(args.device) for k, v in dummy_inputs(model, h, w).items()}
        sized = dict(variants)
        if onnx_dir is not None:
            sized['onnx'], line = onnx_variant(model, h, w, onnx_dir)
            print(line)
        with torch.no_grad():
            outputs, first = first_calls(sized, inputs)  # also compiles 'compiled'
        print('\n'.join(drift_lines(outputs, clamp=model.data_preprocessor.input_range)[0]))
        times, loads = interleaved({k: partial(v, inputs) for k, v in sized.items()},
                                   args.repeat, max(args.warmup - 1, 0), sync)
        eager_median = statistics.median(times['eager'])
        for name, t in times.items():
            ratio = '' if name == 'eager' else \
                f', {statistics.median(t) / eager_median:.2f}× eager'
            print(f'{h}×{w} {name}: mean {1e3 * statistics.mean(t):.0f} ms, median '
                  f'{1e3 * statistics.median(t):.0f} ms{ratio} ({args.repeat} runs, load '
                  f'{statistics.mean(loads):.2f})')
        medians = {k: statistics.median(t) for k, t in times.items()}
        path = default_path(model, (h, w), args.images, medians, first)
        print(default_path_line(path, args.images, (h, w), eager_median, 'eager'))
        # Each part's time, from forward hooks on one more forward of every eager form
        # (hooks would break compiled graphs).
        for name in EAGER_FORMS:
            if name in variants:
                r = benchmark(variants[name].model, h, w, 1, 0, args.device, args.by_network)
                print(f'{h}×{w} {name} parts: ' + ', '.join(
                    f'{k} {v * r["mean_ms"] / 1e3:.2f} s ({100 * v:.1f}%)'
                    for k, v in r['shares'].items()))
    print(f'load average at end: {os.getloadavg()[0]:.2f}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
