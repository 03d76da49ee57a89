"""make_synthetic / make_hazy converters and the browse / speed-benchmark tools, run in-process."""
import json

import numpy as np
import pytest

from mmhaze.datasets import PairedFusionDataset, fit_scattering_model
from mmhaze.datasets.converters import make_hazy_copy, prepare_output_dir

PIPELINE = [dict(type='LoadFusionImages'), dict(type='PackFusionInputs')]


def test_make_synthetic_writes_a_generic_file_dataset(tmp_path, tool):
    dst = tmp_path / 'syn'
    assert tool('dataset_converters/make_synthetic').main(
        [str(dst), '--num-train', '3', '--num-test', '2', '--size', '32', '48', '--quiet']) == 0
    for split, n in (('train', 3), ('test', 2)):
        for folder in ('vis', 'ir', 'clear', 'seg', 'depth'):
            assert len(list((dst / split / folder).iterdir())) == n, (split, folder)
    ds = PairedFusionDataset(data_root=str(dst), split='train', pipeline=PIPELINE)
    assert len(ds) == 3 and len(ds.metainfo['classes']) == 7
    sample = ds[0]['data_samples']
    assert sample.vis.data.shape == (3, 32, 48) and sample.ir.data.shape == (1, 32, 48)
    assert 'gt_clear' in sample and int(sample.gt_sem_seg.data.max()) < 7
    # The written pair is the one the generator renders (8-bit), haze parameters included.
    from mmhaze.datasets import SyntheticFusionDataset
    info = SyntheticFusionDataset(num_samples=3, img_size=(32, 48), seed=0).get_data_info(0)
    np.testing.assert_allclose(sample.vis.data.permute(1, 2, 0).numpy() * 255, info['vis'],
                               atol=1e-3)
    params = json.loads((dst / 'haze_params.json').read_text())
    assert params['splits']['train'][info['img_id']]['beta'] == pytest.approx(info['haze']['beta'])
    depth = np.load(dst / 'train' / 'depth' / f'{info["img_id"]}.npy')
    np.testing.assert_array_equal(depth, info['depth'])


def test_make_hazy_writes_the_iassf_layout_deterministically(tree, tool):
    tree.layout('msrs', n=2)
    src = tree.root / 'msrs'
    before = tree.snapshot(src)
    make_hazy = tool('dataset_converters/make_hazy')
    args = ['--layout', 'msrs', '--preset', 'iassf_dense', '--seed', '3', '--quiet']
    assert make_hazy.main([str(src), str(tree.root / 'a'), *args]) == 0
    assert make_hazy.main([str(src), str(tree.root / 'b'), *args]) == 0
    assert tree.snapshot(src) == before  # the source is only read
    a = {k: v[0] for k, v in tree.snapshot(tree.root / 'a').items()}
    b = {k: v[0] for k, v in tree.snapshot(tree.root / 'b').items()}
    assert a == b  # byte-identical for one seed
    assert {k.split('/')[1] for k in a if '/' in k} == {'hazy', 'GT', 'IR', 'seg'}
    # GT and IR are byte copies of the source files.
    assert a['test/GT/00001N.png'] == before['test/vi/00001N.png'][0]
    assert a['test/IR/00001N.png'] == before['test/ir/00001N.png'][0]

    ds = PairedFusionDataset(data_root=str(tree.root / 'a'), layout='iassf', split='test',
                             pipeline=PIPELINE)
    assert [ds.get_data_info(i)['img_id'] for i in range(2)] == ['00000N', '00001N']
    params = json.loads((tree.root / 'a' / 'haze_params.json').read_text())
    assert params['preset'] == 'iassf_dense' and params['seed'] == 3
    for i in range(2):
        sample = ds[i]['data_samples']
        meta = params['splits']['test'][sample.img_id]
        fit = fit_scattering_model(sample.gt_clear.data.permute(1, 2, 0).numpy(),
                                   sample.vis.data.permute(1, 2, 0).numpy())
        assert fit['airlight'] == pytest.approx(meta['airlight'][0], abs=0.02)
        assert fit['mean_transmission'] == pytest.approx(meta['mean_transmission'], abs=0.02)
    other = make_hazy_copy(str(src), str(tree.root / 'c'), layout='msrs', seed=4)
    assert other['splits']['test']['00000N'] != params['splits']['test']['00000N']


def test_make_hazy_refuses_unsafe_destinations(tree, tool, capsys):
    tree.layout('m3fd', n=2)
    src = tree.root / 'm3fd'
    make_hazy = tool('dataset_converters/make_hazy')
    assert make_hazy.main([str(src), str(src / 'hazy_copy'), '--layout', 'm3fd', '--quiet']) == 2
    assert capsys.readouterr().err == (
        f'error: output folder {src / "hazy_copy"} is inside source dataset {src}, which this '
        'run reads; mmhaze never writes into its inputs: choose an output outside it\n')
    # A destination holding the source is refused too (make_hazy fills it with its folders).
    assert make_hazy.main([str(src / 'Vis'), str(src), '--quiet']) == 2
    assert f'error: output folder {src} holds source dataset {src / "Vis"}' in (
        capsys.readouterr().err)
    assert not (src / 'hazy_copy').exists()
    dst = tree.root / 'out'
    dst.mkdir()
    (dst / 'keep.txt').write_text('mine')
    assert make_hazy.main([str(src), str(dst), '--layout', 'm3fd', '--quiet']) == 2
    assert 'is not empty; pass --overwrite' in capsys.readouterr().err
    assert make_hazy.main([str(src), str(dst), '--layout', 'm3fd', '--quiet', '--overwrite',
                           '--preset', 'uniform', '--haze-options', 'beta=0.5']) == 0
    assert (dst / 'keep.txt').read_text() == 'mine'
    params = json.loads((dst / 'haze_params.json').read_text())
    assert params['splits']['test']['00000']['beta'] == pytest.approx(0.5)  # out_split 'test'
    with pytest.raises(ValueError, match='holds source dataset'):
        prepare_output_dir(str(tree.root), sources=[str(src)])  # DST holding the source


