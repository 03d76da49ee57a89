"""PairedFusionDataset on fixture trees in every published layout, through the preprocessor."""
import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate

from mmhaze.datasets import LAYOUTS, PairedFusionDataset, get_layout
from mmhaze.datasets.layouts import MSRS_CLASSES
from mmhaze.datasets.paired_dataset import natural_key
from mmhaze.models.data_preprocessors import FusionDataPreprocessor

PIPELINE = [dict(type='LoadFusionImages', ir_channels=1), dict(type='PackFusionInputs')]

# preset → (split to read, modalities every record must have)
CASES = {
    'msrs': ('train', {'seg_path'}),
    'm3fd': (None, set()),
    'roadscene': (None, set()),
    'tno': (None, set()),
    'iassf': ('test', {'gt_clear_path'}),
    'awfusion': (None, set()),  # gt_vi is partial: checked separately
    'epfl_rgbnir': (None, set()),
    'vnhd': ('train', {'seg_path', 'unpaired_clear_path'}),
    'generic': ('train', {'gt_clear_path', 'seg_path'}),
}


def test_every_preset_is_covered():
    assert set(CASES) == set(LAYOUTS)


@pytest.mark.parametrize('name', sorted(CASES))
def test_preset_reads_published_layout(tree, name):
    stems = tree.layout(name, n=3)
    split, extra_keys = CASES[name]
    written = stems[split if split else next(iter(stems))]
    expected = sorted(written, key=natural_key)
    ds = PairedFusionDataset(data_root=str(tree.root / name), layout=name, split=split,
                             pipeline=PIPELINE)
    assert len(ds) == 3
    assert [ds.get_data_info(i)['img_id'] for i in range(3)] == expected
    layout = get_layout(name)
    for i in range(3):
        info = ds.get_data_info(i)
        assert extra_keys <= set(info), (name, sorted(info))
        stem = info['img_id'].split('/')[-1]
        for key in ('vis', 'ir'):  # each file sits in its modality's folder, by its stem
            tmpl = layout.filename_tmpl.get(key, '{}')
            assert info[f'{key}_path'].rsplit('.', 1)[0].endswith(tmpl.format(stem))
        assert info['dataset_name'] == name
    # Load a batch through the pipeline and the preprocessor.
    batch = pseudo_collate([ds[i] for i in range(3)])
    out = FusionDataPreprocessor(pad_size_divisor=16, ir_channels=1)(batch)
    h, w = tree.SIZE
    assert out['inputs']['vis'].shape == (3, 3, 32, 48)
    assert out['inputs']['ir'].shape == (3, 1, 32, 48)
    for key in ('vis', 'ir'):
        x = out['inputs'][key]
        assert x.dtype == torch.float32 and 0.0 <= float(x.min()) and float(x.max()) <= 1.0
    for i, sample in enumerate(out['data_samples']):
        # The identity block of the visible image and of its IR partner is the same pair's.
        assert sample.img_id == expected[i]
        want = tree.code(written.index(sample.img_id)) / 255.0
        assert abs(float(sample.vis.data[:, 2:6, 2:6].mean()) - want) < 3 / 255, name
        assert abs(float(sample.ir.data[:, 2:6, 2:6].mean()) - want) < 3 / 255, name
        assert sample.img_shape == (h, w)


def test_msrs_labels_and_classes(tree):
    tree.layout('msrs')
    ds = PairedFusionDataset(data_root=str(tree.root / 'msrs'), layout='msrs', split='test',
                             pipeline=PIPELINE)
    assert ds.metainfo['classes'] == MSRS_CLASSES
    assert ds.metainfo['split'] == 'test' and ds.metainfo['layout'] == 'msrs'
    sample = ds[1]['data_samples']
    assert sample.gt_sem_seg.data.dtype == torch.int64
    np.testing.assert_array_equal(sample.gt_sem_seg.data[0].numpy(),
                                  tree.labels(1, num_classes=9))


