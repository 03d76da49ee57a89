from .multi_loops import MultiTestLoop, MultiValLoop
from .run_dir_runner import UniqueRunDirRunner

__all__ = ['MultiTestLoop', 'MultiValLoop', 'UniqueRunDirRunner']
