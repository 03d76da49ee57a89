# AOD-Net as released (MayankSingal/PyTorch-Image-Dehazing, a PyTorch re-implementation of Li et
# al., ICCV 2017): a dehazing-only model (TwoStageDehazeFuse with no fuser). Outside training the
# 'release' dehazer protocol makes pred_dehazed as the release's dehaze.py saved it: the image as
# 8-bit values /255, J = ReLU(K·I − K + 1), clamped, ×255 in float32 and truncated (the
# torchvision of 2018). 1,761 parameters. Weights: convert the release with
#   python tools/model_converters/aodnet_official_to_mmhaze.py \
#       $MMHAZE_SHARED_DATA/zoo/aodnet/dehazer.pth checkpoints/aodnet_release.pth
aodnet_checkpoint = 'checkpoints/aodnet_release.pth'
model = dict(
    type='TwoStageDehazeFuse',
    dehazer=dict(type='AODNet',
                 init_cfg=dict(type='Pretrained', checkpoint=aodnet_checkpoint,
                               prefix='dehazer.')),
    dehazer_protocol='release',
    data_preprocessor=dict(type='FusionDataPreprocessor', input_range=(0.0, 1.0),
                           pad_size_divisor=1, ir_channels=1))
