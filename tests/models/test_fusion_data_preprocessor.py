import pytest
import torch

from mmhaze.models.data_preprocessors import FusionDataPreprocessor, InputSizeError, pad_to
from mmhaze.structures import FusionDataSample


def _batch(sizes, ir_channels=1):
    vis, ir, samples = [], [], []
    for i, (h, w) in enumerate(sizes):
        v = torch.rand(3, h, w)
        r = torch.rand(ir_channels, h, w)
        s = FusionDataSample(metainfo=dict(img_id=str(i)))
        s.vis, s.ir, s.gt_clear = v, r, v.clone()
        vis.append(v)
        ir.append(r)
        samples.append(s)
    return dict(inputs=dict(vis=vis, ir=ir), data_samples=samples)


def test_pad_to_multiple_with_mixed_sizes_and_exact_crop_back():
    pre = FusionDataPreprocessor(pad_size_divisor=8)
    data = _batch([(13, 21), (17, 9)])
    out = pre(data)
    assert out['inputs']['vis'].shape == (2, 3, 24, 24)
    assert out['inputs']['ir'].shape == (2, 1, 24, 24)
    s0, s1 = out['data_samples']
    assert s0.img_shape == (13, 21) and s0.pad_shape == (24, 24)
    assert s1.padding_size == (0, 7, 0, 15)
    # destruct crops each prediction back to its own size, bit-exact
    restored = pre.destruct(out['inputs']['vis'], out['data_samples'])
    assert torch.equal(restored[0], data['inputs']['vis'][0])
    assert torch.equal(restored[1], data['inputs']['vis'][1])
    # reflect padding mirrors the border (row 13 equals row 11)
    assert torch.equal(out['inputs']['vis'][0, :, 13, :21], data['inputs']['vis'][0][:, 11])


def test_minus_one_one_range_and_targets():
    pre = FusionDataPreprocessor(input_range=(-1, 1), pad_size_divisor=4)
    data = _batch([(6, 6)])
    out = pre(data)
    x = out['inputs']['vis']
    assert x.min() >= -1 and x.max() <= 1
    assert torch.allclose((x[0, :, :6, :6] + 1) / 2, data['inputs']['vis'][0])
    gt = pre.stack_targets(out['data_samples'], 'gt_clear', x)
    assert torch.allclose(gt, x)  # gt_clear is a copy of vis here
    back = pre.destruct(x * 3, out['data_samples'])[0]  # out-of-range predictions are clamped
    assert back.min() >= 0 and back.max() <= 1
    with pytest.raises(KeyError, match="no 'gt_sem_seg'"):
        pre.stack_targets(out['data_samples'], 'gt_sem_seg', x)


def test_label_targets_pad_with_ignore_index():
    pre = FusionDataPreprocessor(pad_size_divisor=4)
    data = _batch([(5, 6)])
    data['data_samples'][0].gt_sem_seg = torch.ones(1, 5, 6, dtype=torch.long)
    out = pre(data)
    seg = pre.stack_targets(out['data_samples'], 'gt_sem_seg', out['inputs']['vis'])
    assert seg.shape == (1, 1, 8, 8) and seg.dtype == torch.long
    assert seg[0, 0, :5, :6].eq(1).all() and seg[0, 0, 5:].eq(255).all()


def test_single_channel_ir_replicated_with_one_warning():
    pre = FusionDataPreprocessor(ir_channels=3)
    with pytest.warns(UserWarning, match='ir has 1 channel'):
        out = pre(_batch([(4, 4)]))
    assert out['inputs']['ir'].shape == (1, 3, 4, 4)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        pre(_batch([(4, 4)]))  # no second warning


def test_pad_to_handles_pads_larger_than_the_image():
    x = torch.arange(6.).reshape(1, 1, 2, 3)
    y = pad_to(x, 9, 10)
    assert y.shape == (1, 1, 9, 10)
    assert torch.equal(y[..., :2, :3], x)
    one_px = pad_to(torch.ones(1, 1, 8), 4, 4)  # 1-pixel-high image: replicate fallback
    assert one_px.shape == (1, 4, 4) and one_px.eq(1).all()


def test_bad_arguments():
    with pytest.raises(ValueError, match='input_range'):
        FusionDataPreprocessor(input_range=(1, 0))
    with pytest.raises(ValueError, match='pad_mode'):
        FusionDataPreprocessor(pad_mode='wrap')


# ------------------------------------------------------------ the model's minimum input size
@pytest.mark.parametrize('minimum, divisor, smallest', [(9, 1, 9), (9, 4, 9), (8, 4, 5),
                                                        (9, 8, 9), (9, 16, 1)])
def test_the_smallest_image_is_the_one_padding_brings_to_the_minimum(minimum, divisor,
                                                                      smallest):
    pre = FusionDataPreprocessor(pad_size_divisor=divisor)
    pre.require_min_size(minimum, 'M')
    assert pre.min_image_size == smallest
    pre(_batch([(smallest, smallest)]))  # accepted
    if smallest > 1:
        with pytest.raises(InputSizeError):
            pre(_batch([(smallest, smallest - 1)]))


def test_a_too_small_image_is_refused_naming_it_before_the_model_runs():
    pre = FusionDataPreprocessor(pad_size_divisor=4)
    pre.require_min_size(8, 'IASSF')
    data = _batch([(32, 32), (4, 9)])  # refused even in a batch it would be padded with
    data['data_samples'][1].set_metainfo(dict(vis_path='data/vis/small.png'))
    with pytest.raises(InputSizeError) as err:
        pre(data)
    assert str(err.value) == (
        'data/vis/small.png is 9×4 px (W×H): IASSF needs at least 5 px per side (min_input_size '
        '8, reached by padding to a multiple of 4); enlarge or remove the image, or reflect-pad '
        'it up and crop the outputs back with pad_small=True in model.data_preprocessor '
        '(tools/test.py --cfg-options +model.data_preprocessor.pad_small=True; tools/infer.py '
        '--pad-small)')
    pre.require_min_size(9, 'IASSF')
    with pytest.raises(InputSizeError, match=r"^image '0' is 9×7 px \(W×H\): IASSF needs at "
                                             r'least 9 px per side \(min_input_size\); '):
        pre(_batch([(7, 9)]))  # arrays have no path: the image id names them


def test_pad_small_reflect_pads_up_to_the_minimum_and_crops_back():
    pre = FusionDataPreprocessor(pad_size_divisor=4, pad_small=True)
    pre.require_min_size(9, 'IASSF')
    data = _batch([(5, 7), (3, 10)])
    out = pre(data)
    assert out['inputs']['vis'].shape == (2, 3, 12, 12)  # 9 → a multiple of 4
    assert out['data_samples'][0].padding_size == (0, 7, 0, 5)
    restored = pre.destruct(out['inputs']['vis'], out['data_samples'])
    assert torch.equal(restored[1], data['inputs']['vis'][1])
    # An image already large enough is padded only as before.
    assert pre(_batch([(13, 21)]))['inputs']['vis'].shape == (1, 3, 16, 24)
