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
    small = torch.zeros(1, 1, 64, 64)
    big = torch.zeros(1, 1, 512, 512)
    assert not compiled_mod._wants_compile((small,))   # below COMPILE_MIN_PIXELS
    assert compiled_mod._wants_compile((big,))
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