def test_layout_without_split_folders_ignores_split(tree):
    stems = tree.layout('m3fd', n=2)
    ds = PairedFusionDataset(data_root=str(tree.root / 'm3fd'), layout='m3fd', split='test')
    assert [ds.get_data_info(i)['img_id'] for i in range(2)] == stems['']
    assert ds.metainfo['split'] == 'test'


def test_split_follows_test_mode_when_not_given(tree):
    stems = tree.layout('msrs')
    train = PairedFusionDataset(data_root=str(tree.root / 'msrs'), layout='msrs')
    test = PairedFusionDataset(data_root=str(tree.root / 'msrs'), layout='msrs', test_mode=True)
    assert train.get_data_info(0)['img_id'] == stems['train'][0]
    assert test.get_data_info(0)['img_id'] == stems['test'][0]
    with pytest.raises(ValueError, match=r"splits \['train', 'test'\], got split='val'"):
        PairedFusionDataset(data_root=str(tree.root / 'msrs'), layout='msrs', split='val')


def test_awfusion_partial_clear_and_extra_gt(tree):
    tree.layout('awfusion')
    # gt_vi is partial by design (clean images for some pairs, plus extras): no complaint.
    ds = PairedFusionDataset(data_root=str(tree.root / 'awfusion'), layout='awfusion',
                             pipeline=PIPELINE)
    has_gt = ['gt_clear_path' in ds.get_data_info(i) for i in range(3)]
    assert has_gt == [True, True, False]
    assert 'gt_clear' in ds[0]['data_samples'] and 'gt_clear' not in ds[2]['data_samples']


def test_epfl_recursive_stems_and_mixed_extensions(tree):
    tree.layout('epfl_rgbnir', n=4)
    ds = PairedFusionDataset(data_root=str(tree.root / 'epfl_rgbnir'), layout='epfl_rgbnir')
    ids = [ds.get_data_info(i)['img_id'] for i in range(len(ds))]
    assert ids == ['country/0000', 'country/0002', 'field/0001', 'field/0003']
    info = ds.get_data_info(2)
    assert info['vis_path'].endswith('field/0001_rgb.jpg')
    assert info['ir_path'].endswith('field/0001_nir.jpg')
    only_jpg = PairedFusionDataset(data_root=str(tree.root / 'epfl_rgbnir'),
                                   layout='epfl_rgbnir', extensions=['jpg'])
    assert len(only_jpg) == 2


def test_vnhd_unpaired_clear_is_training_only_and_seeded(tree):
    tree.layout('vnhd', n=3)
    root = str(tree.root / 'vnhd')
    a = PairedFusionDataset(data_root=root, layout='vnhd', split='train', pipeline=PIPELINE)
    b = PairedFusionDataset(data_root=root, layout='vnhd', split='train', unpaired_seed=0)
    paths = [a.get_data_info(i)['unpaired_clear_path'] for i in range(3)]
    assert paths == [b.get_data_info(i)['unpaired_clear_path'] for i in range(3)]
    assert len(set(paths)) == 2 and paths[0] == paths[2]  # 2 images dealt round-robin
    results = a.pipeline(a.get_data_info(0))
    assert results['data_samples'].img_id == 'scene_000'
    test = PairedFusionDataset(data_root=root, layout='vnhd', split='test', test_mode=True)
    assert 'unpaired_clear_path' not in test.get_data_info(0)
    assert len(test.metainfo['classes']) == 7


def test_classes_file_and_user_metainfo(tree):
    tree.layout('generic')
    root = tree.root / 'generic'
    (root / 'classes.txt').write_text('# names\nsky\nroad\n\nperson\n')
    ds = PairedFusionDataset(data_root=str(root), split='train')
    assert ds.metainfo['classes'] == ('sky', 'road', 'person')
    assert ds.get_data_info(0)['seg_num_classes'] == 3
    assert ds.metainfo['dataset_name'] == 'generic'
    named = PairedFusionDataset(data_root=str(root), split='train', dataset_name='mine',
                                metainfo=dict(classes=('a',) * 7))
    assert named.metainfo['dataset_name'] == 'mine' and len(named.metainfo['classes']) == 7


