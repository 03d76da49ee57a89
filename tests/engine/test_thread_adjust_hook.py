"""ThreadAdjustHook: during an ``auto`` run, torch's thread count follows the free cores."""
import pytest
import torch
from helpers import REPO_ROOT

from mmhaze.engine.hooks import ThreadAdjustHook
from mmhaze.engine.hooks import thread_adjust_hook as hook_module
from mmhaze.utils import threads as T
from mmhaze.utils.threads import CpuSnapshot, ThreadChoice


class FakeStat:
    """/proc/stat of 2 cores at 100 ticks/s: each read advances 1 s with ``others`` cores busy
    (this process's own CPU time stays 0)."""

    def __init__(self):
        self.snap = CpuSnapshot(busy=0, total=0, own=0.0, wall=0.0)
        self.others = 0.0

    def __call__(self, *args):
        s = self.snap
        self.snap = CpuSnapshot(s.busy + round(100 * self.others), s.total + 200, s.own,
                                s.wall + 1.0)
        return self.snap


@pytest.fixture
def hook(monkeypatch):
    stat = FakeStat()
    monkeypatch.setattr(hook_module, 'cpu_snapshot', stat)
    hook = ThreadAdjustHook(interval=1.0)
    hook.cores, hook.limit = 2, None
    torch.set_num_threads(2)  # conftest restores the count afterwards
    hook.before_run(None)
    return hook, stat


def test_the_count_follows_the_load_both_ways(hook):
    hook, stat = hook
    stat.others = 2.0   # two other busy processes
    assert hook.check() == 1 and torch.get_num_threads() == 1
    stat.others = 1.0
    assert hook.check() is None and torch.get_num_threads() == 1
    stat.others = 0.1   # they stopped
    assert hook.check() == 2 and torch.get_num_threads() == 2


def test_it_waits_for_its_interval(hook):
    hook, stat = hook
    hook.interval = 1e9
    stat.others = 2.0
    assert hook.check() is None and torch.get_num_threads() == 2


def test_a_count_set_by_someone_else_is_kept(hook):
    hook, stat = hook
    torch.set_num_threads(1)
    stat.others = 0.0
    assert hook.check() is None and torch.get_num_threads() == 1
    torch.set_num_threads(2)
    stat.others = 2.0
    assert hook.check() is None and torch.get_num_threads() == 2  # stopped for good


def test_the_interval_must_be_positive():
    with pytest.raises(ValueError, match='interval must be > 0 seconds, got 0'):
        ThreadAdjustHook(interval=0)


@pytest.mark.parametrize('choice,added', [
    (None, False),                                       # torch loaded first, or an API user
    (ThreadChoice(2, '--threads 2'), False),             # the user's count
    (ThreadChoice(1, 'auto: ...', auto=True), True),
])
def test_runners_of_an_auto_tool_get_the_hook(monkeypatch, tmp_path, choice, added):
    from mmhaze.apis import build_runner, prepare_config
    monkeypatch.setattr(T, '_current', choice)
    cfg = prepare_config(str(REPO_ROOT / 'configs/conv_dehaze_fuser/'
                                         'conv_dehaze_fuser_demo-synthetic-thermal.py'),
                         None, str(tmp_path / 'w'))
    runner = build_runner(cfg)
    assert any(isinstance(h, ThreadAdjustHook) for h in runner.hooks) == added
