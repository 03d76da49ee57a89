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

import argparse
import os.path as osp
import re
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported where it is used, so that --help answers at once
    import torch

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


class ConversionError(ValueError):
    """The official checkpoint does not match the mmhaze model."""


def _block_renames() -> list[tuple[str, str]]:
    from mmhaze.models.backbones import OFFICIAL_KEY_RENAMES
    return OFFICIAL_KEY_RENAMES


def map_key(network: str, key: str) -> str:
    """Official key of ``network`` (a :data:`NETWORK_KEYS` entry) → mmhaze key, or raise."""
    prefixes = _DEHAZE_PREFIXES if network == 'dehaze_network_state_dict' else _FUSION_PREFIXES
    for pattern, repl in prefixes:
        new, n = re.subn(pattern, repl, key, count=1)
        if n:
            break
    else:
        raise ConversionError(f'{network}: no mmhaze counterpart for official key {key!r}')
    for pattern, repl in _block_renames():
        new = re.sub(pattern, repl, new)
    return NETWORK_KEYS[network] + new


def convert_state_dict(official: dict[str, dict[str, torch.Tensor]],
                       target_keys: dict[str, torch.Size]) -> tuple[dict[str, torch.Tensor],
                                                                    list[str]]:
    """Map both official state dicts onto ``target_keys`` (mmhaze key → shape).

    Returns the mmhaze state dict and the notices (dropped keys). Raises
    :class:`ConversionError` listing every unmapped key, shape mismatch or missing target.
    """
    import torch

    from mmhaze.models.backbones import log_relative_positions
    missing_networks = [k for k in NETWORK_KEYS if k not in official]
    if missing_networks:
        raise ConversionError(f'not an official IASSF checkpoint: no {missing_networks} '
                              f'(top-level keys: {sorted(official)[:10]})')
    out: dict[str, torch.Tensor] = {}
    notices: list[str] = []
    errors: list[str] = []
    dropped_buffers = 0
    for network in NETWORK_KEYS:
        for key, value in official[network].items():
            if network == 'dehaze_network_state_dict' and key in UNUSED_KEYS:
                notices.append(f'dropped {key} {tuple(value.shape)}: defined but never used by '
                               'the official forward')
                continue
            if key.endswith(RELATIVE_POSITIONS):
                window = int(round(value.shape[0] ** 0.5))
                if not torch.allclose(value.float(), log_relative_positions(window)):
                    errors.append(f'{network}.{key}: unexpected relative positions')
                dropped_buffers += 1
                continue
            try:
                new_key = map_key(network, key)
            except ConversionError as err:
                errors.append(str(err))
                continue
            if new_key not in target_keys:
                errors.append(f'{network}.{key} → {new_key}: not in the mmhaze model')
            elif tuple(target_keys[new_key]) != tuple(value.shape):
                errors.append(f'{network}.{key} → {new_key}: shape {tuple(value.shape)} vs '
                              f'{tuple(target_keys[new_key])}')
            elif new_key in out:
                errors.append(f'{network}.{key} → {new_key}: mapped twice')
            else:
                out[new_key] = value
    errors += [f'mmhaze key {k!r} has no official counterpart'
               for k in target_keys if k not in out]
    if errors:
        raise ConversionError('cannot convert the checkpoint:\n  ' + '\n  '.join(errors))
    notices.append(f'dropped {dropped_buffers} relative_positions buffers (recomputed from the '
                   'window size; checked)')
    return out, notices


def build_model(config: str):
    from mmengine.config import Config

    from mmhaze.registry import MODELS
    from mmhaze.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    return MODELS.build(Config.fromfile(config).model)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Convert an official IASSF checkpoint')
    parser.add_argument('src', help='official checkpoint (.pth)')
    parser.add_argument('dst', help='mmhaze checkpoint to write')
    parser.add_argument('--config', default=DEFAULT_CONFIG, help='mmhaze config of the model')
    parser.add_argument('--force', action='store_true', help='overwrite dst if it exists')
    parser.add_argument('--unsafe-load', action='store_true',
                        help='allow a trusted checkpoint that torch.load(weights_only=True) '
                             'refuses')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmhaze.utils import report_user_errors
    # An unreadable or unsafe release, a full disk: one line.
    return report_user_errors(lambda: convert_and_write(args))


def convert_and_write(args) -> int:
    from mmhaze.utils import UNSAFE_LOAD_ENV, safe_torch_load
    from mmhaze.utils.weight_conversion import refuse_paths, write_converted
    refusal = refuse_paths(args.dst, args.force,
                           [('checkpoint', args.src), ('config', args.config)],
                           inputs=[args.src, args.config])
    if refusal:
        print(f'error: {refusal}', file=sys.stderr)
        return 2
    if args.unsafe_load:
        import os
        os.environ[UNSAFE_LOAD_ENV] = '1'
    official = safe_torch_load(args.src, map_location='cpu')
    model = build_model(args.config)
    target = {k: v.shape for k, v in model.state_dict().items()}
    try:
        state_dict, notices = convert_state_dict(official, target)
    except ConversionError as err:
        print(f'error: {args.src}: {err}', file=sys.stderr)
        return 1
    model.load_state_dict(state_dict, strict=True)
    for notice in notices:
        print(f'notice: {notice}')
    write_converted(model.state_dict(), args.dst,
                    dict(converted_from=osp.basename(args.src), config=args.config))
    return 0


if __name__ == '__main__':
    sys.exit(main())
