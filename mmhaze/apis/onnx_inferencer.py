"""Run a model exported by ``tools/deployment/pytorch2onnx.py`` with onnxruntime."""
from __future__ import annotations

import os
import os.path as osp
from typing import Optional

import numpy as np
import torch

from .export import INPUT_NAMES, META_PREFIX, ExportError
from .inferencer import ImageLike, pack_pair


class OnnxInferencer:
    """An exported ``.onnx`` model on VIS/IR pairs, on the CPU through onnxruntime.

    >>> infer = OnnxInferencer('iassf.onnx')
    >>> out = infer('hazy.png', 'ir.png')   # {'dehazed': H×W×3 uint8, 'fused': ...}

    Images are read as :class:`FusionInferencer` reads them (the IR with the channels the graph
    takes); everything else (normalisation, padding, cropping) is inside the graph. A static
    graph runs only at its exported size, a dynamic one at any size from its minimum up.

    Args:
        path: the ``.onnx`` file.
        threads: onnxruntime intra-op threads (None: its default, all cores).
        pad_small: pad an image smaller than a dynamic graph accepts up to its minimum, as the
            PyTorch path's ``pad_small`` does (bottom/right, the model's pad mode, to the
            minimum rounded up to the padding divisor: the same pixels), and crop back.
    """

    def __init__(self, path: str, threads: Optional[int] = None, pad_small: bool = False):
        import onnxruntime as ort
        if not osp.isfile(path):
            raise ExportError(f'ONNX model not found: {path}')
        options = ort.SessionOptions()
        options.log_severity_level = 4  # errors are raised, not also logged
        if threads:
            options.intra_op_num_threads = threads
        if os.environ.get('OMP_WAIT_POLICY', '').strip().upper() == 'PASSIVE':
            # onnxruntime's own pool spins like OpenMP's; follow the process's wait policy.
            options.add_session_config_entry('session.intra_op.allow_spinning', '0')
        try:
            self.session = ort.InferenceSession(path, options,
                                                providers=['CPUExecutionProvider'])
        except Exception as err:  # not an ONNX file, or an op onnxruntime lacks
            raise ExportError(f'onnxruntime cannot load {path}: {str(err).splitlines()[0]}'
                              ) from None
        meta = self.session.get_modelmeta().custom_metadata_map
        self.metadata = {k[len(META_PREFIX):]: v for k, v in meta.items()
                         if k.startswith(META_PREFIX)}
        inputs = self.session.get_inputs()
        if [i.name for i in inputs] != list(INPUT_NAMES) or 'outputs' not in self.metadata:
            raise ExportError(f'{path} is not an mmhaze export (inputs '
                              f'{[i.name for i in inputs]}; export with '
                              'tools/deployment/pytorch2onnx.py)')
        self.path = path
        self.batch, _, *size = inputs[0].shape
        # A static graph has int sizes; a dynamic one names them ('height', 'width').
        self.size = tuple(size) if all(isinstance(s, int) for s in size) else None
        self.min_size = tuple(int(v) for v in self.metadata.get('min_size', '1,1').split(','))
        self.ir_channels = int(inputs[1].shape[1])
        self.output_names = [o.name for o in self.session.get_outputs()]
        self.pad_small = pad_small

    def run(self, vis: np.ndarray, ir: np.ndarray) -> dict[str, np.ndarray]:
        """The graph on B×3×H×W ``vis`` and B×C×H×W ``ir`` (float32, [0, 1]): output → array."""
        vis = np.ascontiguousarray(vis, dtype=np.float32)
        ir = np.ascontiguousarray(ir, dtype=np.float32)
        self.check_inputs(vis.shape, ir.shape)
        return dict(zip(self.output_names, self.session.run(None, {'vis': vis, 'ir': ir})))

    def check_inputs(self, vis_shape: tuple, ir_shape: tuple) -> None:
        """One clear error for inputs the graph would refuse (or silently misread)."""
        h, w = vis_shape[-2:]
        name = osp.basename(self.path)
        if tuple(ir_shape[-2:]) != (h, w):
            raise ExportError(f'vis {w}×{h} and ir {ir_shape[-1]}×{ir_shape[-2]} differ in size')
        if ir_shape[-3] != self.ir_channels:
            raise ExportError(f'{name} takes a {self.ir_channels}-channel ir, got '
                              f'{ir_shape[-3]} channels')
        if isinstance(self.batch, int) and vis_shape[0] != self.batch:
            raise ExportError(f'{name} was exported for batch {self.batch}, got {vis_shape[0]}')
        if self.size is not None and (h, w) != self.size:
            raise ExportError(f'{name} was exported for {self.size[0]}×{self.size[1]} (H×W) '
                              f'inputs, got {h}×{w}: export it with --dynamic or '
                              f'--shape {h} {w}')
        if h < self.min_size[0] or w < self.min_size[1]:
            raise ExportError(f'{name} accepts inputs from {self.min_size[0]}×'
                              f'{self.min_size[1]} (H×W), got {h}×{w}; reflect-pad it up '
                              'with pad_small (tools/infer.py --pad-small)')

    def __call__(self, vis: ImageLike, ir: ImageLike) -> dict[str, np.ndarray]:
        """Dehaze and fuse one pair (files or H×W×C [0, 1] arrays): key → H×W×3 uint8."""
        from mmhaze.visualization import to_rgb_uint8
        inputs = pack_pair(vis, ir, self.ir_channels)['inputs']
        v, i = (inputs[k][None].float() for k in INPUT_NAMES)
        h, w = v.shape[-2:]
        if self.pad_small and self.size is None and min(h - self.min_size[0],
                                                        w - self.min_size[1]) < 0:
            v, i = (self.pad_up(x) for x in (v, i))
        try:
            out = self.run(v.numpy(), i.numpy())
        except ExportError as err:  # name the file, as the PyTorch path does
            raise ExportError(f'{vis}: {err}' if isinstance(vis, str) else str(err)) from None
        return {key: to_rgb_uint8(torch.from_numpy(out[f'pred_{key}'][0, :, :h, :w]))
                for key in ('dehazed', 'fused') if f'pred_{key}' in out}

    def pad_up(self, x: torch.Tensor) -> torch.Tensor:
        """Pad B×C×H×W ``x`` at the bottom/right to the graph's minimum (``pad_small``)."""
        from mmhaze.models.data_preprocessors.fusion_data_preprocessor import pad_to
        divisor = int(self.metadata.get('pad_size_divisor', 1))
        least = max(int(self.metadata.get('min_input_size', 1)), *self.min_size)
        side = -(-least // divisor) * divisor  # what the preprocessor pads a small image to
        return pad_to(x, max(side, x.shape[-2]), max(side, x.shape[-1]),
                      mode=self.metadata.get('pad_mode', 'reflect'))


def onnx_backend(config: str, path: str, tile: Optional[int] = None,
                 device: Optional[str] = None, compile: bool = False,
                 pad_small: bool = False) -> OnnxInferencer:
    """``tools/infer.py --backend onnxruntime``: the inferencer of ``path``, after checking that
    it was exported from ``config`` and that no PyTorch-only option was asked for."""
    from .config_check import ConfigError
    if tile is not None:
        raise ConfigError('--tile is not available with --backend onnxruntime (the graph runs '
                          'whole images; export it with --dynamic for any size)')
    if compile:
        raise ConfigError('--compile is a PyTorch option; onnxruntime optimises the graph '
                          'itself (--backend onnxruntime)')
    if device not in (None, 'cpu'):
        raise ConfigError(f'--backend onnxruntime runs on the CPU, not --device {device}')
    if not osp.isfile(config):
        raise ConfigError(f'config file not found: {config}')
    if not path.endswith('.onnx'):
        raise ConfigError(f'--backend onnxruntime takes an exported .onnx model, got {path} '
                          '(export it with tools/deployment/pytorch2onnx.py)')
    # As many threads as torch was given (tools/infer.py chose them for the free cores).
    infer = OnnxInferencer(path, threads=torch.get_num_threads(), pad_small=pad_small)
    exported_from = infer.metadata.get('config')
    if exported_from and osp.basename(exported_from) != osp.basename(config):
        raise ConfigError(f'{path} was exported from {exported_from}, not {config}')
    return infer
