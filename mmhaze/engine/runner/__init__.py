from .fusion_log_processor import FusionLogProcessor
from .multi_loops import MultiTestLoop, MultiValLoop

__all__ = ['FusionLogProcessor', 'MultiTestLoop', 'MultiValLoop']
