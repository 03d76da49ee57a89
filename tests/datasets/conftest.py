"""Fixture trees in each dataset's published layout, written into tmp_path (tiny images).

Every pair carries its identity in pixels: an 8×8 block at the top-left of both the visible and
the infrared image holds the value ``TreeBuilder.code(index)``, so a test can check that a
loaded pair was not mixed up (even through JPEG, which keeps flat 8×8 blocks almost exactly).
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Optional

import cv2
import numpy as np
import pytest


class TreeBuilder:
    """Writes images and whole published layouts under ``root``."""

    SIZE = (32, 48)  # H, W

    def __init__(self, root: Path):
        self.root = root

    @staticmethod
    def code(index: int) -> int:
        return 40 + 20 * index

    @staticmethod
    def snapshot(root: Path) -> dict[str, tuple]:
        """Every file under ``root`` with the hash of its bytes and its mtime."""
        out = {}
        for dirpath, _, files in os.walk(root):
            for name in files:
                p = Path(dirpath) / name
                out[str(p.relative_to(root))] = (hashlib.sha1(p.read_bytes()).hexdigest(),
                                                 p.stat().st_mtime_ns)
        return out

    # ------------------------------------------------------------------ single files
    @staticmethod
    def write(path: Path, img: np.ndarray) -> Path:
        """Write an RGB (H×W×3), RGBA, or grey array with OpenCV (any bit depth it takes)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        if img.ndim == 3 and img.shape[2] in (3, 4):
            order = [2, 1, 0] + ([3] if img.shape[2] == 4 else [])
            img = img[..., order]
        assert cv2.imwrite(str(path), np.ascontiguousarray(img)), path
        return path

    def rgb(self, index: int, size=None, seed: int = 0) -> np.ndarray:
        rng = np.random.default_rng([seed, index])
        img = rng.integers(0, 256, (*(size or self.SIZE), 3), dtype=np.uint8)
        img = cv2.GaussianBlur(img, (5, 5), 1.5)
        img[:8, :8] = self.code(index)
        return img

    def grey(self, index: int, size=None, seed: int = 1) -> np.ndarray:
        rng = np.random.default_rng([seed, index])
        img = cv2.GaussianBlur(rng.integers(0, 256, size or self.SIZE, dtype=np.uint8),
                               (5, 5), 1.5)
        img[:8, :8] = self.code(index)
        return img

    def labels(self, index: int, size=None, num_classes: int = 7) -> np.ndarray:
        rng = np.random.default_rng([2, index])
        return rng.integers(0, num_classes, size or self.SIZE, dtype=np.uint8)

    def pair(self, vis: Path, ir: Path, index: int, size=None, ir_as_rgb: bool = False,
             vis_grey: bool = False) -> None:
        g = self.grey(index, size)
        self.write(vis, np.repeat(g[..., None], 3, 2) if vis_grey else self.rgb(index, size))
        self.write(ir, np.repeat(g[..., None], 3, 2) if ir_as_rgb else g)

    # ------------------------------------------------------------------ published layouts
    def layout(self, name: str, root: Optional[Path] = None, n: int = 3,
               size=None) -> dict[str, list[str]]:
        """Write ``name``'s published layout under ``root``; returns {split: [stems]}."""
        root = root or self.root / name
        stems: dict[str, list[str]] = {}
        if name == 'msrs':
            for split, tag in (('train', 'D'), ('test', 'N')):
                stems[split] = [f'{i:05d}{tag}' for i in range(n)]
                for i, s in enumerate(stems[split]):
                    self.pair(root / split / 'vi' / f'{s}.png', root / split / 'ir' / f'{s}.png',
                              i, size)
                    self.write(root / split / 'Segmentation_labels' / f'{s}.png',
                               self.labels(i, size, 9))
        elif name == 'm3fd':
            stems[''] = [f'{i:05d}' for i in range(n)]
            for i, s in enumerate(stems['']):
                self.pair(root / 'Vis' / f'{s}.png', root / 'Ir' / f'{s}.png', i, size)
        elif name == 'roadscene':
            stems[''] = [f'FLIR_{i:05d}' for i in range(n)]
            for i, s in enumerate(stems['']):
                self.pair(root / 'crop_LR_visible' / f'{s}.jpg',
                          root / 'cropinfrared' / f'{s}.jpg', i, size)
            (root / 'cropinfrared' / 'Thumbs.db').write_bytes(b'junk')  # as published
        elif name == 'tno':
            stems[''] = [str(i + 1) for i in range(n)]
            for i, s in enumerate(stems['']):  # grey images stored as RGB
                self.pair(root / 'vi' / f'{s}.png', root / 'ir' / f'{s}.png', i, size,
                          ir_as_rgb=True, vis_grey=True)
        elif name == 'iassf':
            for split in ('train', 'test'):
                stems[split] = [f'{i:05d}N' for i in range(n)]
                for i, s in enumerate(stems[split]):
                    self.pair(root / split / 'hazy' / f'{s}.png',
                              root / split / 'IR' / f'{s}.png', i, size)
                    self.write(root / split / 'GT' / f'{s}.png', self.rgb(i, size, seed=5))
        elif name == 'awfusion':
            stems['haze'] = [str(i + 1) for i in range(n)]
            base = root / 'Test_haze'
            for i, s in enumerate(stems['haze']):
                self.pair(base / 'vi' / f'{s}.png', base / 'ir' / f'{s}.png', i, size)
                self.write(base / 'gt_ir' / f'{s}.png', self.grey(i, size, seed=7))
            for i, s in enumerate(stems['haze'][:-1]):  # the last pair has no clean GT
                self.write(base / 'gt_vi' / f'{s}.png', self.rgb(i, size, seed=5))
            self.write(base / 'gt_vi' / '99.png', self.rgb(9, size, seed=5))  # an extra
        elif name == 'epfl_rgbnir':
            stems[''] = []
            for i in range(n):
                category, ext = ('country', 'tiff') if i % 2 == 0 else ('field', 'jpg')
                stems[''].append(f'{category}/{i:04d}')
                self.pair(root / category / f'{i:04d}_rgb.{ext}',
                          root / category / f'{i:04d}_nir.{ext}', i, size)
        elif name == 'vnhd':
            for split in ('train', 'test'):
                stems[split] = [f'scene_{i:03d}' for i in range(n)]
                for i, s in enumerate(stems[split]):
                    self.pair(root / split / 'vis' / f'{s}.png',
                              root / split / 'nir' / f'{s}.png', i, size)
                    self.write(root / split / 'seg' / f'{s}.png', self.labels(i, size, 7))
            for i in range(2):
                self.write(root / 'clear_unpaired' / f'clear_{i}.png',
                           self.rgb(i, (40, 40), seed=9))
        elif name == 'generic':
            for split in ('train', 'test'):
                stems[split] = [f'img{i}' for i in range(n)]
                for i, s in enumerate(stems[split]):
                    self.pair(root / split / 'vis' / f'{s}.png',
                              root / split / 'ir' / f'{s}.png', i, size)
                    self.write(root / split / 'clear' / f'{s}.png', self.rgb(i, size, seed=5))
                    self.write(root / split / 'seg' / f'{s}.png', self.labels(i, size, 7))
        else:
            raise KeyError(name)
        return stems


@pytest.fixture
def tree(tmp_path) -> TreeBuilder:
    """Builds fixture files and published layouts under this test's tmp_path."""
    return TreeBuilder(tmp_path)
