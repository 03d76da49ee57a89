"""Dehazing networks: a hazy VIS (+ IR) in, a dehazed image (and possibly more) out."""
from .aodnet import AODNet
from .conv_dehaze_fuse_net import ConvDehazeFuseNet
from .dark_channel_prior_dehazer import DarkChannelPriorDehazer
from .dehazeformer import DehazeFormer
from .gcanet import GCANet
from .iassf_restorer import IASSFRestorer
from .k_estimation import KEstimationDehazer, reformulated_scattering
from .light_dehazenet import LightDehazeNet

__all__ = ['AODNet', 'ConvDehazeFuseNet', 'DarkChannelPriorDehazer', 'DehazeFormer', 'GCANet',
           'IASSFRestorer', 'KEstimationDehazer', 'LightDehazeNet', 'reformulated_scattering']
