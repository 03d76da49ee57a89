# LRRNet as released (hli1221/imagefusion-LRRNet, model/final_lrr_net_lam2_1.5_wir_3.0_lam3_gram_
# 2000_epoch_4_block_4.model): TwoStageDehazeFuse with no dehazer. The network fuses the visible
# image's gray reading with the gray IR and the visible chroma is restored (mmhaze's JPEG YCbCr:
# the release reads gray files only); outside training the 'release' protocol is applied to
# pred_fused itself, as the published images were made: both sources read by OpenCV as gray,
# each min-max normalised on its 0-255 values, (x - min)/(max - min + 1e-5); the output min-max
# stretched in float32 with 1e-5 added to the span, x255, truncated to uint8.
# 49,204 parameters. Weights: convert the release with
#   python tools/model_converters/lrrnet_official_to_mmhaze.py \
#       $MMHAZE_SHARED_DATA/zoo/lrrnet/final_lrr_net_lam2_1.5_wir_3.0_lam3_gram_2000_epoch_4_block_4.model \
#       checkpoints/lrrnet_release.pth
lrrnet_checkpoint = 'checkpoints/lrrnet_release.pth'
model = dict(
    type='TwoStageDehazeFuse',
    fuser=dict(type='LRRNet',
               init_cfg=dict(type='Pretrained', checkpoint=lrrnet_checkpoint, prefix='fuser.')),
    color_mode='ycbcr',
    protocol='release',
    data_preprocessor=dict(type='FusionDataPreprocessor', input_range=(0.0, 1.0),
                           pad_size_divisor=1, ir_channels=1))
