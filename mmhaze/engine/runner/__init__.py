from .fusion_log_processor import FusionLogProcessor
from .multi_loops import MultiTestLoop, MultiValLoop
from .run_dir_runner import UniqueRunDirRunner

__all__ = ['FusionLogProcessor', 'MultiTestLoop', 'MultiValLoop', 'UniqueRunDirRunner']
