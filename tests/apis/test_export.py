"""ONNX export (mmhaze.apis.export): the wrapper reproduces predict, the graph round-trips through
onnxruntime (static and dynamic H/W), and what cannot export is named."""
import onnx
import pytest
import torch
import torch.nn as nn
from helpers import BASELINE_CONFIG, seeded_model
from mmengine.dataset import pseudo_collate

from mmhaze.apis.export import (
    DEFAULT_TOLERANCE,
    ExportError,
    OnnxExportWrapper,
    example_inputs,
    export_onnx,
)
from mmhaze.apis.onnx_inferencer import OnnxInferencer
from mmhaze.datasets import SyntheticFusionDataset
from mmhaze.registry import MODELS

TINY_IASSF = 'configs/iassf/iassf_tiny_synthetic.py'


def _pairs(size, n=2):
    ds = SyntheticFusionDataset(num_samples=n, img_size=size, seed=5,
                                pipeline=[dict(type='PackFusionInputs')])
    return pseudo_collate([ds[i] for i in range(n)])


@pytest.mark.parametrize('config, overrides', [
    (BASELINE_CONFIG, {}),
    # IASSF: [-1, 1] range, 3-channel IR from a 1-channel file, padding to a multiple of 4.
    (TINY_IASSF, {'dehazer.restoration_prompt.pool_size': 16,
                  'fuser.prompt_generator.pool_size': 16}),
])
def test_wrapper_reproduces_predict(config, overrides):
    model = seeded_model(config, **overrides)
    data = _pairs((30, 37))
    assert data['inputs']['ir'][0].shape[0] == 1
    with torch.no_grad():
        samples = model.test_step(data)
        preds = OnnxExportWrapper(model).eval()(torch.stack(data['inputs']['vis']).float(),
                                                torch.stack(data['inputs']['ir']).float())
    dehazed, fused = preds
    assert dehazed.shape == (2, 3, 30, 37)
    for i, sample in enumerate(samples):
        torch.testing.assert_close(dehazed[i], sample.pred_dehazed.data, rtol=0, atol=1e-6)
        torch.testing.assert_close(fused[i], sample.pred_fused.data, rtol=0, atol=1e-6)


def test_dynamic_export_round_trips_at_other_sizes(tmp_path):
    model = seeded_model(BASELINE_CONFIG, **{'network.channels': 8})
    out = tmp_path / 'conv.onnx'
    result = export_onnx(model, str(out), shape=(24, 32), dynamic=True,
                         metadata=dict(config=BASELINE_CONFIG))
    assert result.outputs == ['pred_dehazed', 'pred_fused']
    assert all(d <= DEFAULT_TOLERANCE for d in result.max_abs_diff.values())
    proto = onnx.load(str(out))
    dims = [[d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim]
            for i in proto.graph.input]
    assert dims == [[1, 3, 'height', 'width'], [1, 1, 'height', 'width']]
    infer = OnnxInferencer(str(out))
    assert infer.size is None and infer.metadata['config'] == BASELINE_CONFIG
    wrapper = OnnxExportWrapper(model).eval()
    for h, w in ((24, 32), (17, 45), (40, 9)):
        vis, ir = example_inputs(1, 1, h, w, seed=h)
        got = infer.run(vis.numpy(), ir.numpy())
        with torch.no_grad():
            expected = dict(zip(result.outputs, wrapper(vis, ir)))
        for name, ref in expected.items():
            assert got[name].shape == (1, 3, h, w)
            assert 0.05 < ((ref > 0.01) & (ref < 0.99)).float().mean()  # not all clamped
            assert abs(torch.from_numpy(got[name]) - ref).max() <= DEFAULT_TOLERANCE


def test_static_export_runs_only_at_its_size(tmp_path):
    model = seeded_model(BASELINE_CONFIG, **{'network.channels': 8})
    out = str(tmp_path / 'static.onnx')
    result = export_onnx(model, out, shape=(20, 28), ir_channels=3)
    assert not result.dynamic and result.checked_shapes == [(20, 28)]
    infer = OnnxInferencer(out)
    assert infer.size == (20, 28) and infer.ir_channels == 3
    with pytest.raises(ExportError, match=r'exported for 20×28 .*--dynamic'):
        infer.run(*(x.numpy() for x in example_inputs(1, 3, 20, 30)))
    with pytest.raises(ExportError, match='takes a 3-channel ir'):
        infer.run(*(x.numpy() for x in example_inputs(1, 1, 20, 28)))
    with pytest.raises(ExportError, match='exists'):
        export_onnx(model, out, shape=(20, 28))
    with pytest.raises(ExportError, match='smaller than the model accepts'):
        export_onnx(model, str(tmp_path / 'small.onnx'), shape=(1, 28))


# --------------------------------------------------------------------------- refusals


@MODELS.register_module(force=True)
class Float64ConvNet(nn.Module):
    """A network whose convolution runs in float64 (onnxruntime has no float64 Conv)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1).double()

    def forward(self, vis, ir):
        out = self.conv(vis.double()).float()
        return dict(dehazed=out, fused=out)


@MODELS.register_module(force=True)
class DataDependentNet(nn.Module):
    """A network that branches in Python on a pixel value (no graph can hold that)."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))

    def forward(self, vis, ir):
        out = vis * self.scale if vis.mean() > 0.5 else vis
        return dict(dehazed=out, fused=out)


@pytest.mark.parametrize('network, message', [
    ('Float64ConvNet', r'cannot run the export of network\.conv \(Conv2d\), ONNX Conv on '
                       'float64 in onnxruntime'),
    ('DataDependentNet', r'cannot export network \(DataDependentNet\): torch.export failed'),
])
def test_refusal_names_the_block(network, message, tmp_path):
    model = MODELS.build(dict(type='DehazeFuseModel', network=dict(type=network))).eval()
    out = tmp_path / 'refused.onnx'
    with pytest.raises(ExportError, match=message):
        export_onnx(model, str(out), shape=(16, 16))
    assert not out.exists()
