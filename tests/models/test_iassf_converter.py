"""The official-checkpoint converter on a random state dict with the official key names.

The official names are produced here by an inverse mapping written independently of the
converter's; converting them back must give every mmhaze tensor exactly once.
"""
import re

import pytest
import torch
from helpers import REPO_ROOT, load_tool
from mmengine.config import Config

from mmhaze.registry import MODELS

converter = load_tool('model_converters/iassf_official_to_mmhaze')
upgrade = load_tool('model_converters/upgrade_model_layer_checkpoint')
CONFIG = REPO_ROOT / 'configs/iassf/iassf_official_msrs.py'

# mmhaze → official, applied in order (first module prefix, then block internals).
_FUSION_NAMES = ['encoder1', 'encoder2', 'encoder3', 'decoder3', 'decoder2']
_INVERSE_PREFIX = [
    (r'^dehazer\.encoder\.entry\.', 'D:restormer_encoder.mlp.'),
    (r'^dehazer\.encoder\.', 'D:restormer_encoder.'),
    (r'^dehazer\.ir_projection\.', 'D:conv24_3.'),
    (r'^dehazer\.restoration_prompt\.pool\.prompts$',
     'D:PromptGenerationAndEmbeddingBlock.prompt_param'),
    (r'^dehazer\.restoration_prompt\.weight_predictor\.',
     'D:PromptGenerationAndEmbeddingBlock.linear_layer.'),
    (r'^dehazer\.restoration_prompt\.conv3x3\.',
     'D:PromptGenerationAndEmbeddingBlock.conv3x3_gen.'),
    (r'^dehazer\.restoration_embedding\.mixer\.',
     'D:PromptGenerationAndEmbeddingBlock.attention.'),
    (r'^dehazer\.restoration_embedding\.conv1x1\.',
     'D:PromptGenerationAndEmbeddingBlock.conv1x1_embed.'),
    (r'^dehazer\.restoration_embedding\.conv3x3\.',
     'D:PromptGenerationAndEmbeddingBlock.conv3x3_embed.'),
    (r'^dehazer\.restoration_head\.', 'D:'),
    (r'^fuser\.prompt_generator\.pool\.prompts$', 'F:prompt_gen_block.prompt_param'),
    (r'^fuser\.prompt_generator\.weight_predictor\.', 'F:prompt_gen_block.linear_layer.'),
    (r'^fuser\.prompt_generator\.conv3x3\.', 'F:prompt_gen_block.conv3x3.'),
    (r'^fuser\.prompt_generator\.conv1x1\.', 'F:prompt_gen_block.adjust_channels.'),
    (r'^fuser\.prompt_generator\.diff_conv\.', 'F:prompt_gen_block.conv1.'),
    (r'^fuser\.blocks\.(\d)\.transformer\.entry\.',
     lambda m: f'F:{_FUSION_NAMES[int(m[1])]}.mlp.'),
    (r'^fuser\.blocks\.(\d)\.transformer\.', lambda m: f'F:{_FUSION_NAMES[int(m[1])]}.'),
    (r'^fuser\.blocks\.(\d)\.embedding\.mixer\.',
     lambda m: (f'F:prompt_in_blocks_enc.{m[1]}.attention.' if int(m[1]) < 3
                else f'F:prompt_in_blocks_dec.{int(m[1]) - 3}.attention.')),
    (r'^fuser\.blocks\.(\d)\.embedding\.',
     lambda m: (f'F:prompt_in_blocks_enc.{m[1]}.' if int(m[1]) < 3
                else f'F:prompt_in_blocks_dec.{int(m[1]) - 3}.')),
    (r'^fuser\.blocks\.(\d)\.prompt_adapter\.',
     lambda m: (f'F:prompt_adjust_conv_enc.{m[1]}.' if int(m[1]) < 3
                else f'F:prompt_adjust_conv_dec.{int(m[1]) - 3}.')),
    (r'^fuser\.skip_convs\.0\.', 'F:skip_conv1.'),
    (r'^fuser\.skip_convs\.1\.', 'F:skip_conv2.'),
    (r'^fuser\.head\.', 'F:final_conv.'),
]
_INVERSE_INNER = [
    (r'\.mixer\.attn\.position_bias_mlp\.', '.attn.attn.meta.'),
    (r'\.attention\.attn\.position_bias_mlp\.', '.attention.attn.meta.'),
    (r'\.mixer\.', '.attn.'),
    (r'\.qk\.', '.QK.'), (r'\.v\.', '.V.'),
    (r'\.rescale_proj\.', '.meta1.'), (r'\.rebias_proj\.', '.meta2.'),
    (r'\.fc1\.', '.mlp.0.'), (r'\.fc2\.', '.mlp.2.'),
]


