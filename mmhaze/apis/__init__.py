"""mmhaze's high-level API: config checking, runner set-up, testing and inference.

Names load on first use (PEP 562): a tool that needs one part (``eval_folder.py`` imports
:mod:`mmhaze.apis.testing`) does not pay for the runner stack (mmengine's model and optimizer
modules, about 2 s of start-up).
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Each public name and the submodule that defines it.
_EXPORTS = {
    'ConfigError': 'config_check', 'check_config': 'config_check', 'load_config': 'config_check',
    'prepare_config': 'runner_setup', 'build_runner': 'runner_setup',
    'apply_resume': 'runner_setup', 'enable_amp': 'runner_setup',
    'enable_auto_scale_lr': 'runner_setup', 'setup_cpu_distributed': 'runner_setup',
    'close_distributed': 'runner_setup', 'prepare_test': 'testing', 'finish_test': 'testing',
    'FusionInferencer': 'inferencer',
}
__all__ = ['ConfigError', 'check_config', 'load_config', 'prepare_config', 'build_runner',
           'apply_resume', 'enable_amp', 'enable_auto_scale_lr', 'setup_cpu_distributed',
           'close_distributed', 'prepare_test', 'finish_test', 'FusionInferencer']


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    value = getattr(importlib.import_module(f'.{module}', __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:
    from .config_check import ConfigError, check_config, load_config
    from .inferencer import FusionInferencer
    from .runner_setup import (
        apply_resume,
        build_runner,
        close_distributed,
        enable_amp,
        enable_auto_scale_lr,
        prepare_config,
        setup_cpu_distributed,
    )
    from .testing import finish_test, prepare_test
