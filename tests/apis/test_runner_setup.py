"""Process-group teardown of launcher-started runs (mmhaze.apis.runner_setup)."""
import gc
import os
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from mmhaze.apis import close_distributed

TASKS = Path('/proc/self/task')


def _native_threads() -> int:
    return len(os.listdir(TASKS))


@pytest.mark.skipif(not TASKS.is_dir() or not dist.is_available(),
                    reason='counts native threads through /proc (Linux) and needs gloo')
def test_close_distributed_joins_the_gloo_threads(tmp_path):
    """A DDP wrapper in a reference cycle (as in a runner) keeps the group and its gloo worker
    threads alive after a bare destroy_process_group; a worker finishing at interpreter
    teardown then aborted a rank. close_distributed must leave no gloo thread behind."""
    assert not dist.is_initialized()
    nn.Linear(3, 2)(torch.ones(4, 3)).sum().backward()  # torch's own pools exist before counting
    baseline = _native_threads()
    dist.init_process_group('gloo', init_method=f'file://{tmp_path / "store"}', rank=0,
                            world_size=1)
    try:
        model = DistributedDataParallel(nn.Linear(3, 2))
        model(torch.ones(4, 3)).sum().backward()  # a collective, as a training step
        holder = {'model': model}
        holder['self'] = holder  # a cycle: only the garbage collector frees it
        assert _native_threads() > baseline  # the group's worker and transport threads
        del model, holder
        close_distributed()
        assert not dist.is_initialized()
        assert _native_threads() <= baseline
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
        gc.collect()


def test_every_config_gives_each_runner_loop_all_its_keys_or_none(repo_root):
    """A loop set in part (a staged two-stage config without val_cfg, a test config keeping its
    base's train_dataloader) made mmengine's Runner fail in a traceback printing every
    dataloader (issue 19): every config is whole, and a partial one is one line."""
    from mmengine.config import Config

    from mmhaze.apis import ConfigError
    from mmhaze.apis.runner_setup import check_loop_keys
    configs = sorted(p for p in (repo_root / 'configs').rglob('*.py')
                     if not any(part.startswith('_') for part in p.relative_to(
                         repo_root / 'configs').parts))
    assert len(configs) > 50
    for path in configs:
        check_loop_keys(Config.fromfile(str(path)))
    cfg = Config(dict(val_dataloader=dict(batch_size=1), val_evaluator=dict(type='EN'),
                      val_cfg=None))
    with pytest.raises(ConfigError) as err:
        check_loop_keys(cfg)
    assert str(err.value) == (
        "the config sets val_dataloader and val_evaluator but not val_cfg: add val_cfg = "
        "dict(type='ValLoop'), or set val_dataloader, val_evaluator to None (no val loop)")
