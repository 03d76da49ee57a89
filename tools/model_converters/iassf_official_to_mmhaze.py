"""Convert an official IASSF checkpoint into an mmhaze checkpoint.

    python tools/model_converters/iassf_official_to_mmhaze.py IASSF.pth iassf_mmhaze.pth \
        [--config configs/iassf/iassf_official_msrs.py] [--force] [--unsafe-load]

The official file (repo fangjiaqi0909/IASSF, ``train.py``) is a dict with
``dehaze_network_state_dict`` (``models/IASSF.py: IASSF``) and ``fusion_network_state_dict``
(``RestormerUNet``). Every key is mapped onto the model built from ``--config``; the result is
loaded strictly before it is saved. Dropped on purpose, with a notice: ``w_ir``, ``w_vi``,
``ir_scale_conv.weight``, ``vi_scale_conv.weight`` (defined but never used by the official
forward, 1,154 parameters) and the ``relative_positions`` buffers (recomputed from the window
size; checked against it). Any other key that does not map is an error.
"""
from __future__ import annotations

import functools
import re
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:  # torch is imported where it is used, so that --help answers at once
    import torch

from mmhaze.utils.weight_conversion import (
    ConversionError,
    ConverterOption,
    convert_tensors,
    pop_relative_position_tables,
    run_converter,
)

DEFAULT_CONFIG = 'configs/iassf/iassf_official_msrs.py'
# The two official networks are mmhaze IASSF's dehazer and fuser slots.
NETWORK_KEYS = {'dehaze_network_state_dict': 'dehazer.', 'fusion_network_state_dict': 'fuser.'}
#: Parameters of the official IASSF that its forward never uses.
UNUSED_KEYS = ('w_ir', 'w_vi', 'ir_scale_conv.weight', 'vi_scale_conv.weight')
RELATIVE_POSITIONS = 'relative_positions'

# Module prefixes: (official regex, mmhaze replacement). The first match wins; block internals
# are renamed afterwards by the DehazeFormer rules (mmhaze.models.backbones.OFFICIAL_KEY_RENAMES).
_DEHAZE_PREFIXES: list[tuple[str, str]] = [
    (r'^restormer_encoder\.mlp\.', 'encoder.entry.'),
    (r'^restormer_encoder\.', 'encoder.'),
    (r'^conv24_3\.', 'ir_projection.'),
    (r'^PromptGenerationAndEmbeddingBlock\.prompt_param$', 'restoration_prompt.pool.prompts'),
    (r'^PromptGenerationAndEmbeddingBlock\.linear_layer\.',
     'restoration_prompt.weight_predictor.'),
    (r'^PromptGenerationAndEmbeddingBlock\.conv3x3_gen\.', 'restoration_prompt.conv3x3.'),
    (r'^PromptGenerationAndEmbeddingBlock\.attention\.', 'restoration_embedding.attention.'),
    (r'^PromptGenerationAndEmbeddingBlock\.conv1x1_embed\.', 'restoration_embedding.conv1x1.'),
    (r'^PromptGenerationAndEmbeddingBlock\.conv3x3_embed\.', 'restoration_embedding.conv3x3.'),
    (r'^(patch_embed|skip[012]|layer[1-5]|patch_merge[12]|patch_split[12]|fusion[123]|'
     r'patch_unembed)\.', r'restoration_head.\1.'),
]
# Official fusion blocks in forward order: encoder1..3 then decoder3, decoder2.
_FUSION_BLOCKS = {'encoder1': 0, 'encoder2': 1, 'encoder3': 2, 'decoder3': 3, 'decoder2': 4}
_FUSION_PREFIXES: list[tuple[str, str]] = [
    (r'^prompt_gen_block\.prompt_param$', 'prompt_generator.pool.prompts'),
    (r'^prompt_gen_block\.linear_layer\.', 'prompt_generator.weight_predictor.'),
    (r'^prompt_gen_block\.conv3x3\.', 'prompt_generator.conv3x3.'),
    (r'^prompt_gen_block\.adjust_channels\.', 'prompt_generator.conv1x1.'),
    (r'^prompt_gen_block\.conv1\.', 'prompt_generator.diff_conv.'),
    (r'^(encoder[123]|decoder[23])\.mlp\.',
     lambda m: f'blocks.{_FUSION_BLOCKS[m.group(1)]}.transformer.entry.'),
    (r'^(encoder[123]|decoder[23])\.',
     lambda m: f'blocks.{_FUSION_BLOCKS[m.group(1)]}.transformer.'),
    (r'^prompt_in_blocks_enc\.([0-2])\.', r'blocks.\1.embedding.'),
    (r'^prompt_in_blocks_dec\.([01])\.', lambda m: f'blocks.{3 + int(m.group(1))}.embedding.'),
    (r'^prompt_adjust_conv_enc\.([0-2])\.', r'blocks.\1.prompt_adapter.'),
    (r'^prompt_adjust_conv_dec\.([01])\.',
     lambda m: f'blocks.{3 + int(m.group(1))}.prompt_adapter.'),
    (r'^skip_conv1\.', 'skip_convs.0.'),
    (r'^skip_conv2\.', 'skip_convs.1.'),
    (r'^final_conv\.', 'head.'),
]


