"""Today's models reproduce the seeded fixtures written before the model-layer refactor.

The fixtures (tests/fixtures/models/*.pt, written by tests/fixtures/model_fixtures.py at
commit 43c6d13) hold key-seeded weights, a batch, the outputs, the losses and the gradient norms.
A refactor changes no number: outputs, losses and gradients agree within 1e-6.
"""
import pytest
import torch
from fixtures import model_fixtures as mf
from mmengine.config import Config

from mmhaze.models.fusers.base_fusion_model import upgrade_legacy_keys
from mmhaze.registry import MODELS


def _load(name):
    fixture = torch.load(mf.FIXTURE_DIR / f'{name}.pt', weights_only=True)
    model = MODELS.build(Config.fromfile(str(mf.REPO_ROOT / fixture['config'])).model)
    state = mf.seeded_state_dict(fixture['param_shapes'])
    assert mf.state_dict_digest(state) == fixture['digest']
    # The fixture's keys are the pre-refactor layout: the model maps them on load.
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not unexpected
    assert not [k for k in missing if k in dict(model.named_parameters())]
    return fixture, model


@pytest.mark.parametrize('name', sorted(mf.CASES))
def test_outputs_losses_and_gradients_match_the_fixture(name):
    fixture, model = _load(name)
    batch_size, size = mf.CASES[name][1], mf.CASES[name][2]
    data = mf.fixture_batch(batch_size, size)
    for key in ('vis', 'ir'):
        got = torch.stack([(t * 255).round().to(torch.uint8) for t in data['inputs'][key]])
        assert torch.equal(got, fixture['images'][key])
    model.eval()
    with torch.no_grad():
        batch = model.data_preprocessor(data, training=False)
        inputs = batch['inputs']
        outputs = model.forward_networks(inputs, model.batch_fields(inputs, None))
        tensors = model(inputs, mode='tensor')
    assert set(tensors) == {'dehazed', 'fused'}
    for key, ref in fixture['outputs'].items():
        assert (outputs[key] - ref).abs().max().item() <= 1e-6, key
        if key in tensors:
            assert torch.equal(tensors[key], outputs[key])
    model.train()
    batch = model.data_preprocessor(mf.fixture_batch(batch_size, size), training=True)
    losses = model(**batch, mode='loss')
    assert sorted(losses) == sorted(fixture['losses'])
    for key, ref in fixture['losses'].items():
        assert losses[key].item() == pytest.approx(ref, abs=1e-6), key
    sum(losses.values()).backward()
    grads = {k: p.grad.double().norm().item() for k, p in model.named_parameters()
             if p.grad is not None}
    expected = dict(fixture['grad_norms'])
    upgrade_legacy_keys(expected, '', model.LEGACY_KEY_PREFIXES, model.network_names)
    assert sorted(grads) == sorted(expected)
    for key, ref in expected.items():
        assert grads[key] == pytest.approx(ref, rel=1e-5, abs=1e-6), key
