"""Checkpoints of IASSF / ConvDehazeFuser written before the model layer: refused in one line
naming the upgrade tool, and loaded unchanged after one run of it."""
import pytest
import torch
from fixtures import model_fixtures as mf
from helpers import load_tool
from mmengine.config import Config

from mmhaze.registry import MODELS
from mmhaze.utils.checkpoint import CheckpointMismatchError, check_weights_fit, load_weights

upgrade = load_tool('model_converters/upgrade_model_layer_checkpoint')


def old_checkpoint(name, path):
    """A training checkpoint in the pre-model-layer layout (the fixture's key-seeded weights)."""
    fixture = torch.load(mf.FIXTURE_DIR / f'{name}.pt', weights_only=True)
    state = mf.seeded_state_dict(fixture['param_shapes'])
    torch.save(dict(state_dict=state, meta=dict(iter=7), optimizer=dict(state={}, lr=[0.1])),
               path)
    return fixture


@pytest.mark.parametrize('name,layout', [('iassf_tiny', 'IASSF'),
                                         ('conv_dehaze_fuser', 'ConvDehazeFuser')])
def test_old_checkpoint_is_refused_then_upgraded_once(name, layout, tmp_path, capsys):
    old, new = tmp_path / 'old.pth', tmp_path / 'new.pth'
    fixture = old_checkpoint(name, old)
    model = MODELS.build(Config.fromfile(str(mf.REPO_ROOT / fixture['config'])).model).eval()
    with pytest.raises(CheckpointMismatchError) as err:
        check_weights_fit(model, str(old))
    message = str(err.value)
    assert '\n' not in message
    assert 'written before the model layer' in message and 'another model' in message
    assert 'tools/model_converters/upgrade_model_layer_checkpoint.py' in message

    assert upgrade.main([str(old), str(new)]) == 0
    assert f'of {layout} moved to' in capsys.readouterr().out
    converted = torch.load(new, weights_only=True)
    assert converted['meta'] == dict(iter=7) and converted['optimizer']['lr'] == [0.1]
    assert load_weights(model, str(new)) is None  # every weight fits, strictly
    batch = model.data_preprocessor(mf.fixture_batch(*mf.CASES[name][1:]), training=False)
    with torch.no_grad():
        outputs = model.forward_networks(batch['inputs'], model.batch_fields(batch['inputs'],
                                                                            None))
    for key, ref in fixture['outputs'].items():
        assert (outputs[key] - ref).abs().max().item() <= 2e-6 * max(1, ref.abs().max().item())


def test_the_upgrade_refuses_its_input_as_output_and_other_checkpoints(tmp_path, capsys):
    old = tmp_path / 'old.pth'
    old_checkpoint('conv_dehaze_fuser', old)
    before = old.read_bytes()
    link = tmp_path / 'link.pth'
    link.symlink_to(old)
    for dst in (old, link):
        assert upgrade.main([str(old), str(dst), '--force']) == 2
        assert 'is an input of the conversion' in capsys.readouterr().err
    assert old.read_bytes() == before
    today = tmp_path / 'today.pth'
    torch.save(dict(state_dict={'network.trunk.0.weight': torch.zeros(1)}), today)
    assert upgrade.main([str(today), str(tmp_path / 'x.pth')]) == 2
    assert 'nothing to upgrade' in capsys.readouterr().err
    assert not (tmp_path / 'x.pth').exists()
