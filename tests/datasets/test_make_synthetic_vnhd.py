"""make_synthetic.py --layout vnhd writes a complete VNHD-style folder that HSVF's VNHD config
reads as a user would point it there (train_dataloader.dataset.data_root=...)."""
import copy

import numpy as np
import torch
from hsvf_helpers import tiny_hsvf_cfg
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

from mmhaze.engine.optimizers import MultiOptimWrapperConstructor
from mmhaze.registry import DATASETS, MODELS


def test_vnhd_layout_from_make_synthetic_trains_hsvf(tmp_path, tool, repo_root):
    dst = tmp_path / 'vnhd'
    assert tool('dataset_converters/make_synthetic').main(
        [str(dst), '--layout', 'vnhd', '--num-train', '3', '--num-test', '2', '--size', '48',
         '--quiet']) == 0
    for split, n in (('train', 3), ('test', 2)):
        for folder in ('vis', 'nir', 'seg'):
            assert len(list((dst / split / folder).glob('*.png'))) == n, (split, folder)
    assert len(list((dst / 'clear_unpaired').glob('*.png'))) == 3
    assert len(list((dst / 'test' / 'clear').glob('*.png'))) == 2
    assert not (dst / 'train' / 'clear').exists()  # no paired clear image for training
    assert (dst / 'classes.txt').read_text().split()[:3] == ['sky', 'building', 'vegetation']

    cfg = Config.fromfile(str(repo_root / 'configs/hsvf/hsvf_vnhd.py'))
    cfg.merge_from_dict({'train_dataloader.dataset.data_root': str(dst),
                         'train_dataloader.dataset.pipeline.1.crop_size': 32,
                         'train_dataloader.dataset.pipeline.3.crop_size': 32})
    train = DATASETS.build(cfg.train_dataloader.dataset)
    item = train[0]
    sample = item['data_samples']
    assert item['inputs']['vis'].shape == (3, 32, 32) and item['inputs']['ir'].shape == (1, 32, 32)
    assert sample.unpaired_clear.shape == (32, 32)
    assert sample.gt_sem_seg.shape == (32, 32) and int(sample.gt_sem_seg.data.max()) < 7
    assert 'clear_unpaired' in sample.unpaired_clear_path
    # The unpaired clear images come from other scenes than the training pairs.
    paired = {p.name for p in (dst / 'train' / 'vis').glob('*.png')}
    assert not paired & {p.name for p in (dst / 'clear_unpaired').glob('*.png')}

    test_cfg = copy.deepcopy(cfg.test_dataloader.dataset)
    test_cfg.update(data_root=str(dst), data_prefix=dict(clear='{split}/clear'))
    test = DATASETS.build(test_cfg)
    assert len(test) == 2 and 'gt_clear' in test[0]['data_samples']
    assert 'unpaired_clear' not in test[0]['data_samples']

    # One training step of the (tiny) model on what the folder gives.
    tiny = tiny_hsvf_cfg(repo_root)
    torch.manual_seed(0)
    model = MODELS.build(tiny.model)
    options = copy.deepcopy(dict(tiny.optim_wrapper))
    options.pop('constructor')
    optim = MultiOptimWrapperConstructor(options)(model)
    model.train()
    model.set_stage(3)
    logs = model.train_step(pseudo_collate([train[0], train[1]]), optim)
    assert np.isfinite([v.item() for v in logs.values()]).all()
    assert {'loss_sr_adv_disc', 'loss_seg_nir', 'loss_semantic_reconstruction'} <= set(logs)
