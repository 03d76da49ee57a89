"""mmengine's log processor, with the training stage in every training log line."""
from __future__ import annotations

import re

from mmengine.runner import LogProcessor

from mmhaze.registry import LOG_PROCESSORS

# "Iter(train) [ 10/300]  " or "Epoch(train) [1][ 10/100]  ": where the stage goes.
_PREFIX = re.compile(r'^(\S+\(\w+\)\s*(?:\[[^\]]*\])+\s+)')


@LOG_PROCESSORS.register_module()
class FusionLogProcessor(LogProcessor):
    """``Iter(train) [ 10/300]  stage: semantic  lr: …`` when the model trains in stages."""

    def get_log_after_iter(self, runner, batch_idx: int, mode: str) -> tuple[dict, str]:
        tag, log_str = super().get_log_after_iter(runner, batch_idx, mode)
        stage = runner.message_hub.get_info('stage') if mode == 'train' else None
        if stage:
            match = _PREFIX.match(log_str)
            cut = match.end() if match else 0
            log_str = f'{log_str[:cut]}stage: {stage}  {log_str[cut:]}'
        return tag, log_str
