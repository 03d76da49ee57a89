"""SavePredictionsHook(run_images=True) — ``tools/test.py --save-images``: every image of a pair
into the run folder, HSVF's O_VF included, as the model computes it; and the test tool's flag on
a training-free pipeline."""
import copy
import json
from types import SimpleNamespace

import cv2
import numpy as np
import torch
from hsvf_helpers import hsvf_batch, tiny_hsvf_cfg

from mmhaze.engine.hooks import SavePredictionsHook
from mmhaze.registry import MODELS
from mmhaze.visualization import to_rgb_uint8


def _read(path):
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert image is not None, path
    return image[..., ::-1] if image.ndim == 3 else image


def test_hsvf_pairs_and_intermediates_are_written_as_the_model_computes_them(tmp_path,
                                                                              repo_root):
    from mmhaze.datasets import SyntheticFusionDataset
    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(tiny_hsvf_cfg(repo_root).model)).eval()
    batch = hsvf_batch(2, 32)
    dataset = SyntheticFusionDataset(num_samples=2, img_size=32, modality='nir')
    runner = SimpleNamespace(model=model, log_dir=str(tmp_path),
                             test_loop=SimpleNamespace(dataloader=SimpleNamespace(
                                 dataset=dataset)))
    hook = SavePredictionsHook(run_images=True)
    hook.before_test(runner)
    with torch.no_grad():
        outputs = model.test_step(batch)
    hook.after_test_iter(runner, 0, batch, outputs)
    hook.after_test(runner)

    folder = tmp_path / 'images' / 'synthetic_nir'
    fields = {'vis', 'ir', 'gt_clear', 'pred_dehazed', 'pred_fused', 'gt_sem_seg',
              'pred_sem_seg', 'visual_fused'}
    assert {p.name for p in folder.iterdir()} == fields
    stems = [s.metainfo['img_id'] for s in outputs]
    for field in fields:
        assert sorted(p.stem for p in (folder / field).iterdir()) == sorted(stems)
    # predictions and sources: the pixels a PNG of the sample holds; labels: the class ids
    for sample in outputs:
        stem = sample.metainfo['img_id']
        for field in ('vis', 'pred_dehazed', 'pred_fused'):
            np.testing.assert_array_equal(_read(folder / field / f'{stem}.png'),
                                          to_rgb_uint8(getattr(sample, field).data))
        np.testing.assert_array_equal(_read(folder / 'pred_sem_seg' / f'{stem}.png'),
                                      sample.pred_sem_seg.data[0].numpy())
    # O_VF: the visual stream's output of the same pair, un-padded, in [0, 1]
    with torch.no_grad():
        data = model.data_preprocessor(batch, False)
        out = model.forward_networks(data['inputs'], model.batch_fields(
            data['inputs'], data['data_samples']), None)
        o_vf = model.data_preprocessor.destruct(out['visual_fused'], data['data_samples'])
    for stem, image in zip(stems, o_vf):
        np.testing.assert_array_equal(_read(folder / 'visual_fused' / f'{stem}.png'),
                                      to_rgb_uint8(image))
    assert not np.array_equal(_read(folder / 'visual_fused' / f'{stems[0]}.png'),
                              _read(folder / 'pred_fused' / f'{stems[0]}.png'))
    meta = json.loads((tmp_path / 'images' / 'meta.json').read_text())
    assert meta['model'] == 'HSVF' and meta['intermediates'] == ['visual_fused']
    assert meta['datasets']['synthetic_nir']['classes'] == list(dataset.metainfo['classes'])
    assert meta['datasets']['synthetic_nir']['palette'][0] == list(dataset.metainfo['palette'][0])


def test_test_tool_saves_images_into_the_run_folder(tmp_path, repo_root, tool):
    config = repo_root / 'configs/two_stage/dcp_average_synthetic.py'
    assert tool('test').main([str(config), '--work-dir', str(tmp_path), '--save-images',
                              '--cfg-options', 'test_dataloader.dataset.num_samples=2',
                              'test_dataloader.num_workers=0',
                              'test_dataloader.persistent_workers=False']) == 0
    run = next(p for p in tmp_path.iterdir() if p.is_dir())
    folder = run / 'images' / 'synthetic'
    assert {p.name for p in folder.iterdir()} == {'vis', 'ir', 'gt_clear', 'gt_sem_seg',
                                                  'pred_dehazed', 'pred_fused'}
    stems = {line.split(',')[2] for line in (run / 'per_image.csv').read_text().splitlines()[1:]}
    assert {p.stem for p in (folder / 'pred_fused').iterdir()} == stems and len(stems) == 2
    assert _read(next((folder / 'vis').iterdir())).shape == (64, 64, 3)
    meta = json.loads((run / 'images' / 'meta.json').read_text())
    assert meta['model'] == 'TwoStageDehazeFuse' and meta['intermediates'] == []
