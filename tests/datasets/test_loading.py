"""LoadFusionImages: channels, bit depths, the 16-bit IR rules, labels, depth, vis_is_clear."""
import numpy as np
import pytest

from mmhaze.datasets.transforms import LoadFusionImages
from mmhaze.datasets.transforms.loading import normalize_uint16


def record(tree, vis, ir, **extra):
    return dict(vis_path=str(vis), ir_path=str(ir), img_id='x', **extra)


def test_channels_dtypes_and_rgb_order(tree):
    rgb = tree.rgb(0)
    rgb[10:14, 10:14] = (255, 0, 0)  # pure red stays in channel 0 (RGB, not BGR)
    vis = tree.write(tree.root / 'v.png', rgb)
    ir = tree.write(tree.root / 'i.png', tree.grey(0))
    one = LoadFusionImages(ir_channels=1)(record(tree, vis, ir))
    assert one['vis'].shape == (32, 48, 3) and one['vis'].dtype == np.uint8
    np.testing.assert_array_equal(one['vis'][12, 12], [255, 0, 0])
    assert one['ir'].shape == (32, 48, 1) and one['ir'].dtype == np.uint8
    np.testing.assert_array_equal(one['ir'][..., 0], tree.grey(0))
    three = LoadFusionImages(ir_channels=3)(record(tree, vis, ir))
    assert three['ir'].shape == (32, 48, 3)
    np.testing.assert_array_equal(three['ir'][..., 2], tree.grey(0))
    assert one['img_shape'] == one['ori_shape'] == (32, 48)


def test_grey_stored_as_rgb_and_grey_visible(tree):
    g = tree.grey(1)
    vis = tree.write(tree.root / 'v.png', g)  # TNO visible images are grey
    ir = tree.write(tree.root / 'i.png', np.repeat(g[..., None], 3, 2))  # IR stored as RGB
    out = LoadFusionImages(ir_channels=1)(record(tree, vis, ir))
    assert out['vis'].shape == (32, 48, 3)
    np.testing.assert_array_equal(out['vis'][..., 1], g)
    np.testing.assert_array_equal(out['ir'][..., 0], g)


def test_colour_ir_is_converted_to_luminance(tree):
    vis = tree.write(tree.root / 'v.png', tree.rgb(0))
    pseudo = tree.rgb(3)
    ir = tree.write(tree.root / 'i.png', pseudo)
    out = LoadFusionImages(ir_channels=1)(record(tree, vis, ir))
    lum = 0.299 * pseudo[..., 0] + 0.587 * pseudo[..., 1] + 0.114 * pseudo[..., 2]
    assert np.abs(out['ir'][..., 0].astype(float) - lum).max() <= 1.0


def test_16bit_visible_and_clear_become_unit_floats(tree):
    rgb16 = (tree.rgb(0).astype(np.uint16) * 257)
    vis = tree.write(tree.root / 'v.png', rgb16)
    gt = tree.write(tree.root / 'gt.tiff', rgb16)
    ir = tree.write(tree.root / 'i.png', tree.grey(0))
    out = LoadFusionImages()(record(tree, vis, ir, gt_clear_path=str(gt)))
    for key in ('vis', 'gt_clear'):
        assert out[key].dtype == np.float32
        np.testing.assert_allclose(out[key], tree.rgb(0) / 255.0, atol=1e-6)


@pytest.mark.parametrize('rule, low, high', [
    ('full', 0, 65535), ('minmax', 7000, 9000), (dict(mode='fixed', low=6000, high=10000), 6000,
                                                 10000), (dict(mode='bits', bits=14), 0, 16383)])
def test_uint16_rules(rule, low, high):
    x = np.linspace(7000, 9000, 200).astype(np.uint16).reshape(10, 20)
    out = normalize_uint16(x, LoadFusionImages(uint16_norm=rule).uint16_rule, 'x.tiff')
    np.testing.assert_allclose(out, (x.astype(np.float32) - low) / (high - low), atol=1e-6)


