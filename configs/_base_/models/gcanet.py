# GCANet as released for dehazing (cddlyf/GCANet, Chen et al., WACV 2019): a dehazing-only model
# (TwoStageDehazeFuse with no fuser). The network takes the RGB image in 0-255 (its value_range:
# the model converts) with GCANet's edge channel (in_channels=4), minus input_offset 128, and adds
# its output to the image (only_residual). Outside training the 'release' dehazer protocol makes
# pred_dehazed as the release's test.py saved it: the image as 8-bit values, output rounded (ties
# to even, torch.round) and clamped to 0-255. The release resizes images whose sides are not
# multiples of 4; mmhaze keeps their size (the network reflect-pads an odd side by one pixel).
# 702,818 parameters. Weights: convert the release with
#   python tools/model_converters/gcanet_official_to_mmhaze.py \
#       $MMHAZE_SHARED_DATA/zoo/gcanet/wacv_gcanet_dehaze.pth checkpoints/gcanet_release.pth
gcanet_checkpoint = 'checkpoints/gcanet_release.pth'
model = dict(
    type='TwoStageDehazeFuse',
    dehazer=dict(type='GCANet', in_channels=4, only_residual=True, input_offset=128.0,
                 init_cfg=dict(type='Pretrained', checkpoint=gcanet_checkpoint,
                               prefix='dehazer.')),
    dehazer_protocol='release',
    data_preprocessor=dict(type='FusionDataPreprocessor', input_range=(0.0, 1.0),
                           pad_size_divisor=1, ir_channels=1))
