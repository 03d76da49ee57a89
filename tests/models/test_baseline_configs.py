"""Every config of configs/{dehazeformer,u2fusion,two_stage} and of the model zoo
(configs/{seafusion,ifcnn,sdnet,densefuse,tardal,lrrnet,sage,didfuse}/, the TF1 releases
configs/{stdfusionnet,pmgi,csf,cufd}/, configs/{gifnet,caf,ydtr}/ and the released dehazers
configs/{aodnet,lightdehazenet,gcanet}/) builds its model and runs one train step (one per
training stage) and one test step.

A released network's config (``*_release_*.py``) without losses is tested as released, its
network frozen; its train step trains that network, unfrozen, on an L1 loss — of the fused image
to the visible one (a fuser), of the dehazed image to the clear one (a dehazer alone): every
released network is shown to train (gradients reach all its parameters, batch norms in training
mode).

The datasets are not needed: the model gets synthetic 32 px batches. Pretrained slots are built
but not loaded (``init_cfg`` loading is tested through tools/test.py); U2Fusion's loss reads a
random VGG-16 written here (the real weights cannot be downloaded). DehazeFormer-S/B/M/L are
built as configured, then stepped with two blocks per stage (their widths, mixers and attention
kept): their exact parameter counts are tested in test_dehazeformer_dehazer.py, and 32–80 blocks
cost up to a minute a step on a loaded 2-core CI machine.
"""
from pathlib import Path

import pytest
import torch
from helpers import REPO_ROOT, write_random_vgg
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper

from mmhaze.apis.config_check import check_config
from mmhaze.datasets import SyntheticFusionDataset
from mmhaze.registry import MODELS

# Zoo fusers with configs of their own; the first four also in two-stage configs/two_stage/.
TWO_STAGE_ZOO = ('seafusion', 'ifcnn', 'sdnet', 'densefuse')
# Release configs only (the frozen fuser behind a dehazer: tests/models/test_zoo_fusers.py).
TF1_ZOO = ('stdfusionnet', 'pmgi', 'csf', 'cufd')
ZOO = TWO_STAGE_ZOO + ('tardal', 'lrrnet', 'sage', 'didfuse') + TF1_ZOO + ('gifnet', 'caf',
                                                                            'ydtr')
# Parts a released fuser computes with but the fused image's L1 loss cannot reach: CSF's
# classifier only supplies detached saliency gradients (its own training is a classification
# objective of the release's first stage). YDTR's attention has 1×1 windows: its softmax is over one
# token, so the relative-position bias is read but cannot change the output (zero gradient).
UNREACHED_BY_FUSED_LOSS = {
    'csf': ('fuser.classifier.',),
    'ydtr': tuple(f'fuser.transformer.blocks.{i}.attn.relative_position_bias_table'
                  for i in range(2))}
# Released dehazers: alone, and in front of SeAFusion and U2Fusion in configs/two_stage/.
ZOO_DEHAZERS = ('aodnet', 'lightdehazenet', 'gcanet')
FOLDERS = ('dehazeformer', 'u2fusion', 'two_stage') + ZOO + ZOO_DEHAZERS
CONFIGS = sorted(str(p.relative_to(REPO_ROOT / 'configs'))
                 for folder in FOLDERS for p in (REPO_ROOT / 'configs' / folder).glob('[!_]*.py'))
EXPECTED = {
    'dehazeformer': {f'dehazeformer-{v}_msrs-hazy.py' for v in 'tsbml'} |
                    {'dehazeformer-t_synthetic.py'},
    'u2fusion': {'u2fusion_release_tno.py', 'u2fusion_release_roadscene.py',
                 'u2fusion_vis-ir_roadscene.py'},
    'two_stage': {'dehazeformer-s_u2fusion_msrs.py', 'dehazeformer-s_u2fusion_m3fd-test.py',
                  'dehazeformer-s_u2fusion_roadscene-test.py', 'dcp_average_synthetic.py',
                  'dcp_laplacian_synthetic.py', 'dcp_u2fusion_synthetic.py',
                  'dcp_average_roadscene-test.py', 'dcp_laplacian_roadscene-test.py',
                  'dcp_u2fusion_roadscene-test.py', 'dehazeformer-t_u2fusion_synthetic.py',
                  'dehazeformer-tiny_u2fusion-tiny_staged_synthetic.py'} |
                 {f'{d}_{m}_roadscene-test.py' for d in ('dcp', 'dehazeformer-s')
                  for m in TWO_STAGE_ZOO} |
                 {f'{d}_{m}_roadscene-test.py' for d in ZOO_DEHAZERS
                  for m in ('seafusion', 'u2fusion')},
    **{m: {f'{m}_release_tno.py', f'{m}_release_roadscene.py'} for m in ZOO},
    **{d: {f'{d}_release_synthetic.py', f'{d}_release_roadscene-hazy.py'} for d in ZOO_DEHAZERS},
    'seafusion': {'seafusion_release_tno.py', 'seafusion_release_roadscene.py',
                  'seafusion_content_msrs.py'},
    'didfuse': {'didfuse_release_tno.py', 'didfuse_release_roadscene.py',
                'didfuse_release_epfl-rgbnir.py'},
}
# The train step of a released network's config (it has no losses; see the docstring): the
# loss of the released fuser, else of the released dehazer.
RELEASE_TRAINING = dict(losses=dict(fusion=dict(type='L1Loss', pred='fused', target='vis')),
                        optim_wrapper=dict(optimizer=dict(type='Adam', lr=1e-3)))
