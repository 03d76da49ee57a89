"""One call from files or arrays to a dehazed and a fused image, with tiling for large inputs."""
from __future__ import annotations

import os.path as osp
from typing import Optional, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.runner import load_checkpoint

from mmhaze.registry import MODELS

from .config_check import load_config
from .speed import compile_networks, prepare_for_inference

ImageLike = Union[str, np.ndarray]


def _blend_window(h: int, w: int, overlap: int, device) -> torch.Tensor:
    """Weights that fall linearly to a small floor over ``overlap`` pixels at each tile edge."""
    def ramp(n: int) -> torch.Tensor:
        r = torch.ones(n, device=device)
        k = min(overlap, n // 2)
        if k > 0:
            edge = torch.linspace(1.0 / (k + 1), 1.0, k, device=device)
            r[:k], r[n - k:] = edge, edge.flip(0)
        return r
    return ramp(h)[:, None] * ramp(w)[None, :]


class FusionInferencer:
    """Build a model from a config (+ checkpoint) and run it on VIS/IR pairs.

    >>> infer = FusionInferencer('configs/demo/demo_synthetic.py', 'work_dirs/demo/iter_600.pth')
    >>> out = infer('hazy.png', 'ir.png', tile=512)   # {'dehazed': HxWx3 uint8, 'fused': ...}

    Args:
        config: config path or ``Config``; its ``model`` is built.
        checkpoint: weights to load (weights_only-safe loader); None keeps the initialisation.
        device: 'cpu', 'cuda', ... (default: CUDA when available).
        compile: ``torch.compile`` the model's networks (see :mod:`mmhaze.apis.speed`): the
            first call of each input size compiles (tens of seconds on a small CPU), later
            calls are faster. Without it the model still runs in its fast eager form.
    """

    def __init__(self, config: Union[str, Config], checkpoint: Optional[str] = None,
                 device: Optional[str] = None, compile: bool = False):
        cfg = load_config(config) if isinstance(config, str) else config
        self.cfg = cfg
        self.device = torch.device(device or ('cuda' if torch.cuda.is_available() else 'cpu'))
        model_cfg = cfg.model.copy()
        model_cfg.pop('init_cfg', None)  # no pretrained downloads at inference
        self.model = MODELS.build(model_cfg)
        if checkpoint is not None:
            load_checkpoint(self.model, checkpoint, map_location='cpu', strict=True,
                            revise_keys=[(r'^module\.', '')])
        self.model.to(self.device).eval()
        prepare_for_inference(self.model)
        if compile:
            compile_networks(self.model)

    def _pack(self, vis: ImageLike, ir: ImageLike) -> dict:
        # Files are read exactly as the datasets read them (bit depth, alpha, grey IR).
        from mmhaze.datasets.transforms import LoadFusionImages, PackFusionInputs
        loader = LoadFusionImages(ir_channels=self.model.data_preprocessor.channels.get('ir')
                                  or 1)
        vis_path = vis if isinstance(vis, str) else None
        ir_path = ir if isinstance(ir, str) else None
        vis_arr = loader.load_colour(vis) if vis_path else np.asarray(vis)
        ir_arr = loader.load_ir(ir) if ir_path else np.asarray(ir)
        if vis_arr.shape[:2] != ir_arr.shape[:2]:
            raise ValueError(f'vis {vis_arr.shape[:2]} and ir {ir_arr.shape[:2]} differ in size'
                             + (f': {vis_path} / {ir_path}' if vis_path else ''))
        results = dict(vis=vis_arr, ir=ir_arr, vis_path=vis_path, ir_path=ir_path,
                       img_id=osp.splitext(osp.basename(vis_path))[0] if vis_path else 'array')
        return PackFusionInputs()(results)

    @torch.no_grad()
    def __call__(self, vis: ImageLike, ir: ImageLike, tile: Optional[int] = None,
                 overlap: int = 32) -> dict[str, np.ndarray]:
        """Dehaze and fuse one pair. ``tile`` (pixels) bounds memory on large images: the
        model runs on overlapping tiles whose outputs are blended with linear ramps."""
        packed = self._pack(vis, ir)
        data = self.model.data_preprocessor(
            dict(inputs={k: [v] for k, v in packed['inputs'].items()},
                 data_samples=[packed['data_samples']]), False)
        inputs, samples = data['inputs'], data['data_samples']
        if tile is None or max(inputs['vis'].shape[-2:]) <= tile:
            outputs = self.model(inputs, mode='tensor')
        else:
            outputs = self._tiled(inputs, tile, overlap)
        self.model.to_data_samples(outputs, samples, 1)
        from mmhaze.visualization import to_rgb_uint8
        return {key: to_rgb_uint8(getattr(samples[0], f'pred_{key}').data)
                for key in ('dehazed', 'fused') if f'pred_{key}' in samples[0]}

    def _tiled(self, inputs: dict[str, torch.Tensor], tile: int,
               overlap: int) -> dict[str, torch.Tensor]:
        divisor = self.model.data_preprocessor.pad_size_divisor
        tile = max(divisor, tile // divisor * divisor)
        overlap = min(overlap, tile // 2)
        h, w = inputs['vis'].shape[-2:]
        step = max(1, tile - overlap)
        ys = sorted({min(y, max(h - tile, 0)) for y in range(0, h, step)})
        xs = sorted({min(x, max(w - tile, 0)) for x in range(0, w, step)})
        acc: dict[str, torch.Tensor] = {}
        weight = torch.zeros(1, 1, h, w, device=inputs['vis'].device)
        for y in ys:
            for x in xs:
                crop = {k: v[..., y:y + tile, x:x + tile] for k, v in inputs.items()}
                out = self.model(crop, mode='tensor')
                th, tw = crop['vis'].shape[-2:]
                win = _blend_window(th, tw, overlap, weight.device)
                weight[..., y:y + th, x:x + tw] += win
                for k, v in out.items():
                    if k not in acc:
                        acc[k] = torch.zeros(*v.shape[:2], h, w, device=v.device, dtype=v.dtype)
                    acc[k][..., y:y + th, x:x + tw] += v * win
        return {k: v / weight for k, v in acc.items()}
