"""Inference speed switches shared by the inferencer, ``tools/test.py`` and the benchmarks.

Two tiers (measured in docs/speed.md):

- :func:`prepare_for_inference` — what every inference path uses: the blocks' fused attention
  kernel and, on the CPU, channels-last convolution weights. Same outputs as training-mode eager
  to float rounding (IASSF: ≤ 4.8e-6 on outputs up to 4.8 on the model fixture), not bit for bit.
- :func:`compile_networks` — opt-in: ``torch.compile`` (inductor) of every network the model
  composes. Tens of seconds of compilation per network and input size on a small CPU; compiled
  kernels are cached on disk by inductor, so a second process starts faster.

A bf16 autocast path is a benchmark option only (``benchmark.py --bf16``): it changes outputs by
~1e-2 and the benchmark reports by how much.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
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

    Fused attention everywhere; channels-last weights when ``channels_last`` is True, or, when
    None, if the model's parameters are on the CPU (where it was measured to pay: ~0.8× the
    latency of IASSF; on GPUs it was not measured).
    """
    from mmhaze.models.backbones import set_fast_inference, set_fused_attention
    set_fused_attention(model, True)
    set_fast_inference(model, True)
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


def compile_networks(model: nn.Module, freezing: bool = True, **compile_kwargs) -> list[str]:
    """``torch.compile`` (inductor) the forward of each of :func:`networks`; returns their names.

    In place (the module's ``forward`` is replaced), so state-dict keys and the model object
    stay the same and the wrapper's Python glue (padding, data samples) stays eager.
    Compilation is lazy: it happens on the first forward of each input size, after checkpoints
    are loaded. ``freezing`` lets inductor fold the weights into the graph as constants and
    pre-pack them for oneDNN (fusing convolutions with the element-wise ops around them) when
    the forward runs without gradients; with gradients it compiles normally. Frozen graphs do
    not see weights changed after their compilation: compile after loading.
    """
    names = []
    for name, child in networks(model):
        compiled = torch.compile(child.forward, **compile_kwargs)
        child.forward = _with_freezing(compiled) if freezing else compiled
        names.append(name)
    return names


def prepare_runner_model(model: nn.Module, compile: bool = False) -> nn.Module:
    """:func:`prepare_for_inference` (and, if asked, :func:`compile_networks`) of a Runner's
    model, through a DDP-style wrapper if there is one; returns the unwrapped model."""
    from mmhaze.utils.modules import unwrap
    inner = unwrap(model)
    prepare_for_inference(inner)
    if compile:
        compile_networks(inner)
    return inner
