"""Registered blocks of this role (see DESIGN.md §2)."""
from .base_fuser import BaseDehazeFuser
from .conv_dehaze_fuser import ConvDehazeFuser
from .iassf import IASSF

__all__ = ['BaseDehazeFuser', 'ConvDehazeFuser', 'IASSF']
