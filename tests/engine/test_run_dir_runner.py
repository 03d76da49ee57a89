"""UniqueRunDirRunner: runs in one process keep their logs apart."""
import json

from helpers import BASELINE_CONFIG as BASELINE
from helpers import TINY_TRAIN_OPTIONS


def _logged_iterations(work) -> list:
    rows = [json.loads(line) for path in work.glob('*/vis_data/scalars.json')
            for line in path.read_text().splitlines()]
    return sorted(r['iter'] for r in rows if 'loss' in r)


def test_two_trainings_in_one_process_each_log_into_their_own_run_folder(
        tmp_path, repo_root, tool):
    """The configs name their visualizer 'visualizer', and mmengine hands the second runner of
    a process the first one's instance: the second training's scalars used to land in the first
    training's folder (and the second folder had none)."""
    options = [*TINY_TRAIN_OPTIONS, 'train_cfg.max_iters=2', 'default_hooks.logger.interval=1']
    first, second = tmp_path / 'first', tmp_path / 'second'
    for work in (first, second):
        assert tool('train').main([str(repo_root / BASELINE), '--work-dir', str(work),
                                   '--cfg-options', *options]) == 0
    assert _logged_iterations(first) == [1, 2]
    assert _logged_iterations(second) == [1, 2]
