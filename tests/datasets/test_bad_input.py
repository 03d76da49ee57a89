"""The issue's bad inputs: each gives an error naming the file(s), or a documented warning."""
import re

import numpy as np
import pytest

from mmhaze.datasets import PairedFusionDataset
from mmhaze.datasets.transforms import ImageReadError, LoadFusionImages

PIPELINE = [dict(type='LoadFusionImages'), dict(type='PackFusionInputs')]


def generic(tree, n=2, name='ds'):
    root = tree.root / name
    for i in range(n):
        tree.pair(root / 'vis' / f'{i}.png', root / 'ir' / f'{i}.png', i)
    return root


def test_visible_without_ir_partner(tree):
    root = generic(tree)
    tree.write(root / 'vis' / 'lonely.png', tree.rgb(5))
    with pytest.raises(FileNotFoundError) as err:
        PairedFusionDataset(data_root=str(root))
    msg = str(err.value)
    assert '1 vis image(s) have no ir partner' in msg
    assert str(root / 'vis' / 'lonely.png') in msg and str(root / 'ir' / 'lonely.*') in msg


def test_ir_without_visible_partner(tree):
    root = generic(tree)
    tree.write(root / 'ir' / 'orphan.png', tree.grey(5))
    with pytest.raises(FileNotFoundError) as err:
        PairedFusionDataset(data_root=str(root))
    assert '1 ir image(s) have no vis partner' in str(err.value)
    assert str(root / 'ir' / 'orphan.png') in str(err.value)


def test_epfl_partner_message_names_the_suffixed_file(tree):
    root = tree.root / 'epfl'
    tree.pair(root / 'country' / '0001_rgb.tiff', root / 'country' / '0001_nir.tiff', 0)
    tree.write(root / 'water' / '0007_rgb.tiff', tree.rgb(0))
    with pytest.raises(FileNotFoundError, match=re.escape(str(root / 'water' / '0007_nir.*'))):
        PairedFusionDataset(data_root=str(root), layout='epfl_rgbnir')


def test_pairs_with_different_sizes(tree):
    root = generic(tree)
    tree.write(root / 'ir' / '1.png', tree.grey(1, size=(30, 48)))
    ds = PairedFusionDataset(data_root=str(root), pipeline=PIPELINE)
    ds[0]  # the good pair loads
    with pytest.raises(ValueError) as err:
        ds[1]
    msg = str(err.value)
    assert 'pair sizes differ: vis 48×32' in msg and 'ir 48×30' in msg
    assert str(root / 'vis' / '1.png') in msg and str(root / 'ir' / '1.png') in msg


def test_clear_and_labels_of_another_size(tree):
    root = generic(tree)
    tree.write(root / 'seg' / '0.png', tree.labels(0, size=(16, 16)))
    tree.write(root / 'seg' / '1.png', tree.labels(1))
    ds = PairedFusionDataset(data_root=str(root), pipeline=PIPELINE)
    with pytest.raises(ValueError, match=r'gt_sem_seg 16×16 .*seg/0.png'):
        ds[0]


@pytest.mark.parametrize('kind', ['garbage', 'truncated_png', 'truncated_jpg', 'truncated_tiff',
                                  'empty'])
def test_unreadable_or_truncated_file(tree, kind):
    root = generic(tree)
    if kind == 'garbage':
        bad = root / 'ir' / '1.png'
        bad.write_bytes(b'this is not a PNG at all')
    elif kind == 'truncated_png':
        bad = root / 'ir' / '1.png'
        bad.write_bytes(bad.read_bytes()[:300])
    elif kind == 'truncated_jpg':
        (root / 'vis' / '1.png').unlink()
        bad = tree.write(root / 'vis' / '1.jpg', tree.rgb(1, size=(64, 64)))
        tree.write(root / 'ir' / '1.png', tree.grey(1, size=(64, 64)))
        bad.write_bytes(bad.read_bytes()[:-200])
    elif kind == 'truncated_tiff':
        (root / 'ir' / '1.png').unlink()
        bad = tree.write(root / 'ir' / '1.tiff', tree.grey(1).astype(np.uint16) * 200)
        bad.write_bytes(bad.read_bytes()[:1000])
    else:
        bad = root / 'vis' / '1.png'
        bad.write_bytes(b'')
    ds = PairedFusionDataset(data_root=str(root), pipeline=PIPELINE)
    with pytest.raises(ImageReadError, match=re.escape(str(bad))):
        ds[1]


def test_empty_or_missing_folder(tree):
    root = tree.root / 'empty'
    (root / 'vis').mkdir(parents=True)
    (root / 'ir').mkdir()
    (root / 'vis' / 'notes.txt').write_text('not an image')
    with pytest.raises(FileNotFoundError, match=re.escape('no vis images (* with extension')):
        PairedFusionDataset(data_root=str(root))
    with pytest.raises(FileNotFoundError, match=re.escape(str(root / 'Vis'))):
        PairedFusionDataset(data_root=str(root), layout='m3fd')
    with pytest.raises(FileNotFoundError, match=r'clear folder not found: .*nothere'):
        PairedFusionDataset(data_root=str(generic(tree)), data_prefix=dict(clear='nothere'))


def test_seg_label_with_out_of_range_class_ids(tree):
    root = generic(tree)
    (root / 'classes.txt').write_text('a\nb\nc\n')
    for i in range(2):
        lab = tree.labels(i, num_classes=3)
        if i == 1:
            lab[5, 5], lab[6, 6] = 7, 255  # 7 is out of range; 255 is the ignore index
        tree.write(root / 'seg' / f'{i}.png', lab)
    ds = PairedFusionDataset(data_root=str(root), pipeline=PIPELINE)
    assert ds[0]['data_samples'].gt_sem_seg.data.max() < 3
    with pytest.raises(ValueError, match=re.escape(f'{root / "seg" / "1.png"}: label ids [7] are '
                                                   'out of range for 3 classes')):
        ds[1]
    unchecked = LoadFusionImages(check_labels=False)(ds.get_data_info(1))
    assert unchecked['gt_sem_seg'][5, 5] == 7


