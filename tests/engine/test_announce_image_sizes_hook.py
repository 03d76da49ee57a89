"""AnnounceImageSizesHook: the test loop tells the metric compile rule its image sizes."""
import numpy as np
from helpers import BASELINE_CONFIG as BASELINE
from mmengine.config import Config
from PIL import Image

from mmhaze.datasets import PairedFusionDataset
from mmhaze.engine.hooks import loader_image_sizes
from mmhaze.evaluation.functional import compiled


def _synthetic_loader(seed, num, size):
    return dict(batch_size=1, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
                dataset=dict(type='SyntheticFusionDataset', num_samples=num, img_size=size,
                             seed=seed, modality='thermal', test_mode=True,
                             pipeline=[dict(type='PackFusionInputs')]))


def test_paired_dataset_sizes_come_from_the_headers(tmp_path):
    sizes = {'a': (20, 30), 'b': (24, 16), 'c': (20, 30)}
    for folder in ('vis', 'ir'):
        (tmp_path / folder).mkdir()
        for stem, (h, w) in sizes.items():
            Image.fromarray(np.zeros((h, w), np.uint8)).save(tmp_path / folder / f'{stem}.png')
    ds = PairedFusionDataset(data_root=str(tmp_path), layout='generic', test_mode=True,
                             pipeline=[])
    assert [ds.image_size(i) for i in range(3)] == [(20, 30), (24, 16), (20, 30)]
    # the sampler's indices (this rank's share), in its order
    loader = type('Loader', (), dict(dataset=ds, sampler=[2, 1]))()
    assert loader_image_sizes(loader) == [(20, 30), (24, 16)]
    (tmp_path / 'vis' / 'b.png').write_bytes(b'not an image')  # unknown size: left out
    assert loader_image_sizes(loader) == [(20, 30)]


def test_test_loop_announces_every_dataset(tmp_path, repo_root):
    from mmhaze.apis import build_runner
    from mmhaze.apis.testing import prepare_test
    cfg = Config.fromfile(str(repo_root / BASELINE))
    cfg.work_dir = str(tmp_path)
    cfg.model.network.channels = 8
    cfg.model.network.dilations = [1, 2]
    cfg.visualizer.vis_backends = []
    cfg.test_dataloader = [_synthetic_loader(1000, 2, 32), _synthetic_loader(2000, 3, (24, 40))]
    cfg.test_evaluator = [[dict(type='FusionMetric', metrics=['EN'], prefix=p)] for p in 'ab']
    cfg.test_cfg = dict(type='MultiTestLoop')
    prepare_test(cfg, None)
    prepare_test(cfg, None)  # added once
    assert [h['type'] for h in cfg.custom_hooks].count('AnnounceImageSizesHook') == 1
    runner = build_runner(cfg)
    announced = []
    original = runner.call_hook

    def spy(name, **kwargs):
        if name == 'after_test_iter':
            plan = compiled._plan
            announced.append(None if plan is None else dict(plan.sizes))
        return original(name, **kwargs)

    runner.call_hook = spy
    runner.test()
    assert announced == [{(32, 32): 2, (24, 40): 3}] * 5
    assert compiled._plan is None  # closed after the test
