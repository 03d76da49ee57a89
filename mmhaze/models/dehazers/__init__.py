"""Dehazing networks: a hazy VIS (+ IR) in, a dehazed image (and possibly more) out."""
from .conv_dehaze_fuse_net import ConvDehazeFuseNet
from .iassf_restorer import IASSFRestorer

__all__ = ['ConvDehazeFuseNet', 'IASSFRestorer']