def test_uint16_percentile_rule_clips_hot_pixels():
    x = np.full((10, 10), 8000, np.uint16)
    x[0] = np.arange(7000, 7010)  # the coldest 10 %
    x[1, :2] = 60000  # 2 % dead-hot pixels
    rule = LoadFusionImages(uint16_norm=dict(mode='percentile', low=5, high=97)).uint16_rule
    out = normalize_uint16(x, rule, 'x.tiff')
    lo = np.percentile(x.astype(np.float32), 5)
    np.testing.assert_allclose(out[0], np.clip((x[0] - lo) / (8000 - lo), 0, 1), atol=1e-6)
    assert float(out[5, 5]) == pytest.approx(1.0) and float(out[1, 0]) == 1.0  # bulk not crushed
    minmax = normalize_uint16(x, LoadFusionImages(uint16_norm='minmax').uint16_rule, 'x.tiff')
    assert float(minmax[5, 5]) == pytest.approx(1000 / 53000)  # what hot pixels do to min-max
    with pytest.raises(ValueError, match=r'exceeds 12 bits'):
        normalize_uint16(x, LoadFusionImages(uint16_norm=dict(mode='bits', bits=12)).uint16_rule,
                         'x.tiff')
    with pytest.raises(ValueError, match=r"uint16_norm mode 'fixd'"):
        LoadFusionImages(uint16_norm='fixd')
    with pytest.raises(ValueError, match=r"needs \['high'\]"):
        LoadFusionImages(uint16_norm=dict(mode='fixed', low=1))


def test_vis_is_clear_loads_visible_as_ground_truth(tree):
    vis = tree.write(tree.root / 'v.png', tree.rgb(0))
    ir = tree.write(tree.root / 'i.png', tree.grey(0))
    out = LoadFusionImages(vis_is_clear=True)(record(tree, vis, ir))
    np.testing.assert_array_equal(out['gt_clear'], out['vis'])
    assert out['gt_clear_path'] == str(vis)
    gt = tree.write(tree.root / 'gt.png', tree.rgb(1))
    with pytest.raises(ValueError, match='so its visible images are hazy already'):
        LoadFusionImages(vis_is_clear=True)(record(tree, vis, ir, gt_clear_path=str(gt)))


def test_depth_from_npy_and_16bit_png(tree):
    vis = tree.write(tree.root / 'v.png', tree.rgb(0))
    ir = tree.write(tree.root / 'i.png', tree.grey(0))
    depth = np.linspace(1, 60, 32 * 48, dtype=np.float32).reshape(32, 48)
    np.save(tree.root / 'd.npy', depth)
    out = LoadFusionImages()(record(tree, vis, ir, depth_path=str(tree.root / 'd.npy')))
    np.testing.assert_array_equal(out['depth'], depth)
    mm = tree.write(tree.root / "d.png", np.rint(depth * 1000).astype(np.uint16))
    out = LoadFusionImages(depth_scale=0.001)(record(tree, vis, ir, depth_path=str(mm)))
    np.testing.assert_allclose(out['depth'], depth, atol=1e-3)


def test_labels_keep_ignore_index(tree):
    vis = tree.write(tree.root / 'v.png', tree.rgb(0))
    ir = tree.write(tree.root / 'i.png', tree.grey(0))
    lab = tree.labels(0, num_classes=4)
    lab[0, :3] = 255
    seg = tree.write(tree.root / 's.png', lab)
    out = LoadFusionImages()(record(tree, vis, ir, seg_path=str(seg), seg_num_classes=4,
                                    seg_ignore_index=255))
    np.testing.assert_array_equal(out['gt_sem_seg'], lab)


def test_missing_record_keys_are_named():
    with pytest.raises(KeyError, match="no 'ir_path'"):
        LoadFusionImages()(dict(vis_path='a.png'))
    with pytest.raises(ValueError, match='ir_channels must be 1 or 3'):
        LoadFusionImages(ir_channels=2)
