"""Registered blocks of this role (see docs/design.md §2)."""
from .dark_channel_prior import (
    atmospheric_light,
    box_filter,
    dark_channel,
    guided_filter,
    raw_transmission,
)
from .haze_density import PRESETS as HAZE_DENSITY_PRESETS
from .haze_density import HazeDensityEstimator

__all__ = ['dark_channel', 'atmospheric_light', 'raw_transmission', 'guided_filter',
           'box_filter',            'HazeDensityEstimator', 'HAZE_DENSITY_PRESETS']
