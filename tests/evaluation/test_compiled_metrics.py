"""The compile switch of the metric kernels, and the one compiled-vs-eager check (compiling is
slow on a small CPU: the rest of the suite runs eagerly, see tests/conftest.py)."""
import pytest
import torch

from mmhaze.evaluation.functional import compiled as compiled_mod
from mmhaze.evaluation.functional import (
    mutual_information,
    scd,
    set_metric_compile,
    ssim,
    vif,
)


@pytest.fixture
def restore_switch():
    yield
    set_metric_compile(None)
    compiled_mod.set_compile_costs(None)
    compiled_mod._broken = None


def _triplet(h=64, w=72, seed=0):
    gen = torch.Generator().manual_seed(seed)
    a = torch.randint(0, 256, (1, 1, h, w), generator=gen).float()
    b = torch.nn.functional.avg_pool2d(
        torch.randint(0, 256, (1, 1, h, w), generator=gen).float(), 3, 1, 1).round()
    return torch.floor((a + b) / 2 + 0.5), a, b


def test_compiled_kernels_agree_with_eager(restore_switch):
    f, a, b = _triplet()
    pred, ref = f.expand(1, 3, -1, -1) / 255, b.expand(1, 3, -1, -1) / 255
    # two graphs (each compile takes tens of seconds on a small CPU): VIF covers the float32
    # separable filters with down-sampling, SSIM_ref the float64 ones
    calls = {'VIF': lambda: vif(f, a, b), 'SSIM_ref': lambda: ssim(pred, ref)}
    set_metric_compile(False)
    eager = {k: fn() for k, fn in calls.items()}
    set_metric_compile(True)
    compiled = {k: fn() for k, fn in calls.items()}
    assert compiled_mod.compile_failure() is None, compiled_mod.compile_failure()
    # the documented float32 tolerance (VIF 1e-3 relative); SSIM_ref is float64
    assert compiled['VIF'].item() == pytest.approx(eager['VIF'].item(), rel=1e-4)
    assert compiled['SSIM_ref'].item() == pytest.approx(eager['SSIM_ref'].item(), abs=1e-9)


def test_switch_values_and_fallback(restore_switch, monkeypatch):
    set_metric_compile('auto')
    assert compiled_mod.metric_compile_mode() == 'auto'
    set_metric_compile(None)
    monkeypatch.setenv(compiled_mod.COMPILE_ENV, 'off')
    assert compiled_mod.metric_compile_mode() == '0'
    monkeypatch.setenv(compiled_mod.COMPILE_ENV, 'sometimes')
    with pytest.raises(ValueError, match='MMHAZE_COMPILE_METRICS'):
        compiled_mod.metric_compile_mode()
    monkeypatch.delenv(compiled_mod.COMPILE_ENV)

    # A platform where compiling fails: the eager result, one warning, compilation switched off.
    def broken_compile(fn, **kwargs):
        def run(*args):
            raise RuntimeError('no C++ compiler')
        return run

    monkeypatch.setattr(torch, 'compile', broken_compile)
    set_metric_compile(True)
    f, a, b = _triplet(seed=1)
    assert mutual_information(f, a, b).isfinite().all()  # histogram metrics stay eager
    with pytest.warns(RuntimeWarning, match='compiled metrics switched off'):
        got = scd(f, a, b)  # a kernel no other test compiles
    set_metric_compile(False)
    assert got.item() == scd(f, a, b).item()
    set_metric_compile(True)
    assert compiled_mod.metric_compile_mode() == '0'
    assert 'no C++ compiler' in compiled_mod.compile_failure()


# ---------------------------------------------------------------------------------------------
# The auto rule, on a fake clock and a fake compiler (no real compilation)
# ---------------------------------------------------------------------------------------------

COSTS = compiled_mod.CompileCosts(compile_seconds=1.0, compiled_fraction=0.5, min_eager_calls=2)


def test_decide_compile_pays_back_or_breaks_even():
    stats = compiled_mod.SignatureStats(eager_calls=1, eager_seconds=5.0, eager_best=0.01)
    assert not compiled_mod.decide_compile(stats, 1e6, COSTS)  # one timed call is not enough
    stats.eager_calls = 2
    # announced: 201 calls × 10 ms × (1 − 0.5) = 1.005 s > 1 s of compiling; 199 calls < 1 s
    assert compiled_mod.decide_compile(stats, 201, COSTS)
    assert not compiled_mod.decide_compile(stats, 199, COSTS)
    # not announced: break-even on the eager seconds spent so far
    assert compiled_mod.decide_compile(stats, None, COSTS)
    stats.eager_seconds = 0.99
    assert not compiled_mod.decide_compile(stats, None, COSTS)
    stats.eager_seconds, stats.gave_up = 5.0, True
    assert not compiled_mod.decide_compile(stats, 1e6, COSTS)


