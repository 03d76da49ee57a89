"""Dehazing networks: a hazy VIS (+ IR) in, a dehazed image (and possibly more) out."""
from .conv_dehaze_fuse_net import ConvDehazeFuseNet
from .dark_channel_prior_dehazer import DarkChannelPriorDehazer
from .dehazeformer import DehazeFormer
from .iassf_restorer import IASSFRestorer

__all__ = ['ConvDehazeFuseNet', 'DarkChannelPriorDehazer', 'DehazeFormer', 'IASSFRestorer']
