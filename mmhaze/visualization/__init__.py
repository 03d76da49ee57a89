"""Visualisation: side-by-side grids of inputs, predictions and labels."""
from .fusion_visualizer import FusionVisualizer, labels_to_rgb, to_rgb_uint8

__all__ = ['FusionVisualizer', 'to_rgb_uint8', 'labels_to_rgb']