class FakeRun:
    """A kernel whose calls advance a fake clock by 10 ms eager, ``compiled_ms`` compiled, and
    a ``torch.compile`` stand-in that records what it compiles."""

    def __init__(self, monkeypatch, compiled_ms=4.0):
        self.now, self.in_compiled, self.compiles = 0.0, False, 0
        self.compiled_calls = 0
        self.compiled_seconds = compiled_ms / 1000
        monkeypatch.setattr(compiled_mod, 'time', self)
        monkeypatch.setattr(torch, 'compile', self.fake_compile)
        self.kernel = compiled_mod.metric_kernel(self.body)

    def perf_counter(self) -> float:
        return self.now

    def body(self, x, o):
        self.now += self.compiled_seconds if self.in_compiled else 0.010
        return x.sum()

    def fake_compile(self, fn, **kwargs):
        self.compiles += 1

        def run(*args):
            self.in_compiled, self.compiled_calls = True, self.compiled_calls + 1
            try:
                return fn(*args)
            finally:
                self.in_compiled = False
        return run

    def calls(self, sizes):
        for h, w in sizes:
            self.kernel(torch.ones(1, 1, h, w), scale=1.0)


def _auto(costs=COSTS):
    set_metric_compile('auto')
    compiled_mod.set_compile_costs(costs)


def test_announced_one_size_compiles_when_it_pays_back(restore_switch, monkeypatch):
    _auto()
    run = FakeRun(monkeypatch)
    sizes = [(8, 8)] * 300
    with compiled_mod.announce_image_sizes(sizes):
        run.calls(sizes)
    # two timed eager calls, then 298 × 10 ms × 0.5 = 1.49 s > 1 s: compiled from the third
    assert run.compiles == 1 and run.compiled_calls == 298
    (summary,) = run.kernel.kernel.signatures.values()
    assert summary.eager_calls == 2 and summary.compiled and not summary.gave_up
    listed = [s for s in compiled_mod.compile_summary() if s['kernel'] == 'FakeRun.body'][-1]
    assert listed['shapes'] == [(1, 1, 8, 8)] and listed['compiled']
    assert listed['eager_best'] == pytest.approx(0.010) and listed['compiled_best'] == \
        pytest.approx(0.004)


def test_announced_run_too_short_or_all_sizes_different_stays_eager(restore_switch,
                                                                     monkeypatch):
    _auto()
    run = FakeRun(monkeypatch)
    short = [(8, 8)] * 150  # 148 × 10 ms × 0.5 = 0.74 s < 1 s
    with compiled_mod.announce_image_sizes(short):
        run.calls(short)
    varied = [(8 + i, 8) for i in range(300)]  # RoadScene-like: one image per size
    with compiled_mod.announce_image_sizes(varied):
        run.calls(varied)
    assert run.compiles == 0 and run.compiled_calls == 0
    # batched calls count their images: 100 calls of 3 images, announced 300 images → 100
    # calls left, 100 × 10 ms × 0.5 = 0.5 s < 1 s
    batched = [(16, 16)] * 300
    with compiled_mod.announce_image_sizes(batched):
        for _ in range(100):
            run.kernel(torch.ones(3, 1, 16, 16), scale=1.0)
    assert run.compiles == 0


def test_unannounced_run_breaks_even(restore_switch, monkeypatch):
    _auto()
    run = FakeRun(monkeypatch)
    run.calls([(8, 8)] * 100)  # 100 × 10 ms = 1 s spent eagerly: the 101st call compiles
    assert run.compiles == 0
    run.calls([(8, 8)] * 5)
    assert run.compiles == 1 and run.compiled_calls == 5
    # a size announced by nobody inside an announced run follows the same rule
    with compiled_mod.announce_image_sizes([(4, 4)] * 1000):
        run.calls([(9, 9)] * 50)
    assert run.compiled_calls == 5


def test_compiled_not_faster_goes_back_to_eager(restore_switch, monkeypatch):
    _auto()
    run = FakeRun(monkeypatch, compiled_ms=12.0)
    sizes = [(8, 8)] * 300
    with compiled_mod.announce_image_sizes(sizes):
        run.calls(sizes)
    # compiled once (call 3 compiles, calls 4–5 measure 12 ms ≥ 10 ms eager), then eager
    assert run.compiles == 1 and run.compiled_calls == 3
    (summary,) = run.kernel.kernel.signatures.values()
    assert summary.gave_up and summary.eager_calls == 297


def test_modes_0_and_1_ignore_the_rule(restore_switch, monkeypatch):
    run = FakeRun(monkeypatch)
    set_metric_compile(False)
    with compiled_mod.announce_image_sizes([(8, 8)] * 10_000):
        run.calls([(8, 8)] * 10)
    assert run.compiles == 0
    set_metric_compile(True)
    run.calls([(8 + i, 8) for i in range(compiled_mod.MAX_COMPILED_SHAPES + 2)])
    # every signature compiled, up to the cap per kernel
    assert run.compiled_calls == compiled_mod.MAX_COMPILED_SHAPES
