from .base_fuser import BaseDehazeFuser
from .conv_dehaze_fuser import ConvDehazeFuser

__all__ = ['BaseDehazeFuser', 'ConvDehazeFuser']
