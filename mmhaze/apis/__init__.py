from .config_check import ConfigError, check_config, load_config
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

__all__ = ['ConfigError', 'check_config', 'load_config', 'prepare_config', 'build_runner',
           'apply_resume', 'enable_amp', 'enable_auto_scale_lr', 'setup_cpu_distributed',
           'close_distributed', 'prepare_test', 'finish_test']
from .inferencer import FusionInferencer  # noqa: E402

__all__ += ['FusionInferencer']
