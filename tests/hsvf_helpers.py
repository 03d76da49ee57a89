"""Tiny HSVF building blocks shared by the HSVF tests (importable as `hsvf_helpers`)."""
import copy

# An HRNet with every stage and branch of W18 but 4-8 channels and one block each.
TINY_HRNET = dict(
    stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK', num_blocks=(1, ),
                num_channels=(4, )),
    stage2=dict(num_modules=1, num_branches=2, block='BASIC', num_blocks=(1, 1),
                num_channels=(4, 8)),
    stage3=dict(num_modules=1, num_branches=3, block='BASIC', num_blocks=(1, 1, 1),
                num_channels=(4, 8, 8)),
    stage4=dict(num_modules=1, num_branches=4, block='BASIC', num_blocks=(1, 1, 1, 1),
                num_channels=(4, 8, 8, 8)))


def tiny_semantic(num_classes=None, modalities=('vis', 'nir'), style=True, **kw):
    """A SemanticAlignmentNetwork config with the tiny HRNet and 8-wide codes."""
    cfg = dict(
        type='SemanticAlignmentNetwork', modalities=modalities,
        content_encoder=dict(type='HRNetContentEncoder', out_channels=8,
                             backbone=dict(type='mmseg.HRNet', extra=copy.deepcopy(TINY_HRNET))),
        seg_head=dict(type='SegmentationHead', channels=8, num_convs=1),
        style_encoder=dict(type='StyleEncoder', base_channels=4, num_downsamples=3,
                           style_dim=4) if style else None,
        reconstruction_head=dict(type='AdaINReconstructionHead', channels=8, num_res_blocks=1,
                                 mlp_channels=8) if style else None, **kw)
    if num_classes is not None:
        cfg['num_classes'] = num_classes
    return cfg


def tiny_hsvf_cfg(repo_root):
    """The config of configs/hsvf/hsvf_tiny_synthetic.py (its model is what the tests build)."""
    from mmengine.config import Config
    return Config.fromfile(str(repo_root / 'configs/hsvf/hsvf_tiny_synthetic.py'))


def hsvf_batch(n=2, size=32, unpaired=False, seed=0):
    """``n`` synthetic VIS + NIR pairs with labels (and unpaired clear images), collated."""
    from mmengine.dataset import pseudo_collate

    from mmhaze.datasets import SyntheticFusionDataset
    ds = SyntheticFusionDataset(num_samples=n, img_size=size, seed=seed, modality='nir',
                                unpaired_clear=unpaired, pipeline=[dict(type='PackFusionInputs')])
    return pseudo_collate([ds[i] for i in range(n)])