def _block_renames() -> list[tuple[str, str]]:
    from mmhaze.models.backbones import OFFICIAL_KEY_RENAMES
    return OFFICIAL_KEY_RENAMES


def map_key(network: str, key: str) -> Optional[str]:
    """Official key of ``network`` (a :data:`NETWORK_KEYS` entry) → mmhaze key (None: no
    counterpart)."""
    prefixes = _DEHAZE_PREFIXES if network == 'dehaze_network_state_dict' else _FUSION_PREFIXES
    for pattern, repl in prefixes:
        new, n = re.subn(pattern, repl, key, count=1)
        if n:
            break
    else:
        return None
    for pattern, repl in _block_renames():
        new = re.sub(pattern, repl, new)
    return NETWORK_KEYS[network] + new


def convert_state_dict(official: dict[str, dict[str, torch.Tensor]],
                       target_keys: dict[str, torch.Size]) -> tuple[dict[str, torch.Tensor],
                                                                    list[str]]:
    """Map both official state dicts onto ``target_keys`` (mmhaze key → shape), each onto the
    keys of its slot.

    Returns the mmhaze state dict and the notices (dropped keys). Raises
    :class:`ConversionError` listing every unmapped key, shape mismatch or missing target.
    """
    missing_networks = [k for k in NETWORK_KEYS if k not in official]
    if missing_networks:
        raise ConversionError(f'not an official IASSF checkpoint: no {missing_networks} '
                              f'(top-level keys: {sorted(official)[:10]})')
    out: dict[str, torch.Tensor] = {}
    notices: list[str] = []
    errors: list[str] = []
    dropped_buffers = 0
    for network, slot in NETWORK_KEYS.items():
        tensors = dict(official[network])
        if network == 'dehaze_network_state_dict':
            for key in UNUSED_KEYS:
                if key in tensors:
                    notices.append(f'dropped {key} {tuple(tensors.pop(key).shape)}: defined but '
                                   'never used by the official forward')
        try:
            weights = pop_relative_position_tables(tensors, RELATIVE_POSITIONS + '$')
            out.update(convert_tensors(
                weights, functools.partial(map_key, network),
                {k: v for k, v in target_keys.items() if k.startswith(slot)},
                notice=notices.append))
        except ConversionError as err:
            errors.append(f'{network}: {err}')
            continue
        dropped_buffers += len(tensors) - len(weights)
    outside = [k for k in target_keys if not k.startswith(tuple(NETWORK_KEYS.values()))]
    if outside:
        errors.append(f'mmhaze keys outside {list(NETWORK_KEYS.values())}: {outside[:3]}')
    if errors:
        raise ConversionError('; '.join(errors))
    notices.append(f'dropped {dropped_buffers} relative_positions buffers (recomputed from the '
                   'window size; checked)')
    return out, notices


def build_model(config: str):
    from mmengine.config import Config

    from mmhaze.registry import MODELS
    from mmhaze.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    return MODELS.build(Config.fromfile(config).model)


def convert(src: str, config: str = DEFAULT_CONFIG) -> dict[str, torch.Tensor]:
    """The state dict of the model of ``config`` holding the official checkpoint at ``src``
    (loaded strictly; the notices printed)."""
    from mmhaze.utils import safe_torch_load
    official = safe_torch_load(src, map_location='cpu')
    model = build_model(config)
    state_dict, notices = convert_state_dict(
        official, {k: v.shape for k, v in model.state_dict().items()})
    model.load_state_dict(state_dict, strict=True)
    for notice in notices:
        print(f'notice: {notice}')
    return model.state_dict()


def main(argv: Optional[Sequence[str]] = None) -> int:
    return run_converter(argv, 'Convert an official IASSF checkpoint', convert, network='IASSF',
                         source='fangjiaqi0909/IASSF', prefix=None,
                         sources=(('src', 'official checkpoint (.pth)'),),
                         options=(ConverterOption('--config', 'mmhaze config of the model',
                                                  default=DEFAULT_CONFIG, input_file=True),))


if __name__ == '__main__':
    sys.exit(main())
