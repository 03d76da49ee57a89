"""Keeps every checkpoint mmhaze writes loadable with ``torch.load(weights_only=True)``."""
from __future__ import annotations

from mmengine.hooks import Hook

from mmhaze.registry import HOOKS
from mmhaze.utils.checkpoint import from_weights_only_safe, to_weights_only_safe

# Keys whose content is plain tensors already; walking them would only cost time.
_TENSOR_ONLY_KEYS = ('state_dict', 'ema_state_dict')


@HOOKS.register_module()
class SafeCheckpointHook(Hook):
    """Convert the message hub and metadata to safe types on save, rebuild them on load.

    It runs last on save (lowest priority), after every other hook added its part, and it is
    registered in ``default_hooks`` of ``configs/_base_/default_runtime.py`` so a child config's
    ``custom_hooks`` cannot drop it.
    """

    priority = 'LOWEST'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        for key in list(checkpoint):
            if key not in _TENSOR_ONLY_KEYS:
                checkpoint[key] = to_weights_only_safe(checkpoint[key], f'checkpoint[{key!r}]')

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if 'message_hub' in checkpoint:
            checkpoint['message_hub'] = from_weights_only_safe(checkpoint['message_hub'])
