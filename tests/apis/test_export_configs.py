"""Every config under configs/ exports to ONNX and round-trips through onnxruntime (or is refused
with its expected message).

Configs whose inference networks are the same (datasets, losses and schedules differ) share one
export. Per model class, the smallest model (fewest layers) exports in the default run; the
others take 20–40 s each on 2 cores and are marked slow (``MMHAZE_SLOW_TESTS=1``). New configs
are picked up by the glob, so a model that lands is covered without editing this file.
"""
from __future__ import annotations

import pytest
import torch
from helpers import REPO_ROOT, seeded_model
from mmengine.config import Config

from mmhaze.apis.export import DEFAULT_TOLERANCE, ExportError, export_onnx, smallest_image
from mmhaze.models.haze.haze_density import QUANTIZED_EXPORT_TOLERANCE, HazeDensityEstimator
from mmhaze.registry import MODELS
from mmhaze.utils import register_all_modules

EXPORT_SIZE = 64
#: config → regex of the ExportError it must raise (a model that cannot export). None today.
REFUSALS: dict[str, str] = {}
# Keys of a model config that do not change the exported graph.
TRAINING_KEYS = ('losses', 'stages', 'init_cfg', 'frozen', 'train_cfg')


def _strip(value, drop: tuple[str, ...]):
    if isinstance(value, dict):
        return {k: _strip(v, drop) for k, v in sorted(value.items()) if k not in drop}
    if isinstance(value, (list, tuple)):
        return [_strip(v, drop) for v in value]
    return value


def _survey() -> tuple[dict[str, str], set[str]]:
    """config → inference signature; and the configs that export in the default run."""
    register_all_modules()
    signatures, layers, types = {}, {}, {}
    paths = sorted(p for p in (REPO_ROOT / 'configs').rglob('*.py') if '_base_' not in p.parts)
    for path in paths:
        cfg = Config.fromfile(str(path))
        if 'model' not in cfg:  # partial configs (e.g. configs/iassf/_iassf_evaluation.py)
            continue
        config = str(path.relative_to(REPO_ROOT))
        model_cls = MODELS.get(cfg.model['type'])
        drop = TRAINING_KEYS + tuple(getattr(model_cls, 'TRAINING_ONLY_SLOTS', ()))
        signatures[config] = repr(_strip(cfg.model.to_dict(), drop))
        with torch.device('meta'):  # structure only: no weights allocated or initialised
            model = MODELS.build(cfg.model)
        nets = model.inference_networks() if hasattr(model, 'inference_networks') else [model]
        layers[config] = sum(1 for n in nets for m in n.modules() if next(m.children(), None)
                             is None)
        types[config] = cfg.model['type']
    fast = {min((c for c in layers if types[c] == t), key=lambda c: (layers[c], c))
            for t in set(types.values())}
    fast_signatures = {signatures[c] for c in fast}
    return signatures, {c for c in signatures if signatures[c] in fast_signatures}


SIGNATURES, FAST = _survey()
_EXPORTED: dict[str, object] = {}  # signature → ExportResult, shared by identical models


@pytest.mark.parametrize('config', [
    pytest.param(c, marks=() if c in FAST else pytest.mark.slow) for c in sorted(SIGNATURES)])
def test_config_exports_and_round_trips(config, tmp_path):
    model = seeded_model(config)
    size = max(EXPORT_SIZE, smallest_image(model))
    if config in REFUSALS:
        with pytest.raises(ExportError, match=REFUSALS[config]):
            export_onnx(model, str(tmp_path / 'refused.onnx'), shape=(size, size))
        return
    signature = SIGNATURES[config]
    if signature not in _EXPORTED:
        _EXPORTED[signature] = export_onnx(model, str(tmp_path / 'model.onnx'),
                                           shape=(size, size))
    result = _EXPORTED[signature]
    quantizes = any(isinstance(m, HazeDensityEstimator) and m.quantize for m in model.modules())
    assert result.tolerance == (QUANTIZED_EXPORT_TOLERANCE if quantizes else DEFAULT_TOLERANCE)
    with torch.no_grad():
        keys = model({'vis': torch.zeros(1, 3, size, size),
                      'ir': torch.zeros(1, model.data_preprocessor.channels.get('ir') or 1,
                                        size, size)}, mode='tensor')
    assert result.outputs == [f'pred_{k}' for k in ('dehazed', 'fused') if k in keys] + (
        ['pred_sem_seg'] if 'seg_logits' in keys else [])
    # Measured 1.2e-6 (IASSF) and 6e-8 (ConvDehazeFuser) on 64×64 seeded inputs; the 1e-4
    # contract holds even where the 8-bit density step allows 1e-3.
    print(f'{config}: ' + ', '.join(f'{k} {v:.2e}' for k, v in result.max_abs_diff.items()))
    assert 0 < len(result.max_abs_diff) and max(result.max_abs_diff.values()) <= DEFAULT_TOLERANCE


def test_survey_covers_every_model_config():
    assert 'configs/iassf/iassf_official_msrs.py' in SIGNATURES
    assert 'configs/iassf/_iassf_evaluation.py' not in SIGNATURES  # no model: a partial
    # Identical inference networks share an export; the GAN's discriminators do not count.
    assert SIGNATURES['configs/iassf/iassf_official_msrs.py'] == \
        SIGNATURES['configs/iassf/iassf_official_m3fd-test.py']
    assert SIGNATURES['configs/conv_dehaze_fuser/conv_dehaze_fuser_gan_synthetic-thermal.py'] \
        == SIGNATURES['configs/conv_dehaze_fuser/conv_dehaze_fuser_synthetic-thermal.py']
    assert SIGNATURES['configs/iassf/iassf_ablation-wo-hde_msrs.py'] != \
        SIGNATURES['configs/iassf/iassf_official_msrs.py']
    assert {'configs/iassf/iassf_tiny_synthetic.py', 'configs/demo/demo_synthetic.py'} <= FAST
    assert 'configs/iassf/iassf_official_msrs.py' not in FAST