def test_ann_file_selects_and_orders_pairs(tree):
    tree.layout('m3fd', n=4)
    root = tree.root / 'm3fd'
    (root / 'split.txt').write_text('00003\n# a comment\n00001\n')
    ds = PairedFusionDataset(data_root=str(root), layout='m3fd', ann_file='split.txt')
    assert [ds.get_data_info(i)['img_id'] for i in range(len(ds))] == ['00003', '00001']
    (root / 'bad.txt').write_text('00001\n00042\n')
    with pytest.raises(FileNotFoundError, match=r'bad.txt line 2: no vis image for .00042'):
        PairedFusionDataset(data_root=str(root), layout='m3fd', ann_file='bad.txt')


def test_data_prefix_and_filename_tmpl_for_renamed_files(tree):
    # Original TNO naming: IR1.bmp / VIS1.bmp in one folder.
    root = tree.root / 'tno_raw'
    for i in range(3):
        tree.pair(root / f'VIS{i + 1}.bmp', root / f'IR{i + 1}.bmp', i)
    ds = PairedFusionDataset(data_root=str(root), layout='tno', data_prefix=dict(vis='', ir=''),
                             filename_tmpl=dict(vis='VIS{}', ir='IR{}'), pipeline=PIPELINE)
    assert [ds.get_data_info(i)['img_id'] for i in range(3)] == ['1', '2', '3']
    assert abs(float(ds[2]['inputs']['ir'][0, 3, 3]) - tree.code(2) / 255) < 1e-6


def test_natural_order_and_switching_a_modality_off(tree):
    root = tree.root / 'nat'
    for i, stem in enumerate(['10', '2', '1']):
        tree.pair(root / 'vis' / f'{stem}.png', root / 'ir' / f'{stem}.png', i)
        tree.write(root / 'seg' / f'{stem}.png', tree.labels(i))
    ds = PairedFusionDataset(data_root=str(root))
    assert [ds.get_data_info(i)['img_id'] for i in range(3)] == ['1', '2', '10']
    assert 'seg_path' in ds.get_data_info(0)
    off = PairedFusionDataset(data_root=str(root), data_prefix=dict(seg=None))
    assert 'seg_path' not in off.get_data_info(0)


def test_layout_given_as_dict(tree):
    root = tree.root / 'custom'
    for i in range(2):
        tree.pair(root / 'a' / f'x{i}_v.png', root / 'b' / f'x{i}_t.png', i)
    ds = PairedFusionDataset(data_root=str(root), layout=dict(
        name='mycam', folders=dict(vis='a', ir='b'), filename_tmpl=dict(vis='{}_v', ir='{}_t')))
    assert [ds.get_data_info(i)['img_id'] for i in range(2)] == ['x0', 'x1']
    assert ds.metainfo['dataset_name'] == 'mycam'
    with pytest.raises(ValueError, match="unknown fields \\['folder'\\]"):
        get_layout(dict(folder=dict(vis='a')))


def test_unknown_names_get_suggestions(tree):
    with pytest.raises(ValueError, match="did you mean 'roadscene'"):
        PairedFusionDataset(data_root=str(tree.root), layout='roadscen')
    with pytest.raises(ValueError, match=r"data_prefix has unknown modalities \['nir'\]"):
        PairedFusionDataset(data_root=str(tree.root), data_prefix=dict(nir='x'))
    with pytest.raises(ValueError, match=r"filename_tmpl\['ir'\]='IR'"):
        PairedFusionDataset(data_root=str(tree.root), filename_tmpl=dict(ir='IR'))


def test_serialized_and_lazy(tree):
    tree.layout('iassf')
    root = str(tree.root / 'iassf')
    lazy = PairedFusionDataset(data_root=root, layout='iassf', split='train', lazy_init=True)
    assert not lazy._fully_initialized
    lazy.full_init()
    plain = PairedFusionDataset(data_root=root, layout='iassf', split='train',
                                serialize_data=False)
    assert lazy.serialize_data and lazy.data_bytes.size > 0
    assert lazy.get_data_info(1) == plain.get_data_info(1)