def _to_official(key):
    for pattern, repl in _INVERSE_PREFIX:
        new, n = re.subn(pattern, repl, key, count=1)
        if n:
            break
    else:
        raise AssertionError(f'no inverse rule for {key}')
    for pattern, repl in _INVERSE_INNER:
        new = re.sub(pattern, repl, new)
    net, name = new.split(':', 1)
    return net, name


@pytest.fixture(scope='module')
def model():
    return MODELS.build(Config.fromfile(str(CONFIG)).model)


@pytest.fixture(scope='module')
def official(model):
    """A random checkpoint in the official format (plus its unused keys and buffers)."""
    torch.manual_seed(0)
    dehaze, fusion = {}, {}
    for key, value in model.state_dict().items():
        net, name = _to_official(key)
        (dehaze if net == 'D' else fusion)[name] = torch.randn_like(value)
    dehaze.update({'w_ir': torch.ones(1), 'w_vi': torch.ones(1),
                   'ir_scale_conv.weight': torch.randn(24, 24, 1, 1),
                   'vi_scale_conv.weight': torch.randn(24, 24, 1, 1)})
    for name, module in model.named_modules():
        if type(module).__name__ == 'WindowSelfAttention':
            net, official_name = _to_official(name.replace('.mixer.attn', '.mixer.attn.x'))
            target = dehaze if net == 'D' else fusion
            target[official_name[:-1] + 'relative_positions'] = module.relative_positions.clone()
    return {'dehaze_network_state_dict': dehaze, 'fusion_network_state_dict': fusion}


def test_official_format_matches_the_release(official):
    dehaze, fusion = official['dehaze_network_state_dict'], official['fusion_network_state_dict']
    # Key counts of the release's state dicts (IASSF: 552, RestormerUNet: 227, buffers included).
    assert len(dehaze) == 552 and len(fusion) == 227
    assert dehaze['PromptGenerationAndEmbeddingBlock.prompt_param'].shape == (1, 5, 24, 256, 256)
    assert fusion['prompt_gen_block.prompt_param'].shape == (1, 5, 6, 256, 256)
    for key, shape in [('restormer_encoder.mlp.weight', (24, 3, 1, 1)),
                       ('restormer_encoder.attn.QK.weight', (48, 24, 1, 1)),
                       ('restormer_encoder.ffn.mlp.0.weight', (63, 24, 1, 1)),
                       ('layer1.blocks.6.attn.attn.meta.2.weight', (2, 256)),
                       ('layer3.blocks.2.attn.conv.weight', (96, 1, 5, 5)),
                       ('layer1.blocks.7.norm1.meta1.weight', (24, 1, 1, 1)),
                       ('fusion3.mlp.2.weight', (48, 4, 1, 1)),
                       ('skip0.weight', (24, 24, 1, 1)),
                       ('patch_unembed.proj.0.weight', (3, 24, 3, 3)),
                       ('PromptGenerationAndEmbeddingBlock.attention.QK.weight', (96, 48, 1, 1))]:
        assert tuple(dehaze[key].shape) == shape, key
    for key, shape in [('prompt_gen_block.conv1.weight', (6, 3, 1, 1)),
                       ('prompt_gen_block.adjust_channels.weight', (6, 6, 1, 1)),
                       ('encoder3.mlp.weight', (24, 12, 1, 1)),
                       ('decoder2.ffn.mlp.2.weight', (6, 15, 1, 1)),
                       ('prompt_in_blocks_dec.0.attention.V.weight', (24, 24, 1, 1)),
                       ('prompt_adjust_conv_dec.0.weight', (12, 6, 1, 1)),
                       ('skip_conv2.weight', (12, 12, 1, 1)),
                       ('final_conv.weight', (3, 6, 1, 1))]:
        assert tuple(fusion[key].shape) == shape, key
    assert 'layer3.blocks.7.attn.attn.relative_positions' in dehaze
    assert 'encoder1.attn.attn.relative_positions' in fusion


