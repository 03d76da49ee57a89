"""Visualisation: side-by-side grids of inputs, predictions and labels.

Figures and the HTML report of run folders live in :mod:`.run_results`, :mod:`.result_figures`
and :mod:`.html_report` (imported by their paths: they need the evaluation package and
matplotlib, which the grid writer does not).
"""
from .fusion_visualizer import FusionVisualizer, labels_to_rgb, to_rgb_uint8

__all__ = ['FusionVisualizer', 'to_rgb_uint8', 'labels_to_rgb']
