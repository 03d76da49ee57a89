"""One call from files or arrays to a dehazed and a fused image, with tiling for large inputs."""
from __future__ import annotations

import os.path as osp
import sys
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Optional, Union

import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config
from tqdm import tqdm

from mmhaze.registry import MODELS
from mmhaze.utils.checkpoint import load_weights
from mmhaze.utils.errors import UserError

from .config_check import ConfigError, load_config
from .speed import (
    AutoCompile,
    compile_networks,
    padded_size_counts,
    prepare_for_inference,
    release_freed_memory,
)

#: The images an inferencer returns (and ``tools/infer.py`` writes).
IMAGE_OUTPUTS = ('dehazed', 'fused')

ImageLike = Union[str, np.ndarray]


class TilingError(UserError, ValueError):
    """Tiling that would change the model's output (without the opt-in), or cannot run."""


@dataclass(frozen=True)
class TileGeometry:
    """How an image is cut: ``tile`` px tiles, ``overlap`` px shared by neighbours. Each tile's
    output is dropped within ``margin`` px of its inner edges (it lacks context there; an exact
    model's ``tile_overlap``) and cross-faded with its neighbour's over the next
    ``overlap − 2·margin`` px."""

    tile: int
    overlap: int
    margin: int = 0

    def starts(self, n: int) -> list[int]:
        """Where the tiles of an axis of ``n`` px begin (the last one ends at ``n``)."""
        step = self.tile - self.overlap
        return sorted({min(s, max(n - self.tile, 0)) for s in range(0, n, step)})

    def edge_weights(self, n: int, inner_before: bool, inner_after: bool,
                     device) -> torch.Tensor:
        """Blending weights along one axis of a tile of ``n`` px: 0 over the margin at an inner
        edge, then a linear ramp; 1 at the image's own borders."""
        k = self.overlap - 2 * self.margin
        edge = torch.cat([torch.zeros(self.margin, device=device),
                          torch.linspace(1.0 / (k + 1), 1.0, k, device=device)])
        r = torch.ones(n, device=device)
        if inner_before:
            r[:len(edge)] = edge
        if inner_after:
            r[n - len(edge):] = edge.flip(0)
        return r


@dataclass(frozen=True)
class TileDrift:
    """How far tiled outputs are from whole-image ones on a crop, in grey levels (0–255)."""

    box: tuple[int, int, int, int]  # x, y, width, height of the crop in the (padded) input
    levels: dict[str, tuple[int, float]]  # output name → (max, mean) absolute difference

    def __str__(self) -> str:
        x, y, w, h = self.box
        parts = '; '.join(f'{k} max {m}, mean {a:.2f}' for k, (m, a) in self.levels.items())
        return (f'tiling drift on the {w}×{h} crop at x={x}, y={y} (tiled vs whole crop): '
                f'{parts} grey levels')


def pack_pair(vis: ImageLike, ir: ImageLike, ir_channels: int = 1) -> dict:
    """One VIS/IR pair (files or H×W×C arrays in [0, 1]) packed as the datasets pack it."""
    # Files are read exactly as the datasets read them (bit depth, alpha, grey IR).
    from mmhaze.datasets.transforms import ImageFormatError, LoadFusionImages, PackFusionInputs
    loader = LoadFusionImages(ir_channels=ir_channels)
    vis_path = vis if isinstance(vis, str) else None
    ir_path = ir if isinstance(ir, str) else None
    vis_arr = loader.load_colour(vis) if vis_path else np.asarray(vis)
    ir_arr = loader.load_ir(ir) if ir_path else np.asarray(ir)
    if vis_arr.shape[:2] != ir_arr.shape[:2]:
        raise ImageFormatError(
            f'vis {vis_arr.shape[1]}×{vis_arr.shape[0]} and ir {ir_arr.shape[1]}×'
            f'{ir_arr.shape[0]} differ in size' + (f': {vis_path} / {ir_path}' if vis_path
                                                   else '')
            + '; the images of a pair must be pixel-registered')
    results = dict(vis=vis_arr, ir=ir_arr, vis_path=vis_path, ir_path=ir_path,
                   img_id=osp.splitext(osp.basename(vis_path))[0] if vis_path else 'array')
    return PackFusionInputs()(results)


def _drop_source_images(samples: Sequence) -> None:
    """Remove the packed source images from data samples (their predictions only need the
    metainfo): 127 MB at 4K that would otherwise live through the whole inference."""
    for sample in samples:
        for key in ('vis', 'ir'):
            if key in sample:
                delattr(sample, key)


