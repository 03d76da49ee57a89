"""The compat layer: a light `import mmhaze` whose hooks patch mmengine and mmcv when they load;
the mmcv.ops fallback (only without compiled mmcv, exact ops, guards that work)."""
import importlib
import subprocess
import sys
import textwrap

import pytest
import torch
import torch.nn.functional as F

import mmhaze  # noqa: F401  (applies the compat layer)
from mmhaze.utils.compat import mmcv_ops


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-c', textwrap.dedent(code)], capture_output=True,
                          text=True, check=True)


def test_import_mmhaze_loads_no_heavy_or_optional_dependency():
    # Start-up time is a benchmark figure (docs/speed.md); here: what the import pulls in.
    out = _run("""
        import sys
        import mmhaze
        print(sorted(m for m in ('torch', 'mmengine', 'mmcv', 'mmseg', 'pyiqa', 'bitsandbytes',
                                 'numpy', 'cv2') if m in sys.modules))
    """).stdout
    assert out.strip() == '[]'


def test_hooks_patch_mmengine_when_it_loads_and_bitsandbytes_stays_quiet():
    result = _run("""
        import mmhaze
        from mmengine.runner import CheckpointLoader
        from mmengine.fileio.backends.registry_utils import backends
        from mmhaze.utils.checkpoint import safe_torch_load
        from mmhaze.utils.fileio import AtomicLocalBackend
        assert CheckpointLoader._schemes[''] is safe_torch_load
        assert backends['local'] is AtomicLocalBackend
        import mmengine.model  # imports mmengine's optimizer builder, which imports bitsandbytes
        print('ok')
    """)
    assert result.stdout.strip() == 'ok'
    assert 'gemm_4bit' not in result.stderr and 'kernels-community' not in result.stderr


def test_hooks_apply_at_once_when_mmengine_is_already_imported():
    result = _run("""
        from mmengine.runner import CheckpointLoader
        import mmhaze
        from mmhaze.utils.checkpoint import safe_torch_load
        assert CheckpointLoader._schemes[''] is safe_torch_load
        print('ok')
    """)
    assert result.stdout.strip() == 'ok'


def test_fallback_installed_without_compiled_ops():
    if mmcv_ops.compiled_mmcv_available():
        pytest.skip('full mmcv is installed: the fallback is (correctly) not used')
    import mmcv.ops as ops  # provided on its first import (import mmhaze only hooks it)
    assert sys.modules['mmcv.ops'] is ops
    assert getattr(ops, '__mmhaze_fallback__', False)
    from mmcv.ops import point_sample, sigmoid_focal_loss
    assert point_sample is mmcv_ops.point_sample
    assert sigmoid_focal_loss is mmcv_ops.sigmoid_focal_loss


def test_other_ops_raise_module_not_found_naming_full_mmcv():
    if mmcv_ops.compiled_mmcv_available():
        pytest.skip('full mmcv is installed')
    with pytest.raises(ModuleNotFoundError, match='compiled ops of full mmcv'):
        from mmcv.ops import CrissCrossAttention  # noqa: F401
    # mmseg's own `except ModuleNotFoundError` guards take their fallback path:
    psa = importlib.import_module('mmseg.models.decode_heads.psa_head')
    assert psa.PSAMask is None


def test_noop_when_compiled_mmcv_present(monkeypatch):
    sentinel = object()
    monkeypatch.setattr(mmcv_ops, 'compiled_mmcv_available', lambda: True)
    monkeypatch.setitem(sys.modules, 'mmcv.ops', sentinel)
    assert mmcv_ops.install_fallback_ops() is False
    assert sys.modules['mmcv.ops'] is sentinel


def test_point_sample_matches_bilinear_interpolation():
    feat = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).reshape(2, 3, 4, 5)
    # Pixel centres in [0, 1] coordinates (align_corners=False): (x + 0.5) / W.
    pts = torch.tensor([[[0.5 / 5, 0.5 / 4], [2.5 / 5, 1.5 / 4]]]).repeat(2, 1, 1)
    out = mmcv_ops.point_sample(feat, pts)
    assert out.shape == (2, 3, 2)
    assert torch.allclose(out[:, :, 0], feat[:, :, 0, 0])
    assert torch.allclose(out[:, :, 1], feat[:, :, 1, 2])
    # Half-way between two pixels: the mean of both.
    mid = mmcv_ops.point_sample(feat, torch.tensor([[[1.0 / 5, 0.5 / 4]]]).repeat(2, 1, 1))
    assert torch.allclose(mid[:, :, 0], (feat[:, :, 0, 0] + feat[:, :, 0, 1]) / 2)
    grid = mmcv_ops.point_sample(feat, pts[:, None])  # (N, Hg, Wg, 2) form
    assert grid.shape == (2, 3, 1, 2)


def test_sigmoid_focal_loss_matches_formula_and_backprops():
    torch.manual_seed(0)
    logits = torch.randn(6, 4, requires_grad=True)
    target = torch.tensor([0, 1, 2, 3, 4, 1])  # 4 = background: all negatives
    loss = mmcv_ops.sigmoid_focal_loss(logits, target, 2.0, 0.25, None, 'none')
    p = logits.sigmoid()
    t = F.one_hot(target, 5)[:, :4].float()
    expected = -(t * 0.25 * (1 - p) ** 2 * torch.log(p)
                 + (1 - t) * 0.75 * p ** 2 * torch.log(1 - p))
    assert torch.allclose(loss, expected, atol=1e-6)
    mean = mmcv_ops.sigmoid_focal_loss(logits, target, 2.0, 0.25, None, 'mean')
    assert torch.allclose(mean, expected.sum() / 6)  # mmcv divides by N, not N·C
    mean.backward()
    assert logits.grad is not None and torch.isfinite(logits.grad).all()
    weighted = mmcv_ops.sigmoid_focal_loss(logits, target, 2.0, 0.25,
                                           torch.tensor([1., 2., 3., 4.]), 'none')
    assert torch.allclose(weighted[1], 2 * expected[1], atol=1e-6)


def test_mmseg_imports_and_uses_the_fallback_focal_loss():
    from mmseg.models.losses import focal_loss as mmseg_focal
    from mmseg.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    torch.manual_seed(0)
    logits = torch.randn(5, 3)
    target = torch.tensor([0, 2, 1, 1, 0])
    one_hot = F.one_hot(target, 3).float()
    # mmseg's wrapper around mmcv.ops.sigmoid_focal_loss; here that is the fallback.
    ours = mmseg_focal.sigmoid_focal_loss(logits, target, one_hot, gamma=2.0, alpha=0.5,
                                          reduction='mean')
    reference = mmseg_focal.py_sigmoid_focal_loss(logits, one_hot, one_hot, gamma=2.0,
                                                  alpha=0.5, reduction='mean')
    assert torch.allclose(ours, reference, atol=1e-6)