def test_colour_label_image(tree):
    root = generic(tree)
    for i in range(2):
        tree.write(root / 'seg' / f'{i}.png', tree.rgb(i))
    ds = PairedFusionDataset(data_root=str(root), pipeline=PIPELINE)
    with pytest.raises(ValueError, match=r'seg/0.png: a colour label image'):
        ds[0]


def test_four_channel_png(tree):
    root = generic(tree)
    rgba = np.concatenate([tree.rgb(0), np.full((32, 48, 1), 255, np.uint8)], axis=2)
    tree.write(root / 'vis' / '0.png', rgba)
    ds = PairedFusionDataset(data_root=str(root), pipeline=PIPELINE)
    with pytest.warns(UserWarning, match=re.escape(f'{root / "vis" / "0.png"}: 4-channel image '
                                                   'with an opaque alpha channel')):
        vis = ds[0]['inputs']['vis']
    assert vis.shape == (3, 32, 48)
    np.testing.assert_allclose(vis.permute(1, 2, 0).numpy() * 255, tree.rgb(0), atol=1e-3)
    rgba[0, 0, 3] = 0  # a transparent pixel: no safe way to use the colour
    tree.write(root / 'vis' / '0.png', rgba)
    with pytest.raises(ValueError, match=r'vis/0.png has transparent pixels'):
        ds[0]


def test_16bit_thermal_tiff_warns_and_is_normalised(tree):
    root = generic(tree)
    raw = (7000 + tree.grey(0).astype(np.uint16) * 8).astype(np.uint16)  # 14-bit-ish counts
    (root / 'ir' / '0.png').unlink()
    tree.write(root / 'ir' / '0.tiff', raw)
    ds = PairedFusionDataset(data_root=str(root), pipeline=PIPELINE)
    assert ds.get_data_info(0)['ir_path'].endswith('0.tiff')
    with pytest.warns(UserWarning, match=re.escape(f'16-bit IR image {root / "ir" / "0.tiff"}: '
                                                   "normalised to [0, 1] by the {'mode': "
                                                   "'percentile'")):
        ir = ds[0]['inputs']['ir'][0].numpy()
    lo, hi = np.percentile(raw.astype(np.float32), (1, 99))
    np.testing.assert_allclose(ir, np.clip((raw - lo) / (hi - lo), 0, 1), atol=1e-6)
    assert ir.min() == 0.0 and ir.max() == 1.0  # the full [0, 1] range, not 7000/65535


def test_two_files_with_one_stem(tree):
    root = generic(tree)
    tree.write(root / 'ir' / '0.jpg', tree.grey(0))
    with pytest.raises(ValueError, match=r"two ir files share the stem '0': .*0.jpg and .*0.png"):
        PairedFusionDataset(data_root=str(root))


def test_clear_missing_for_a_pair_and_extra_clear_file(tree):
    root = generic(tree)
    tree.write(root / 'clear' / '0.png', tree.rgb(0))
    with pytest.raises(FileNotFoundError, match=r'1 pair\(s\) have no clear file.*clear/1\.\*'):
        PairedFusionDataset(data_root=str(root))
    tree.write(root / 'clear' / '1.png', tree.rgb(1))
    tree.write(root / 'clear' / 'stray.png', tree.rgb(2))
    with pytest.warns(UserWarning, match=r'1 clear file\(s\) .* belong to no pair .*stray'):
        ds = PairedFusionDataset(data_root=str(root))
    assert len(ds) == 2


def test_nothing_is_written_into_the_source_folder(tree):
    tree.layout('msrs')
    root = tree.root / 'msrs'
    before = tree.snapshot(root)
    pipeline = [dict(type='LoadFusionImages', vis_is_clear=True),
                dict(type='PairedRandomCrop', crop_size=16),
                dict(type='SynthesizeHaze', preset='iassf_dense', seed=3),
                dict(type='PairedRandomFlip'), dict(type='PairedRandomRot90'),
                dict(type='PackFusionInputs')]
    for split in ('train', 'test'):
        ds = PairedFusionDataset(data_root=str(root), layout='msrs', split=split,
                                 pipeline=pipeline)
        for i in range(len(ds)):
            ds[i]
    assert tree.snapshot(root) == before


def test_a_missing_vnhd_folder_says_where_the_path_points_and_how_to_get_data(
        repo_root, tmp_path, monkeypatch, capsys):
    """The error for configs/hsvf/hsvf_vnhd.py came after ~770 lines and said neither that the
    path is relative to the current directory nor how to get data (VNHD is not public)."""
    from helpers import load_tool
    monkeypatch.chdir(tmp_path)
    rc = load_tool('train').main([str(repo_root / 'configs/hsvf/hsvf_vnhd.py'),
                                  '--work-dir', str(tmp_path / 'w')])
    assert rc == 2
    out = capsys.readouterr()
    assert out.err == (
        f"error: vis folder not found: data/VNHD/train/vis (layout 'vnhd', data_prefix.vis; "
        f'relative to the current directory {tmp_path}); VNHD is not public; `python '
        'tools/dataset_converters/make_synthetic.py DST --layout vnhd` writes a complete '
        'synthetic stand-in (train and test, with labels), then set data_root to DST\n')
    assert len(out.out.splitlines()) <= 3