RELEASE_DEHAZER_LOSSES = dict(dehaze=dict(type='L1Loss', pred='dehazed', target='gt_clear'))


@pytest.fixture(scope='module')
def vgg_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp('vgg') / 'vgg16_random.pth'
    write_random_vgg(path)
    return path


def test_the_expected_configs_exist_with_readme_and_metafile():
    for folder, names in EXPECTED.items():
        present = {p.name for p in (REPO_ROOT / 'configs' / folder).glob('[!_]*.py')}
        assert names <= present, names - present
        assert (REPO_ROOT / 'configs' / folder / 'README.md').is_file()
        assert (REPO_ROOT / 'configs' / folder / 'metafile.yml').is_file()


def _is_release(name: str, model: dict) -> bool:
    return '_release_' in name and not model.get('losses')


def _model_cfg(cfg: Config, vgg: Path, release: bool = False) -> dict:
    model = cfg.model.to_dict()
    for slot in ('dehazer', 'fuser'):
        if isinstance(model.get(slot), dict):
            model[slot].pop('init_cfg', None)
    if release:
        slot = 'fuser' if model.get('fuser') else 'dehazer'
        model[slot].pop('frozen', None)
        model['losses'] = (RELEASE_TRAINING['losses'] if slot == 'fuser'
                           else RELEASE_DEHAZER_LOSSES)
    for loss in (model.get('losses') or {}).values():
        if loss and loss.get('type') == 'U2FusionLoss':
            loss.update(vgg_weights=str(vgg), vgg_input_size=32)
    return model


def _batch(n=2, size=32, seed=0):
    ds = SyntheticFusionDataset(num_samples=n, img_size=size, seed=seed,
                                pipeline=[dict(type='PackFusionInputs')])
    return pseudo_collate([ds[i] for i in range(n)])


@pytest.mark.parametrize('name', CONFIGS)
def test_config_builds_and_runs_a_train_and_a_test_step(name, vgg_file):
    cfg = Config.fromfile(REPO_ROOT / 'configs' / name)
    check_config(cfg)
    torch.manual_seed(0)
    release = _is_release(name, cfg.model)
    model_cfg = _model_cfg(cfg, vgg_file, release)
    model = MODELS.build(model_cfg)
    dehazer = model_cfg.get('dehazer') or {}
    if dehazer.get('type') == 'DehazeFormer' and dehazer.get('arch') in ('s', 'b', 'm', 'l'):
        assert sum(p.numel() for p in model.parameters()) > 1_000_000
        dehazer['depths'] = (2, 2, 2, 2, 2)
        model = MODELS.build(model_cfg)
    if model.losses:
        wrapper = build_optim_wrapper(
            model, RELEASE_TRAINING['optim_wrapper'] if release else cfg.optim_wrapper)
        before = {k: p.detach().clone() for k, p in model.named_parameters() if p.requires_grad}
        for index in range(len(model.stages)) if model.stages else [None]:
            model.set_stage(index)
            model.train()
            log = model.train_step(_batch(seed=1 if index is None else index), wrapper)
            assert log and all(torch.isfinite(v) for v in log.values()), log
        if release:  # every trainable tensor of the released network took a step
            unreached = UNREACHED_BY_FUSED_LOSS.get(name.split('/')[0], ())
            still = [k for k, v in before.items() if torch.equal(v, model.state_dict()[k])
                     and not k.startswith(unreached)]
            assert before and not still, (name, still)
    model.eval()
    with torch.no_grad():
        samples = model.test_step(_batch(2, 31))
    assert len(samples) == 2
    for sample in samples:
        preds = [f for f in ('pred_dehazed', 'pred_fused') if f in sample]
        assert preds
        for field in preds:
            data = getattr(sample, field).data
            assert data.shape == (3, 31, 31) and 0 <= data.min() and data.max() <= 1
