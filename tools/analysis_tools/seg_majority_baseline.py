"""mIoU of the trivial segmentation — the test set's most frequent class everywhere.

    python tools/analysis_tools/seg_majority_baseline.py configs/hsvf/hsvf_tiny_synthetic.py

Reads the config's ``test_dataloader.dataset`` (labels needed), finds the most frequent class
over all its labelled pixels and scores that constant prediction with the same ``SegMetric``
(mmseg's IoUMetric, mean over the classes present) the test tables use: the floor a segmentation
model must clear.
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

from mmhaze.utils.cli import CfgOptionsAction


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='mIoU of predicting the majority class')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--ignore-index', type=int, default=255)
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction,
                        help='override config keys')
    return parser.parse_args(argv)


def majority_baseline(dataset, ignore_index: int = 255) -> dict:
    """``dict(class_id, class_name, fraction, mIoU)`` of the majority-class prediction."""
    import torch

    from mmhaze.evaluation.metrics import SegMetric
    from mmhaze.structures import FusionDataSample
    labels = []
    for i in range(len(dataset)):
        seg = dataset[i]['data_samples'].get('gt_sem_seg')
        if seg is None:
            raise KeyError(f'test sample {i} has no labels (gt_sem_seg)')
        labels.append(seg.data)
    counts = np.zeros(0, np.int64)
    for seg in labels:
        valid = seg[seg != ignore_index].numpy().ravel()
        c = np.bincount(valid)
        counts = np.pad(counts, (0, max(0, len(c) - len(counts))))
        counts[:len(c)] += c
    majority = int(counts.argmax())
    metric = SegMetric(ignore_index=ignore_index)
    classes = dataset.metainfo.get('classes')
    metric.dataset_meta = dict(classes=classes)
    samples = []
    for seg in labels:
        sample = FusionDataSample()
        sample.gt_sem_seg = seg
        sample.pred_sem_seg = torch.full_like(seg, majority)
        samples.append(sample.to_dict())
    metric.process({}, samples)
    miou = metric.compute_metrics(metric.results)['mIoU']
    return dict(class_id=majority, class_name=classes[majority] if classes else str(majority),
                fraction=float(counts[majority] / counts.sum()), mIoU=miou)


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmhaze.apis import ConfigError, load_config
    from mmhaze.registry import DATASETS
    from mmhaze.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    try:
        cfg = load_config(args.config, args.cfg_options)
    except ConfigError as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    r = majority_baseline(dataset, args.ignore_index)
    print(f'{len(dataset)} test images; majority class {r["class_id"]} ({r["class_name"]}), '
          f'{100 * r["fraction"]:.1f}% of the labelled pixels; mIoU of predicting it '
          f'everywhere: {r["mIoU"]:.4f}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
