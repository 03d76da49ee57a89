"""The model zoo's released fusers and dehazers as the tests see them (importable as
`zoo_helpers`): each method's network, released weight files, published images and parameter
count, its converter, and the ways the tests build a release model, read a pair and compare with
a published image."""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from helpers import REPO_ROOT, load_tool

# method → (network, released weights (a file or the files in the converter's order),
# published TNO images in tno_anchor's layout or None, parameters: learnable, no BN statistics)
ZOO = {
    'seafusion': ('SeAFusionNet', 'zoo/seafusion/SeAFusion.pth', 'tno_anchor/fused', 166_657),
    'ifcnn': ('IFCNN', 'zoo/ifcnn/IFCNN-MAX.pth', 'tno_anchor/ifcnn_published', 83_587),
    'sdnet': ('SDNet', 'zoo/sdnet/sdnet_tf_weights.npz', 'tno_anchor/sdnet_published', 28_705),
    'densefuse': ('DenseFuse', 'zoo/densefuse/densefuse_tf_weights.npz',
                  'tno_anchor/densefuse_published', 74_193),
    'tardal': ('TarDAL', 'zoo/tardal/tardal++.pt', None, 296_577),
    'lrrnet': ('LRRNet',
               'zoo/lrrnet/final_lrr_net_lam2_1.5_wir_3.0_lam3_gram_2000_epoch_4_block_4.model',
               None, 49_204),
    'sage': ('SAGE', 'zoo/sage/checkpoints.pt', None, 135_617),
    'didfuse': ('DIDFuse', ('zoo/didfuse/Encoder_weight_IJCAI.pkl',
                            'zoo/didfuse/Decoder_weight_IJCAI.pkl'), None, 260_935),
    # the jiayi-ma checkpoint made the published results (its own pairs: test_zoo_tf1_fusers)
    'stdfusionnet': ('STDFusionNet',
                     'zoo/stdfusionnet/jiayi-ma/stdfusionnet_jiayima_tf_weights.npz', None,
                     282_513),
    # convs 41,633 + normalisation γ/β 384 (the checkpoint's 384 moving statistics: unused)
    'pmgi': ('PMGI', 'zoo/pmgi/pmgi_tf_weights.npz', 'zoo/pmgi/published', 42_017),
    'csf': ('CSF', ('zoo/csf/csf_ED_tf_weights.npz', 'zoo/csf/csf_EC_tf_weights.npz'), None,
            185_327),
    'cufd': ('CUFD', ('zoo/cufd/cufd_1part1_tf_weights.npz',
                      'zoo/cufd/cufd_part2_tf_weights.npz'), None, 955_297),
    # their own published pairs and official-code crops: test_zoo_recent_fusers
    'gifnet': ('GIFNet', 'zoo/gifnet/Final.model', None, 822_780),
    # Det_final.pth made the published results (Seg_final.pth: the same network, other weights)
    'caf': ('CAF', 'zoo/caf/Det_final.pth', None, 148_321),
    'ydtr': ('YDTR', 'zoo/ydtr/model_10.pth', None, 217_770),
}
# The released dehazers (tests/models/test_zoo_dehazers.py): method → (network, released
# weights, parameters, the rounding of the release's saved 8-bit image).
DEHAZERS = {
    'aodnet': ('AODNet', 'zoo/aodnet/dehazer.pth', 1_761, 'truncate'),
    'lightdehazenet': ('LightDehazeNet', 'zoo/lightdehazenet/trained_LDNet.pth', 30_187,
                       'half_up'),
    'gcanet': ('GCANet', 'zoo/gcanet/wacv_gcanet_dehaze.pth', 702_818, 'half_even'),
}
CONVERTERS = {m: load_tool(f'model_converters/{m}_official_to_mmhaze') for m in (*ZOO, *DEHAZERS)}
#: Official-code outputs on crops (tests/fixtures/zoo/README.md).
OFFICIAL_FIXTURES = Path(__file__).resolve().parent / 'fixtures' / 'zoo'
TINY_DEHAZER = dict(type='DehazeFormer', arch='t', embed_dims=(8, 16, 16, 16, 8),
                    depths=(1, 1, 1, 1, 1), num_heads=(1, 2, 2, 1, 1), window_size=4)


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def weight_files(method: str) -> tuple[str, ...]:
    """The release's weight files, relative to the shared data folder."""
    weights = (ZOO[method] if method in ZOO else DEHAZERS[method])[1]
    return (weights,) if isinstance(weights, str) else weights


