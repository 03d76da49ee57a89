from .haze_synthesis import (
    HAZE_PRESETS,
    HazeConfig,
    apply_haze,
    build_haze_config,
    fit_scattering_model,
    sample_haze,
)
from .layouts import LAYOUTS, FolderLayout, get_layout
from .paired_dataset import PairedFusionDataset
from .synthetic import SyntheticFusionDataset
from .synthetic_scene import CLASSES, HazeParams, SyntheticScene, render_scene
from .transforms import *  # noqa: F401,F403

__all__ = [
    'SyntheticFusionDataset', 'render_scene', 'SyntheticScene', 'HazeParams', 'CLASSES',
    'PairedFusionDataset', 'FolderLayout', 'LAYOUTS', 'get_layout', 'HAZE_PRESETS', 'HazeConfig',
    'build_haze_config', 'sample_haze', 'apply_haze', 'fit_scattering_model'
]