def test_make_hazy_with_workers_matches_serial(tree):
    tree.layout('generic', n=3)
    src = str(tree.root / 'generic')
    serial = make_hazy_copy(src, str(tree.root / 's'), splits=['train'], seed=1)
    pooled = make_hazy_copy(src, str(tree.root / 'p'), splits=['train'], seed=1, workers=2)
    assert serial['splits'] == pooled['splits']
    s = {k: v[0] for k, v in tree.snapshot(tree.root / 's').items() if k.endswith('.png')}
    p = {k: v[0] for k, v in tree.snapshot(tree.root / 'p').items() if k.endswith('.png')}
    assert s == p and len(s) == 12  # hazy, GT, IR, seg × 3


def test_browse_dataset_writes_grids(tree, tool, tmp_path):
    tree.layout('msrs', n=2)
    out = tmp_path / 'browse'
    rc = tool('analysis_tools/browse_dataset').main([
        'configs/_base_/datasets/msrs_hazy.py', '--output-dir', str(out), '--num', '2',
        '--cfg-options', f'train_dataloader.dataset.data_root={tree.root / "msrs"}',
        'train_dataloader.dataset.pipeline.1.crop_size=16'])
    assert rc == 0
    index = json.loads((out / 'index.json').read_text())
    assert [e['file'] for e in index] == ['0000_00000D.png', '0001_00001D.png']
    assert index[0]['panels'] == ['vis', 'ir', 'gt_clear', 'gt_sem_seg']
    assert index[0]['haze']['preset'] == 'iassf_dense'
    import cv2
    grid = cv2.imread(str(out / index[0]['file']))
    assert grid.shape == (16, 4 * 16, 3)  # hazy | ir | clear | labels
    assert tool('analysis_tools/browse_dataset').main([
        'configs/_base_/datasets/msrs_hazy.py', '--output-dir', str(out)]) == 2  # not empty


def test_benchmark_data_pipeline_reports_a_rate(tree, tool, capsys):
    tree.layout('msrs', n=2)
    rc = tool('analysis_tools/benchmark_data_pipeline').main([
        'configs/_base_/datasets/msrs_hazy.py', '--num-workers', '0', '--batch-size', '2',
        '--batches', '3', '--warmup', '1', '--cfg-options',
        f'train_dataloader.dataset.data_root={tree.root / "msrs"}',
        'train_dataloader.dataset.pipeline.1.crop_size=16'])
    assert rc == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith('train pipeline: 6 samples in') and 'samples/s' in line
    assert float(line.split('=')[1].split()[0]) > 0


def test_make_hazy_split_names_never_leave_the_output_folder(tree, tool, capsys):
    """`--out-split ../src` wrote 9 files into SRC and `--out-split /elsewhere/test` overwrote
    files there, both with exit 0 (issue 11, item 2)."""
    tree.layout('m3fd', n=2)
    src = tree.root / 'm3fd'
    before = tree.snapshot(tree.root)
    elsewhere = tree.root / 'elsewhere' / 'test' / 'hazy' / '00000.png'
    elsewhere.parent.mkdir(parents=True)
    elsewhere.write_bytes(b'mine')
    make_hazy = tool('dataset_converters/make_hazy')
    for split in ('../m3fd', str(elsewhere.parents[1]), '..', 'a/b', ''):
        rc = make_hazy.main([str(src), str(tree.root / 'out'), '--layout', 'm3fd', '--quiet',
                             '--out-split', split])
        assert rc == 2, split
        assert capsys.readouterr().err == (
            f"error: out_split (--out-split) {split!r} is not a split name: it names one folder "
            "inside the output folder (no '/', '\\', '.' or '..'), e.g. 'test'\n")
    assert elsewhere.read_bytes() == b'mine'
    after = tree.snapshot(tree.root)
    assert {k: v for k, v in after.items() if not k.startswith('elsewhere')} == before
    assert not (tree.root / 'out').exists()  # refused before anything was written
    # The checks run on the final folder: a split folder linking outside DST is refused.
    dst = tree.root / 'linked'
    dst.mkdir()
    (dst / 'test').symlink_to(elsewhere.parents[1])
    with pytest.raises(ValueError, match=r'split folder .*linked/test resolves to .*elsewhere/test'
                                         r', outside the output folder'):
        make_hazy_copy(str(src), str(dst), layout='m3fd', overwrite=True)
    assert elsewhere.read_bytes() == b'mine'
