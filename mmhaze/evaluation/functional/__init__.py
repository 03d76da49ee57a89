"""Metric math as batched torch functions (one value per image)."""
from .reference import gaussian_window, psnr, quantize_8bit, ssim

__all__ = ['psnr', 'ssim', 'gaussian_window', 'quantize_8bit']
