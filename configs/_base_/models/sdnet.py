# SDNet as released (HaoZhang1018/SDNet; VIF-Benchmark's Checkpoint/SDNet/SDNet.model):
# TwoStageDehazeFuse with no dehazer. The network fuses the visible image's Y (or its gray
# reading) with the gray IR and the visible chroma is restored; outside training the 'release'
# protocol is applied to pred_fused itself, as the published images were made:
# both sources read by scipy's imread(flatten=True, mode='YCbCr') (Pillow RGB -> YCbCr -> 'F',
# which loses a grey level on some values), (x - 127.5)/127.5; output x127.5 + 127.5 saved with
# scipy's bytescale (min-max in float32, + 0.5, truncated).
# 28,705 parameters. Weights: convert the release with
#   python tools/model_converters/sdnet_official_to_mmhaze.py \
#       $MMHAZE_SHARED_DATA/zoo/sdnet/sdnet_tf_weights.npz checkpoints/sdnet_release.pth
sdnet_checkpoint = 'checkpoints/sdnet_release.pth'
model = dict(
    type='TwoStageDehazeFuse',
    fuser=dict(type='SDNet',
               init_cfg=dict(type='Pretrained', checkpoint=sdnet_checkpoint, prefix='fuser.')),
    color_mode='ycbcr',
    protocol='release',
    data_preprocessor=dict(type='FusionDataPreprocessor', input_range=(0.0, 1.0),
                           pad_size_divisor=1, ir_channels=1))
