"""Every public-dataset base config validates and reads a fixture tree in its published layout."""
import pytest
import torch
from mmengine.dataset import pseudo_collate

from mmhaze.apis import check_config, load_config
from mmhaze.models.data_preprocessors import FusionDataPreprocessor
from mmhaze.registry import DATASETS

# config → the fixture layout it reads
CONFIGS = {
    'msrs': 'msrs', 'msrs_hazy': 'msrs', 'iassf_msrs': 'iassf', 'm3fd': 'm3fd',
    'roadscene': 'roadscene', 'tno': 'tno', 'vnhd': 'vnhd', 'epfl_rgbnir': 'epfl_rgbnir',
    'awfusion': 'awfusion',
}


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_dataset_config_builds_on_its_layout(tree, repo_root, name):
    cfg = load_config(str(repo_root / 'configs' / '_base_' / 'datasets' / f'{name}.py'))
    check_config(cfg)
    assert cfg.test_dataloader.dataset.data_root.startswith('data/')  # a placeholder
    tree.layout(CONFIGS[name], n=2)
    for phase in ('train', 'test'):
        loader = cfg.get(f'{phase}_dataloader')
        if loader is None:
            continue
        ds_cfg = loader.dataset.copy()
        ds_cfg['data_root'] = str(tree.root / CONFIGS[name])
        for step in ds_cfg['pipeline']:
            if step['type'] == 'PairedRandomCrop':
                step['crop_size'] = 16
        dataset = DATASETS.build(ds_cfg)
        assert len(dataset) == 2
        batch = pseudo_collate([dataset[i] for i in range(2)])
        out = FusionDataPreprocessor(pad_size_divisor=8)(batch)
        vis, ir = out['inputs']['vis'], out['inputs']['ir']
        side = (16, 16) if phase == 'train' else tree.SIZE
        assert vis.shape[-2:] == side and vis.shape[:2] == (2, 3)
        assert ir.shape[1] == (3 if name in ('msrs_hazy', 'iassf_msrs') else 1)
        assert torch.isfinite(vis).all() and 0 <= vis.min() and vis.max() <= 1
        samples = out['data_samples']
        if name == 'msrs_hazy':  # the haze is synthesised: clear reference and parameters
            assert all('gt_clear' in s and 'haze' in s for s in samples)
            assert all(0.15 - 5e-3 <= s.haze['mean_transmission'] <= 0.44 + 5e-3
                       for s in samples)
            if phase == 'test':
                assert all(s.haze['seed'] == cfg.test_haze_seed for s in samples)


def test_msrs_hazy_test_haze_is_fixed_between_runs(tree, repo_root):
    cfg = load_config(str(repo_root / 'configs' / '_base_' / 'datasets' / 'msrs_hazy.py'))
    tree.layout('msrs', n=2)
    ds_cfg = cfg.test_dataloader.dataset.copy()
    ds_cfg['data_root'] = str(tree.root / 'msrs')
    first = DATASETS.build(ds_cfg)[1]['inputs']['vis']
    second = DATASETS.build(ds_cfg)[1]['inputs']['vis']
    assert torch.equal(first, second)