def test_conversion_round_trip_and_notices(model, official):
    target = {k: v.shape for k, v in model.state_dict().items()}
    state, notices = converter.convert_state_dict(official, target)
    assert len(state) == len(target) == 751
    for key in target:
        net, name = _to_official(key)
        source = official['dehaze_network_state_dict' if net == 'D' else
                          'fusion_network_state_dict'][name]
        assert torch.equal(state[key], source), key
    dropped = ' '.join(notices)
    for key in ('w_ir', 'w_vi', 'ir_scale_conv.weight', 'vi_scale_conv.weight'):
        assert f'dropped {key}' in dropped
    assert 'dropped 24 relative_positions' in dropped
    model.load_state_dict(state, strict=True)


def test_conversion_errors_name_the_key(model, official):
    target = {k: v.shape for k, v in model.state_dict().items()}
    bad = {k: dict(v) for k, v in official.items()}
    bad['dehaze_network_state_dict']['extra_head.weight'] = torch.zeros(1)
    with pytest.raises(converter.ConversionError, match='extra_head.weight'):
        converter.convert_state_dict(bad, target)
    bad = {k: dict(v) for k, v in official.items()}
    del bad['fusion_network_state_dict']['final_conv.bias']
    with pytest.raises(converter.ConversionError, match='fuser.head.bias'):
        converter.convert_state_dict(bad, target)
    bad = {k: dict(v) for k, v in official.items()}
    bad['fusion_network_state_dict']['skip_conv1.weight'] = torch.zeros(6, 6, 3, 3)
    with pytest.raises(converter.ConversionError, match='shape'):
        converter.convert_state_dict(bad, target)
    with pytest.raises(converter.ConversionError, match='not an official IASSF'):
        converter.convert_state_dict({'state_dict': {}}, target)


def test_cli_writes_a_safe_checkpoint_and_refuses_to_overwrite(official, tmp_path, capsys):
    src, dst = tmp_path / 'IASSF.pth', tmp_path / 'iassf_mmhaze.pth'
    torch.save(official, src)
    assert converter.main([str(src), str(dst), '--config', str(CONFIG)]) == 0
    out = capsys.readouterr().out
    assert 'dropped w_ir' in out and '11,197,422 parameters' in out
    ckpt = torch.load(dst, weights_only=True)
    assert torch.equal(ckpt['state_dict']['fuser.head.weight'],
                       official['fusion_network_state_dict']['final_conv.weight'])
    assert converter.main([str(src), str(dst), '--config', str(CONFIG)]) == 2
    assert 'exists' in capsys.readouterr().err


def test_a_checkpoint_in_the_layout_before_the_model_layer_is_refused_then_upgraded_once(
        model, official, tmp_path, capsys):
    """Converter outputs and training checkpoints written before the networks moved into the
    dehazer/fuser slots (keys like `encoder.*`, `fusion.*`) are refused with the upgrade
    command in the message; the upgraded file loads strictly, every tensor in its place."""
    from mmengine.runner import load_checkpoint

    from mmhaze.utils.checkpoint import check_weights_fit, save_safe_checkpoint
    target = {k: v.shape for k, v in model.state_dict().items()}
    state, _ = converter.convert_state_dict(official, target)
    old = {(k[len('dehazer.'):] if k.startswith('dehazer.') else 'fusion.' + k[len('fuser.'):]):
           v for k, v in state.items()}
    assert 'encoder.entry.weight' in old and 'fusion.head.weight' in old
    path = tmp_path / 'old_layout.pth'
    save_safe_checkpoint(dict(state_dict=old, meta=dict()), str(path))
    fresh = MODELS.build(Config.fromfile(str(CONFIG)).model)
    refusal = check_weights_fit(fresh, str(path), strict=False)
    assert "under none of the model's network slots ['dehazer', 'fuser']" in refusal
    assert 'upgrade_model_layer_checkpoint.py' in refusal
    upgraded = tmp_path / 'upgraded.pth'
    assert upgrade.main([str(path), str(upgraded)]) == 0
    assert check_weights_fit(fresh, str(upgraded)) is None
    load_checkpoint(fresh, str(upgraded), map_location='cpu', strict=True)
    for key, value in fresh.state_dict().items():
        assert torch.equal(value, state[key]), key