def convert_release(method: str, shared_data: Path) -> dict[str, torch.Tensor]:
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # the converters' notices (tested on their own)
        return CONVERTERS[method].convert(*(str(shared_data / w) for w in weight_files(method)))


def release_model(config: str, method: str, shared_data: Optional[Path],
                  **overrides) -> torch.nn.Module:
    """The config's model (``model`` keys replaced by ``overrides``) with the converted release
    weights (None: the networks as initialised), in eval mode."""
    from mmengine.config import Config

    from mmhaze.registry import MODELS
    cfg = Config.fromfile(REPO_ROOT / f'configs/{method}/{config}')
    model_cfg = cfg.model.to_dict()
    for slot in ('dehazer', 'fuser'):
        if model_cfg.get(slot):
            model_cfg[slot].pop('init_cfg', None)
    model = MODELS.build(dict(model_cfg, **overrides))
    if shared_data is not None:
        model.load_state_dict(convert_release(method, shared_data), strict=True)
    return model.eval()


def config_test_pipeline(config: str, method: str):
    """The test pipeline (load, pack) of ``configs/<method>/<config>``, as a callable."""
    from mmengine.config import Config
    from mmengine.dataset import Compose
    cfg = Config.fromfile(REPO_ROOT / f'configs/{method}/{config}')
    return Compose(cfg.test_dataloader.dataset.pipeline)


def tno_samples(shared_data: Path) -> list:
    """The three tno_anchor pairs as packed test samples."""
    from mmhaze.registry import DATASETS
    dataset = DATASETS.build(dict(
        type='PairedFusionDataset', data_root=str(shared_data / 'tno_anchor'), layout='tno',
        test_mode=True,
        pipeline=[dict(type='LoadFusionImages', ir_channels=1), dict(type='PackFusionInputs')]))
    assert len(dataset) == 3
    return [dataset[i] for i in range(3)]


def pair_sample(root: Path, vis: np.ndarray, ir: np.ndarray, stem: str = 'pair') -> dict:
    """A packed test sample of the two 8-bit images (written as PNGs in the tno layout and
    read back by the dataset, as any file would be)."""
    from PIL import Image

    from mmhaze.registry import DATASETS
    for folder, image in (('vi', vis), ('ir', ir)):
        (root / folder).mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(root / folder / f'{stem}.png')
    dataset = DATASETS.build(dict(
        type='PairedFusionDataset', data_root=str(root), layout='tno', test_mode=True,
        pipeline=[dict(type='LoadFusionImages', ir_channels=1), dict(type='PackFusionInputs')]))
    return dataset[0]


def read_image(path: Path) -> np.ndarray:
    from PIL import Image
    return np.array(Image.open(path))


def _grey_levels(fused: torch.Tensor, published: np.ndarray) -> np.ndarray:
    pred = torch.round(fused * 255).to(torch.int64).numpy()
    pub = published.astype(np.int64)
    pub = np.repeat(pub[None], 3, 0) if pub.ndim == 2 else pub.transpose(2, 0, 1)
    return np.abs(pred - pub)


def compare_with_published(fused: torch.Tensor, published: np.ndarray) -> tuple[int, float]:
    """(max grey-level difference, fraction of differing values) of a 3×H×W prediction."""
    diff = _grey_levels(fused, published)
    return int(diff.max()), float((diff > 0).mean())


def compare_pixels(fused: torch.Tensor, published: np.ndarray) -> tuple[int, float]:
    """(max grey-level difference, fraction of pixels differing in any channel) of a 3×H×W
    prediction against an 8-bit gray or RGB image."""
    diff = _grey_levels(fused, published)
    return int(diff.max()), float((diff.max(0) > 0).mean())
