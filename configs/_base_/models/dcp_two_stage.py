# Dark-channel-prior dehazing (He et al.: 15×15 patches, ω 0.95, the most intense of the top
# 0.1 % dark-channel pixels as airlight, t0 0.1, guided-filter refinement r 60, ε 1e-4), then a
# classical fuser on the dehazed Y and the IR (the dehazed CbCr restored). Training-free.
model = dict(
    type='TwoStageDehazeFuse',
    dehazer=dict(type='DarkChannelPriorDehazer'),
    fuser=dict(type='AverageFusion'),
    color_mode='ycbcr',
    data_preprocessor=dict(type='FusionDataPreprocessor', ir_channels=1))
