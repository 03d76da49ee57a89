"""A frozen VGG-16 feature extractor whose weights come from a local file and stay out of
checkpoints (a loss's fixed measuring instrument, not part of the trained model)."""
from __future__ import annotations

import os.path as osp
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

#: VGG-16's conv layers in order (name, in, out); a 2×2 max-pool follows each ``*_last`` layer.
VGG16_CONVS = (
    ('conv1_1', 3, 64), ('conv1_2', 64, 64),
    ('conv2_1', 64, 128), ('conv2_2', 128, 128),
    ('conv3_1', 128, 256), ('conv3_2', 256, 256), ('conv3_3', 256, 256),
    ('conv4_1', 256, 512), ('conv4_2', 512, 512), ('conv4_3', 512, 512),
    ('conv5_1', 512, 512), ('conv5_2', 512, 512), ('conv5_3', 512, 512),
)
POOL_AFTER = ('conv1_2', 'conv2_2', 'conv3_3', 'conv4_3')
#: Index of each conv in torchvision's ``vgg16().features``.
TORCHVISION_INDEX = dict(zip([c[0] for c in VGG16_CONVS],
                             (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)))
# Caffe/TF VGG (tensorflow-vgg's vgg16.npy, U2Fusion's): BGR, 0–255, these means subtracted.
CAFFE_BGR_MEAN = (103.939, 116.779, 123.68)
TORCHVISION_MEAN = (0.485, 0.456, 0.406)
TORCHVISION_STD = (0.229, 0.224, 0.225)


def load_vgg16_weights(path: str, where: str = 'vgg_weights'
                       ) -> tuple[dict[str, tuple[torch.Tensor, torch.Tensor]], str]:
    """``({layer: (weight OIHW, bias)}, style)`` from a local file.

    - ``.npz``: the Caffe/TF VGG-16 (``vgg16.npy`` of tensorflow-vgg, which U2Fusion uses)
      exported without pickles: ``<layer>/filter`` ([kh, kw, in, out]) and ``<layer>/bias``;
      style ``'caffe'`` (BGR, 0–255, mean subtracted).
    - ``.pth`` / ``.pt``: torchvision's ``vgg16`` state dict (``features.<i>.weight``/``bias``),
      read with ``weights_only=True``; style ``'torchvision'`` (RGB, ImageNet mean/std).

    Errors name the config key ``where``.
    """
    if not path:
        raise ValueError(f'{where} is not set: name a local VGG-16 weights file (.npz or .pth)')
    path = osp.expanduser(str(path))
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'{where}: {path} not found. mmhaze downloads no weights: give a local VGG-16 file '
            "(U2Fusion's vgg16.npy exported to .npz — see docs — or torchvision's "
            'vgg16-397923af.pth)')
    weights: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    if path.endswith('.npz'):
        with np.load(path, allow_pickle=False) as data:
            missing = [f'{n}/{p}' for n, _, _ in VGG16_CONVS for p in ('filter', 'bias')
                       if f'{n}/{p}' not in data.files]
            if missing:
                raise KeyError(f'{where}: {path} lacks {missing[:4]} (expects '
                               "'<layer>/filter' and '<layer>/bias' for conv1_1 … conv5_3)")
            for name, _, _ in VGG16_CONVS:
                w = torch.from_numpy(np.ascontiguousarray(data[f'{name}/filter'], np.float32))
                weights[name] = (w.permute(3, 2, 0, 1).contiguous(),
                                 torch.from_numpy(np.asarray(data[f'{name}/bias'], np.float32)))
        return weights, 'caffe'
    if path.endswith(('.pth', '.pt')):
        state = torch.load(path, map_location='cpu', weights_only=True)
        state = state.get('state_dict', state)
        for name, i in TORCHVISION_INDEX.items():
            keys = (f'features.{i}.weight', f'features.{i}.bias')
            if not all(k in state for k in keys):
                raise KeyError(f'{where}: {path} lacks {keys[0]} (expects torchvision vgg16 '
                               'state-dict keys features.<i>.weight/bias)')
            weights[name] = (state[keys[0]].float(), state[keys[1]].float())
        return weights, 'torchvision'
    raise ValueError(f'{where}: {path} is neither .npz (Caffe/TF VGG-16) nor .pth (torchvision)')


class VGG16Features(nn.Module):
    """Post-ReLU VGG-16 features of an RGB image in [0, 1], at the layers ``outputs``.

    Convs are zero-padded ("SAME"), pools 2×2/2 (ceil). The weights are **non-persistent
    buffers**: they move with the module (``.to``/``.cuda``), are in no ``state_dict`` (so no
    mmhaze checkpoint carries them), are no parameters (so no optimizer or weight clipping
    touches them), and the module is always used without gradient to its weights.
    """

    def __init__(self, weights: str,
                 outputs: Sequence[str] = ('conv1_2', 'conv2_2', 'conv3_3', 'conv4_3', 'conv5_3'),
                 where: str = 'vgg_weights'):
        super().__init__()
        names = [c[0] for c in VGG16_CONVS]
        unknown = [o for o in outputs if o not in names]
        if unknown:
            raise ValueError(f'unknown VGG-16 layers {unknown}; known: {names}')
        loaded, self.style = load_vgg16_weights(weights, where)
        self.outputs = tuple(outputs)
        last = max(names.index(o) for o in outputs)
        self.layers = [c for c in VGG16_CONVS[:last + 1]]
        for name, cin, cout in self.layers:
            w, b = loaded[name]
            if tuple(w.shape) != (cout, cin, 3, 3) or tuple(b.shape) != (cout,):
                raise ValueError(f'{where}: {name} has shape {tuple(w.shape)}, expected '
                                 f'{(cout, cin, 3, 3)}')
            self.register_buffer(f'{name}_weight', w, persistent=False)
            self.register_buffer(f'{name}_bias', b, persistent=False)
        if self.style == 'caffe':
            self.register_buffer('mean', torch.tensor(CAFFE_BGR_MEAN).view(1, 3, 1, 1),
                                 persistent=False)
        else:
            self.register_buffer('mean', torch.tensor(TORCHVISION_MEAN).view(1, 3, 1, 1),
                                 persistent=False)
            self.register_buffer('std', torch.tensor(TORCHVISION_STD).view(1, 3, 1, 1),
                                 persistent=False)
        self.requires_grad_(False)

    def preprocess(self, rgb: torch.Tensor) -> torch.Tensor:
        if self.style == 'caffe':
            return rgb.flip(1) * 255.0 - self.mean  # RGB → BGR
        return (rgb - self.mean) / self.std

    def forward(self, rgb: torch.Tensor) -> list[torch.Tensor]:
        x = self.preprocess(rgb)
        feats = []
        for name, _, _ in self.layers:
            x = F.relu(F.conv2d(x, getattr(self, f'{name}_weight'),
                                getattr(self, f'{name}_bias'), padding=1))
            if name in self.outputs:
                feats.append(x)
            if name in POOL_AFTER and name != self.layers[-1][0]:
                x = F.max_pool2d(x, 2, 2, ceil_mode=True)
        return feats
