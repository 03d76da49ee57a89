from .synthetic import SyntheticFusionDataset
from .synthetic_scene import CLASSES, HazeParams, SyntheticScene, render_scene
from .transforms import *  # noqa: F401,F403

__all__ = ['SyntheticFusionDataset', 'render_scene', 'SyntheticScene', 'HazeParams', 'CLASSES']
