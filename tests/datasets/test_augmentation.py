"""Paired crop / flip / rot90 / pad / resize: one draw, applied identically to every modality."""
import numpy as np
import pytest

from mmhaze.datasets.transforms import (
    PadToMultiple,
    PairedRandomCrop,
    PairedRandomFlip,
    PairedRandomRot90,
    ResizeToMultiple,
)

H, W = 24, 40


def coordinate_pair() -> dict:
    """Modalities that all encode the pixel position, so any misalignment shows."""
    rows, cols = np.mgrid[0:H, 0:W]
    index = (rows * W + cols).astype(np.float32)
    vis = np.stack([rows, cols, np.zeros_like(rows)], -1).astype(np.uint8)
    return dict(
        vis=vis, ir=cols.astype(np.uint8)[..., None], gt_clear=vis.copy(),
        depth=index, transmission=index / index.max(),
        gt_sem_seg=((rows + cols) % 7).astype(np.uint8), img_shape=(H, W), vis_path='v.png')


def assert_aligned(r: dict) -> None:
    """Every modality still describes the same source pixel at each output pixel."""
    rows, cols = r['vis'][..., 0].astype(int), r['vis'][..., 1].astype(int)
    np.testing.assert_array_equal(r['ir'][..., 0], cols)
    np.testing.assert_array_equal(r['gt_clear'], r['vis'])
    np.testing.assert_array_equal(r['depth'], rows * W + cols)
    np.testing.assert_array_equal(r['gt_sem_seg'], (rows + cols) % 7)
    assert r['img_shape'] == r['vis'].shape[:2]


def test_crop_is_one_window_for_all():
    np.random.seed(0)
    seen = set()
    for _ in range(20):
        r = PairedRandomCrop(crop_size=(8, 16))(coordinate_pair())
        assert r['vis'].shape == (8, 16, 3) and r['ir'].shape == (8, 16, 1)
        assert r['gt_sem_seg'].shape == (8, 16) and r['depth'].shape == (8, 16)
        assert_aligned(r)
        x0, y0, x1, y1 = r['crop_bbox']
        assert (r['vis'][0, 0, 0], r['vis'][0, 0, 1]) == (y0, x0) and (x1 - x0, y1 - y0) == (16, 8)
        seen.add((x0, y0))
    assert len(seen) > 10  # offsets are random


def test_crop_larger_than_image_errors_or_pads():
    with pytest.raises(ValueError, match=r'v.png: 40×24 is smaller than crop_size 32×32'):
        PairedRandomCrop(crop_size=32)(coordinate_pair())
    r = PairedRandomCrop(crop_size=32, pad_if_needed=True)(coordinate_pair())
    assert r['vis'].shape == (32, 32, 3) and r['ir'].shape == (32, 32, 1)
    if r['crop_bbox'][1] + 32 > H:  # padded label rows carry the ignore index
        assert (r['gt_sem_seg'][H - r['crop_bbox'][1]:] == 255).all()


@pytest.mark.parametrize('direction', ['horizontal', 'vertical', 'diagonal'])
def test_flip_moves_every_modality_together(direction):
    r = PairedRandomFlip(prob=1.0, direction=direction)(coordinate_pair())
    assert r['flip'] and r['flip_direction'] == direction
    assert_aligned(r)
    corner = {'horizontal': (0, W - 1), 'vertical': (H - 1, 0), 'diagonal': (H - 1, W - 1)}
    assert tuple(r['vis'][0, 0, :2]) == corner[direction]


def test_flip_probability():
    np.random.seed(1)
    flips = [PairedRandomFlip(prob=0.3)(coordinate_pair())['flip'] for _ in range(400)]
    assert 0.24 < np.mean(flips) < 0.36
    r = PairedRandomFlip(prob=0.0)(coordinate_pair())
    assert not r['flip'] and r['vis'][0, 0, 1] == 0
    with pytest.raises(ValueError, match='direction must be in'):
        PairedRandomFlip(direction='sideways')


def test_rot90_turns_every_modality_and_is_uniform_at_075():
    np.random.seed(2)
    counts = np.zeros(4)
    for _ in range(400):
        r = PairedRandomRot90(prob=0.75)(coordinate_pair())
        counts[r['rot90']] += 1
        assert_aligned(r)
        assert r['vis'].shape[:2] == ((H, W) if r['rot90'] % 2 == 0 else (W, H))
    assert (np.abs(counts / 400 - 0.25) < 0.06).all(), counts
    r = PairedRandomRot90(prob=1.0)
    np.random.seed(3)
    out = r(coordinate_pair())
    assert out['rot90'] in (1, 2, 3)


def test_pad_to_multiple_keeps_content_and_pads_labels_with_ignore():
    r = PadToMultiple(divisor=16)(coordinate_pair())
    assert r['vis'].shape == (32, 48, 3) and r['ir'].shape == (32, 48, 1)
    assert r['pipeline_padding'] == (8, 8)
    np.testing.assert_array_equal(r['vis'][:H, :W], coordinate_pair()['vis'])
    assert (r['gt_sem_seg'][H:] == 255).all() and (r['gt_sem_seg'][:, W:] == 255).all()
    # Reflect padding mirrors the last rows.
    np.testing.assert_array_equal(r['depth'][H, :W], coordinate_pair()['depth'][H - 2])
    assert PadToMultiple(divisor=8)(coordinate_pair())['vis'].shape == (24, 40, 3)


@pytest.mark.parametrize('rounding, shape', [('nearest', (32, 48)), ('floor', (16, 32)),
                                             ('ceil', (32, 48))])
def test_resize_to_multiple(rounding, shape):
    r = ResizeToMultiple(divisor=16, rounding=rounding)(coordinate_pair())
    assert r['vis'].shape == (*shape, 3) and r['ir'].shape == (*shape, 1)
    assert r['gt_sem_seg'].shape == shape and r['depth'].shape == shape
    assert set(np.unique(r['gt_sem_seg'])) <= set(range(7))  # nearest: no blended label ids
    assert r['scale_factor'] == (shape[1] / W, shape[0] / H)


def test_full_training_chain_stays_aligned():
    np.random.seed(4)
    chain = [PairedRandomCrop(16), PairedRandomFlip(0.5, ['horizontal', 'vertical']),
             PairedRandomRot90(0.75)]
    for _ in range(30):
        r = coordinate_pair()
        for t in chain:
            r = t(r)
        assert_aligned(r)
