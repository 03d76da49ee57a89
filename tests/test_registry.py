"""Registries: children of every mmengine root, lazy locations, cross-scope builds, user modules."""
import subprocess
import sys
import textwrap

import mmengine.registry as root
import torch

from mmhaze import registry as R
from mmhaze.apis import load_config

NAMES = ['RUNNERS', 'RUNNER_CONSTRUCTORS', 'LOOPS', 'HOOKS', 'STRATEGIES', 'DATASETS',
         'DATA_SAMPLERS', 'TRANSFORMS', 'MODELS', 'MODEL_WRAPPERS', 'WEIGHT_INITIALIZERS',
         'OPTIMIZERS', 'OPTIM_WRAPPERS', 'OPTIM_WRAPPER_CONSTRUCTORS', 'PARAM_SCHEDULERS',
         'METRICS', 'EVALUATOR', 'TASK_UTILS', 'VISUALIZERS', 'VISBACKENDS', 'LOG_PROCESSORS',
         'INFERENCERS', 'FUNCTIONS']


def test_every_root_has_a_scoped_child():
    for name in NAMES:
        child = getattr(R, name)
        assert child.scope == 'mmhaze', name
        assert child.parent is getattr(root, name), name


def test_lazy_locations_find_unimported_modules():
    code = textwrap.dedent('''
        import sys
        from mmengine.registry import DefaultScope
        from mmhaze.registry import MODELS, METRICS, TRANSFORMS
        assert 'mmhaze.models' not in sys.modules
        # No default scope yet: a whole model (and its preprocessor) still builds.
        model = MODELS.build(dict(type='ConvDehazeFuser', network=dict(
            type='ConvDehazeFuseNet', channels=4, dilations=[1])))
        assert type(model.data_preprocessor).__name__ == 'FusionDataPreprocessor'
        DefaultScope.get_instance('lazy', scope_name='mmhaze')
        assert MODELS.get('ConvDehazeFuser') is not None
        assert METRICS.get('ReferenceMetric') is not None
        assert TRANSFORMS.get('PackFusionInputs') is not None
        print('ok')
    ''')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith('ok')


def test_cross_scope_mmseg_hrnet_builds_and_runs():
    extra = dict(
        stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK', num_blocks=(1,),
                    num_channels=(8,)),
        stage2=dict(num_modules=1, num_branches=2, block='BASIC', num_blocks=(1, 1),
                    num_channels=(8, 16)),
        stage3=dict(num_modules=1, num_branches=3, block='BASIC', num_blocks=(1, 1, 1),
                    num_channels=(8, 16, 32)),
        stage4=dict(num_modules=1, num_branches=4, block='BASIC', num_blocks=(1, 1, 1, 1),
                    num_channels=(8, 16, 32, 64)))
    hrnet = R.MODELS.build(dict(type='mmseg.HRNet', extra=extra, norm_cfg=dict(type='BN')))
    assert type(hrnet).__module__.startswith('mmseg.')
    feats = hrnet(torch.rand(1, 3, 64, 64))
    assert [tuple(f.shape[1:]) for f in feats] == [(8, 16, 16), (16, 8, 8), (32, 4, 4), (64, 2, 2)]


def test_mmengine_modules_build_from_mmhaze_scope():
    hook = R.HOOKS.build(dict(type='IterTimerHook'))
    assert type(hook).__name__ == 'IterTimerHook'


def test_user_module_through_custom_imports(tmp_path, monkeypatch):
    pkg = tmp_path / 'my_project'
    pkg.mkdir()
    (pkg / '__init__.py').write_text('')
    (pkg / 'gated_fusion.py').write_text(textwrap.dedent('''
        import torch
        from torch import nn
        from mmhaze.registry import MODELS

        @MODELS.register_module()
        class MyGatedFusion(nn.Module):
            def __init__(self, channels=4):
                super().__init__()
                self.gate = nn.Conv2d(2 * channels, channels, 1)

            def forward(self, a, b):
                g = torch.sigmoid(self.gate(torch.cat([a, b], 1)))
                return g * a + (1 - g) * b
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg_file = tmp_path / 'cfg.py'
    cfg_file.write_text(textwrap.dedent('''
        custom_imports = dict(imports=['my_project.gated_fusion'], allow_failed_imports=False)
        block = dict(type='MyGatedFusion', channels=4)
    '''))
    cfg = load_config(str(cfg_file))
    block = R.MODELS.build(cfg.block)
    for mod in [m for m in sys.modules if m.split('.')[0] == 'my_project']:
        del sys.modules[mod]  # a later test's my_project (docs/add_module.md) is another package
    a, b = torch.zeros(1, 4, 8, 8), torch.ones(1, 4, 8, 8)
    out = block(a, b)
    assert out.shape == (1, 4, 8, 8)
    assert torch.all((out > 0) & (out < 1))