def resolve_device(device: Optional[str]) -> torch.device:
    """``device`` as a ``torch.device`` (None: CUDA when available, else the CPU); a device this
    machine does not have is one :class:`ConfigError` line, not a traceback from the first
    tensor moved there."""
    if device is None:
        return torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ConfigError(f'--device {device}: not a device name ({err}); e.g. cpu, cuda, '
                          'cuda:1') from None
    if resolved.type == 'cuda':
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if not count:
            raise ConfigError(f'--device {device}: this machine has no CUDA device (PyTorch '
                              f'{torch.__version__} sees none); use --device cpu')
        if resolved.index is not None and resolved.index >= count:
            raise ConfigError(f'--device {device}: there are {count} CUDA device(s), '
                              f'cuda:0 to cuda:{count - 1}')
    return resolved


class FusionInferencer:
    """Build a model from a config (+ checkpoint) and run it on VIS/IR pairs.

    >>> infer = FusionInferencer('configs/demo/demo_synthetic.py', 'work_dirs/demo/iter_250.pth')
    >>> out = infer('hazy.png', 'ir.png')   # {'dehazed': HxWx3 uint8, 'fused': ...}

    Tiling (``tile=512``) bounds memory on large images. It is exact only for a model whose
    networks all declare ``tile_exact`` (every tile then keeps ``model.tile_overlap`` pixels of
    context at its inner edges); any other model is refused (:class:`TilingError`, with the
    per-image parts that make tiles differ) unless ``approx=True``, and :meth:`tile_drift`
    measures how much its tiles differ.

    Args:
        config: config path or ``Config``; its ``model`` is built.
        checkpoint: weights to load (weights_only-safe loader); None keeps the initialisation.
        device: 'cpu', 'cuda', ... (default: CUDA when available).
        pad_small: reflect-pad an image smaller than the model's minimum up to it (outputs
            cropped back) instead of refusing it.
        compile: ``torch.compile`` the model's networks (see :mod:`mmhaze.apis.speed`): the
            first call of each input size compiles (minutes on a small CPU), later calls are
            faster. ``'auto'``: only for the sizes of ``image_sizes`` where the number of
            images pays the compilation back (:class:`~mmhaze.apis.speed.AutoCompile`).
            Without it the model still runs in its fast eager form.
        image_sizes: (H, W) of every image the caller will pass, for ``compile='auto'``.
    """

    def __init__(self, config: Union[str, Config], checkpoint: Optional[str] = None,
                 device: Optional[str] = None, pad_small: bool = False,
                 compile: Union[bool, str] = False,
                 image_sizes: Optional[Sequence[tuple[int, int]]] = None):
        resolve_device(device)  # before the model is built
        cfg = load_config(config) if isinstance(config, str) else config
        model_cfg = cfg.model.copy()
        model_cfg.pop('init_cfg', None)  # no pretrained downloads at inference
        model = MODELS.build(model_cfg)
        if checkpoint is not None:  # strictly: a misfit is one error naming the file
            load_weights(model, checkpoint, strict=True)
        if hasattr(model, 'release_training_only_networks'):  # this model only predicts
            model.release_training_only_networks()
        self._setup(model, device, pad_small, compile, image_sizes, owned=True)
        self.cfg = cfg

    @classmethod
    def from_model(cls, model: nn.Module, device: Optional[str] = None,
                   pad_small: bool = False, compile: Union[bool, str] = False,
                   image_sizes: Optional[Sequence[tuple[int, int]]] = None) -> FusionInferencer:
        """An inferencer around a model built already (tests, exporters)."""
        self = cls.__new__(cls)
        self._setup(model, device, pad_small, compile, image_sizes)
        self.cfg = None
        return self

    def _setup(self, model: nn.Module, device: Optional[str], pad_small: bool,
               compile: Union[bool, str], image_sizes: Optional[Sequence[tuple[int, int]]],
               owned: bool = False) -> None:
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()
        if pad_small:
            self.model.data_preprocessor.pad_small = True
        prepare_for_inference(self.model)
        if owned:  # built here to predict: folded norms need not keep the unfolded weights
            from mmhaze.models.utils import bake_folded_batch_norms
            bake_folded_batch_norms(self.model)
        # After the weights are loaded: frozen graphs keep the weights they saw.
        if compile == 'auto':
            if image_sizes:
                divisor = self.model.data_preprocessor.pad_size_divisor
                AutoCompile(self.model, padded_size_counts(image_sizes, divisor)).install()
        elif compile is True or compile == 'on':  # 'off' (a non-empty string) compiles nothing
            compile_networks(self.model)
        elif compile not in (False, None, 'off'):
            raise ValueError(f"compile must be True/False or 'auto'/'on'/'off', got {compile!r}")

    def _pack(self, vis: ImageLike, ir: ImageLike) -> dict:
        return pack_pair(vis, ir, self.model.data_preprocessor.channels.get('ir') or 1)

    def preprocess(self, vis: ImageLike, ir: ImageLike) -> tuple[dict, list]:
        """Model-range, padded inputs of one pair (a smaller image than the model accepts is
        refused here, naming the file) and its data samples."""
        packed = self._pack(vis, ir)
        data = self.model.data_preprocessor(
            dict(inputs={k: [v] for k, v in packed['inputs'].items()},
                 data_samples=[packed['data_samples']]), False)
        return data['inputs'], data['data_samples']

    def tile_geometry(self, tile: int, overlap: int = 32, approx: bool = False) -> TileGeometry:
        """The tiles ``tile``/``overlap`` ask for, fitted to the model, or a :class:`TilingError`
        saying why they cannot be used.

        An exact model keeps ``model.tile_overlap`` px of context at every inner tile edge, so
        neighbours overlap by at least twice that; another model needs ``approx``. Tiles and
        steps are multiples of the preprocessor's ``pad_size_divisor`` (downsampling networks
        are shift-equivariant only by multiples of it)."""
        model = self.model
        divisor = model.data_preprocessor.pad_size_divisor
        size = max(divisor, tile // divisor * divisor)
        if size < model.min_input_size:
            raise TilingError(f'--tile {tile} is smaller than the {model.min_input_size} px per '
                              f'side {type(model).__name__} needs (min_input_size)')
        overlap = min(max(0, overlap), size // 2)
        if model.tile_exact:
            margin = model.tile_overlap
            overlap = max(overlap, 2 * margin)
            if 2 * margin > size // 2:  # tiles of at least 4·margin: at most 4× the work
                least = -(-4 * margin // divisor) * divisor
                raise TilingError(
                    f'--tile {tile} is too small for {type(model).__name__}: every tile loses '
                    f'{margin} px at its inner edges (tile_overlap), so tiles overlap by '
                    f'{2 * margin} px; use --tile {least} or more')
        elif not approx:
            reasons = '; '.join(model.tile_inexact_reasons) or 'it does not declare them exact'
            raise TilingError(
                f'--tile: tiles of {type(model).__name__} would not reproduce its whole-image '
                f'output ({reasons}); run without --tile, or pass '
                '--tile-approx to tile anyway (the drift is then measured on an overlapping crop '
                'and printed)')
        else:
            margin = 0
        step = max(divisor, (size - overlap) // divisor * divisor)
        return TileGeometry(size, size - step, margin)

    @torch.no_grad()
    def __call__(self, vis: ImageLike, ir: ImageLike, tile: Optional[int] = None,
                 overlap: int = 32, progress: bool = False,
                 approx: bool = False) -> dict[str, np.ndarray]:
        """Dehaze and fuse one pair. An image larger than ``tile`` (pixels) runs as overlapping
        tiles whose outputs are blended with linear ramps (see :meth:`tile_geometry`;
        ``approx`` allows it for a model whose tiles differ from the whole image);
        ``progress`` shows a bar of the tiles on stderr (a 4000×3000 image takes minutes)."""
        from mmhaze.visualization import to_rgb_uint8
        # Image-size buffers are let go as soon as the next step no longer reads them: at 4K
        # each float32 RGB map is 100 MB, and tiling exists to bound memory.
        inputs, samples = self.preprocess(vis, ir)
        _drop_source_images(samples)
        if tile is None or max(inputs['vis'].shape[-2:]) <= tile:
            outputs = self.model(inputs, mode='tensor')
        else:
            # The decoding's freed temporaries would stay resident under the tiles' buffers
            # (glibc keeps blocks up to 32 MiB).
            release_freed_memory()
            name = osp.basename(vis) if isinstance(vis, str) else 'image'
            outputs = self.tiled(inputs, self.tile_geometry(tile, overlap, approx),
                                  name if progress else None, keys=IMAGE_OUTPUTS)
        del inputs
        self.model.to_data_samples(outputs, samples, 1)
        del outputs
        images = {}
        for key in IMAGE_OUTPUTS:
            pred = samples[0].get(f'pred_{key}')
            if pred is not None:
                images[key] = to_rgb_uint8(pred.data)
                delattr(samples[0], f'pred_{key}')
        return images

    @torch.no_grad()
    def tile_drift(self, vis: ImageLike, ir: ImageLike, tile: int, overlap: int = 32,
                   approx: bool = True) -> Optional[TileDrift]:
        """Tiled vs whole-image outputs of a central crop of the pair that spans two tiles and
        their seam along the longer side, one tile across (None: the pair fits in one tile).
        The whole image may not fit in memory; the crop does, and shows what the per-image
        parts of a model do to tiles. (A crop of 2×2 tiles would need about twice the memory
        for its whole forward: more than the tiling itself.)"""
        inputs = self.preprocess(vis, ir)[0]  # not the samples: they hold the source images
        h, w = inputs['vis'].shape[-2:]
        if max(h, w) <= tile:
            return None
        geometry = self.tile_geometry(tile, overlap, approx)
        divisor = self.model.data_preprocessor.pad_size_divisor
        span = 2 * geometry.tile - geometry.overlap  # a multiple of the divisor
        along, across = min(max(h, w), span), min(min(h, w), geometry.tile)
        ch, cw = (across, along) if w >= h else (along, across)
        y, x = (h - ch) // 2 // divisor * divisor, (w - cw) // 2 // divisor * divisor
        # A copy of the crop, so the whole image's inputs are freed before the forwards.
        crop = {k: v[..., y:y + ch, x:x + cw].clone() for k, v in inputs.items()}
        del inputs
        release_freed_memory()
        whole = {k: v for k, v in self.model(crop, mode='tensor').items() if k in IMAGE_OUTPUTS}
        release_freed_memory()
        tiled = self.tiled(crop, geometry, keys=IMAGE_OUTPUTS)
        levels = {}
        for key in IMAGE_OUTPUTS:
            if key in whole:
                a, b = (self._grey_levels(out[key]) for out in (whole, tiled))
                diff = np.abs(a.astype(np.int16) - b.astype(np.int16))
                levels[key] = (int(diff.max()), float(diff.mean()))
        return TileDrift((x, y, cw, ch), levels)

    def _grey_levels(self, batch: torch.Tensor) -> np.ndarray:
        """A model-range 1×C×H×W output as the uint8 image a PNG would hold."""
        from mmhaze.visualization import to_rgb_uint8
        return to_rgb_uint8(self.model.data_preprocessor.denormalize(batch[0]))

    @torch.no_grad()
    def tiled(self, inputs: dict[str, torch.Tensor], geometry: TileGeometry,
              progress_name: Optional[str] = None,
              keys: Optional[Collection[str]] = None) -> dict[str, torch.Tensor]:
        """What ``model(inputs, mode='tensor')`` returns, computed tile by tile (model range,
        padded size); ``progress_name`` shows a bar of the tiles under that name. ``keys``:
        blend only these outputs (default: all): an image-size accumulator per output is
        what tiling keeps for the whole image (HSVF's 7-class ``seg_logits`` would be 54 %
        of them, which the inferencer's images do not use)."""
        h, w = inputs['vis'].shape[-2:]
        ys, xs = geometry.starts(h), geometry.starts(w)
        acc: dict[str, torch.Tensor] = {}
        device = inputs['vis'].device
        weight = torch.zeros(1, 1, h, w, device=device)
        bar = tqdm(total=len(ys) * len(xs), desc=f'{progress_name} tiles', unit='tile',
                   file=sys.stderr, disable=not progress_name)
        for y in ys:
            for x in xs:
                crop = {k: v[..., y:y + geometry.tile, x:x + geometry.tile]
                        for k, v in inputs.items()}
                out = self.model(crop, mode='tensor')
                th, tw = crop['vis'].shape[-2:]
                win = (geometry.edge_weights(th, y > 0, y + th < h, device)[:, None]
                       * geometry.edge_weights(tw, x > 0, x + tw < w, device)[None, :])
                weight[..., y:y + th, x:x + tw] += win
                for k, v in out.items():
                    if keys is not None and k not in keys:
                        continue
                    if k not in acc:
                        acc[k] = torch.zeros(*v.shape[:2], h, w, device=v.device, dtype=v.dtype)
                    acc[k][..., y:y + th, x:x + tw] += v * win
                del out
                # Each tile starts from a trimmed heap: without it, what glibc keeps of one
                # tile's freed blocks varied the 4K peak by ~0.1 GB from run to run.
                release_freed_memory()
                bar.update()
        bar.close()
        return {k: v.div_(weight) for k, v in acc.items()}
