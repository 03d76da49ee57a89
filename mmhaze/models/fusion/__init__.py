"""Registered blocks of this role (see docs/design.md §2)."""
from .caf import CAF, CAF_PROTOCOLS
from .classical_fusers import (
    AverageFusion,
    LaplacianPyramidFusion,
    LocalEnergyFusion,
    MaxAbsFusion,
    match_sources,
    max_abs,
)
from .csf import CSF, CSF_PROTOCOLS, CSFClassifier, CSFDecoder, CSFEncoder
from .cufd import CUFD, CUFD_PROTOCOLS
from .densefuse import (
    DENSEFUSE_PROTOCOLS,
    DenseFuse,
    DenseFuseDecoder,
    DenseFuseEncoder,
    l1_norm_fusion,
)
from .didfuse import DIDFUSE_PROTOCOLS, DIDFuse, DIDFuseDecoder, DIDFuseEncoder
from .gifnet import GIFNET_PROTOCOLS, GIFNet
from .ifcnn import IFCNN, IFCNN_PROTOCOLS
from .joint_attention_fusion import (
    JointAttentionBlock,
    JointAttentionFusion,
    JointWindowAttention,
)
from .lrrnet import LRRNET_PROTOCOLS, LRRNet
from .pmgi import PMGI, PMGI_PROTOCOLS
from .prompt_fusion_unet import PromptEmbeddingFusionUNet, PromptFusionBlock, channel_plan
from .release_layers import (
    ConvBN,
    ConvNormAct,
    dense_forward,
    reflect_conv,
    same_conv,
    tf_leaky_relu,
)
from .sage import SAGE, SAGE_PROTOCOLS
from .sdnet import SDNET_PROTOCOLS, SDNet
from .seafusion_net import SEAFUSION_PROTOCOLS, GradientResidualDenseBlock, SeAFusionNet
from .stdfusionnet import STDFUSIONNET_PROTOCOLS, STDFusionNet
from .tardal import TARDAL_PROTOCOLS, TarDAL
from .u2fusion_net import U2FUSION_PROTOCOLS, U2FusionNet
from .ydtr import YDTR, YDTR_PROTOCOLS

__all__ = ['PromptEmbeddingFusionUNet', 'PromptFusionBlock', 'channel_plan', 'AverageFusion',
           'MaxAbsFusion', 'LocalEnergyFusion', 'LaplacianPyramidFusion', 'match_sources',
           'max_abs', 'U2FusionNet', 'U2FUSION_PROTOCOLS', 'JointWindowAttention',
           'JointAttentionBlock', 'JointAttentionFusion', 'SeAFusionNet', 'SEAFUSION_PROTOCOLS',
           'GradientResidualDenseBlock', 'IFCNN', 'IFCNN_PROTOCOLS', 'SDNet', 'SDNET_PROTOCOLS',
           'DenseFuse', 'DenseFuseEncoder', 'DenseFuseDecoder', 'DENSEFUSE_PROTOCOLS',
           'l1_norm_fusion', 'dense_forward', 'reflect_conv', 'same_conv', 'tf_leaky_relu',
           'ConvNormAct', 'TarDAL', 'TARDAL_PROTOCOLS', 'LRRNet', 'LRRNET_PROTOCOLS', 'SAGE',
           'SAGE_PROTOCOLS', 'DIDFuse', 'DIDFuseEncoder', 'DIDFuseDecoder', 'DIDFUSE_PROTOCOLS',
           'ConvBN', 'STDFusionNet', 'STDFUSIONNET_PROTOCOLS', 'PMGI', 'PMGI_PROTOCOLS', 'CSF',
           'CSF_PROTOCOLS', 'CSFEncoder', 'CSFDecoder', 'CSFClassifier', 'CUFD',
           'CUFD_PROTOCOLS', 'GIFNet', 'GIFNET_PROTOCOLS', 'CAF', 'CAF_PROTOCOLS', 'YDTR',
           'YDTR_PROTOCOLS']
