"""eval_folder scores small pairs several at a time, one torch thread each, with the rows,
their order and the errors of scoring one pair at a time."""
import csv
import threading
import time

import cv2
import numpy as np
import pytest
import torch

from mmhaze.apis import testing
from mmhaze.apis.testing import (
    MAX_PAIR_WORKERS,
    PARALLEL_PAIRS_MAX_PIXELS,
    evaluate_folders,
    map_pairs,
    pair_workers,
)


def test_pair_workers_follow_the_threads_for_small_images_only():
    torch.set_num_threads(2)
    assert pair_workers([(161, 351)] * 3, 3) == 2
    # one image above the limit, or a size the headers did not give: one pair at a time
    assert pair_workers([(161, 351), (2160, 3840)], 2) == 1
    assert pair_workers([(161, 351)] * 2, 3) == 1
    assert PARALLEL_PAIRS_MAX_PIXELS >= 1920 * 1080
    torch.set_num_threads(1)
    assert pair_workers([(161, 351)] * 3, 3) == 1
    torch.set_num_threads(8)  # a larger machine: a few pairs in flight, not one per core
    assert pair_workers([(161, 351)] * 3, 3) == MAX_PAIR_WORKERS == 4


def test_map_pairs_yields_in_order_on_one_thread_each_and_restores_the_count():
    torch.set_num_threads(2)
    stems = [f'{i:02d}' for i in range(9)]

    def score(stem):
        time.sleep(0.02 * (int(stem) % 3))  # later pairs may finish first
        return stem, torch.get_num_threads(), threading.current_thread().name

    out = list(map_pairs(score, stems, 2))
    assert [s for s, _, _ in out] == stems
    # the first pair alone on the caller's thread, the others on one-thread workers
    assert out[0][1:] == (2, threading.current_thread().name)
    assert {n for _, n, _ in out[1:]} == {1}
    assert len({name for _, _, name in out[1:]}) == 2
    assert torch.get_num_threads() == 2
    torch.set_num_threads(8)  # the workers share the threads
    out = list(map_pairs(score, stems, 4))
    assert [s for s, _, _ in out] == stems and {n for _, n, _ in out[1:]} == {2}
    assert torch.get_num_threads() == 8


def test_map_pairs_raises_a_pairs_error_when_its_turn_comes_and_starts_no_more():
    torch.set_num_threads(2)
    started = []

    def score(stem):
        started.append(stem)
        if stem == 'c':
            raise ValueError('pair c is broken')
        time.sleep(0.5 if stem in 'de' else 0.0)  # both workers busy when c's error is seen
        return stem

    seen = []
    with pytest.raises(ValueError, match='pair c is broken'):
        for stem in map_pairs(score, [chr(ord('a') + i) for i in range(20)], 2):
            seen.append(stem)
    assert seen == ['a', 'b']
    # f, queued behind d and e (busy workers, or cancelled too), never started
    assert {'a', 'b', 'c'} <= set(started) <= set('abcde')
    assert torch.get_num_threads() == 2


def _png(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    img = array[..., ::-1] if array.ndim == 3 else array
    assert cv2.imwrite(str(path), np.ascontiguousarray(img))


def _per_image(run_dir):
    with open(f'{run_dir}/per_image.csv', newline='') as f:
        return list(csv.DictReader(f))


def test_folder_rows_are_those_of_one_pair_at_a_time(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    for i in range(6):
        h, w = (48, 64) if i % 2 else (56, 48)  # two sizes, interleaved
        vis = cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), (5, 5), 1)
        ir = cv2.GaussianBlur(rng.integers(0, 256, (h, w), dtype=np.uint8), (5, 5), 1)
        _png(tmp_path / 'vis' / f'{i}.png', vis)
        _png(tmp_path / 'ir' / f'{i}.png', ir)
        _png(tmp_path / 'fused' / f'{i}.png', (vis // 2 + ir[..., None] // 2))
    # a pair of different sizes, left out with skip_errors: its record keeps its place
    _png(tmp_path / 'vis' / '3.png', np.zeros((40, 40, 3), np.uint8))
    from mmhaze.evaluation.metrics import FusionMetric
    threads_used = set()
    evaluate = FusionMetric.evaluate_sample

    def spy(self, sample):
        threads_used.add(threading.current_thread().name)
        return evaluate(self, sample)

    monkeypatch.setattr(FusionMetric, 'evaluate_sample', spy)
    metrics = ['EN', 'SD', 'MI', 'VIF', 'Qabf', 'SSIM']
    runs = {}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        threads_used.clear()
        paths = evaluate_folders(str(tmp_path / 'ir'), str(tmp_path / 'vis'),
                                 str(tmp_path / 'fused'), str(tmp_path / f'out{threads}'),
                                 metrics=metrics, skip_errors=True)
        runs[threads] = (_per_image(paths['run_dir']), len(threads_used))
    (one, one_threads), (two, two_threads) = runs[1], runs[2]
    assert (one_threads, two_threads) == (1, 3)  # the caller, then two workers
    assert [r['image'] for r in two] == [r['image'] for r in one] == ['0', '1', '2', '4', '5']
    for a, b in zip(one, two):
        for key in metrics:  # sums may split differently on one thread or two
            assert float(b[key]) == pytest.approx(float(a[key]), rel=1e-12, abs=1e-15)


def test_the_tool_passes_the_run_sizes_to_the_worker_rule(tmp_path, monkeypatch):
    rng = np.random.default_rng(1)
    for i in range(3):
        for name, shape in (('vis', (48, 48, 3)), ('ir', (48, 48)), ('fused', (48, 48, 3))):
            _png(tmp_path / name / f'{i}.png', rng.integers(0, 256, shape, dtype=np.uint8))
    asked = []
    monkeypatch.setattr(testing, 'pair_workers',
                        lambda sizes, pairs: asked.append((sorted(sizes), pairs)) or 1)
    evaluate_folders(str(tmp_path / 'ir'), str(tmp_path / 'vis'), str(tmp_path / 'fused'),
                     str(tmp_path / 'out'), metrics=['EN'])
    assert asked == [([(48, 48)] * 3, 3)]
