# U2Fusion as released (hanna-xu/U2Fusion): TwoStageDehazeFuse with no dehazer. The network fuses
# the visible image's Y with the gray IR (IR as its first input), the visible CbCr is restored,
# and outside training the 'release' protocol is applied to pred_fused itself: sources read as
# 8-bit, output min-max stretched to 0-255 (float64) and rounded half up — how the published
# outputs were made. Weights: convert the release with
#   python tools/model_converters/u2fusion_tf_to_mmhaze.py \
#       $MMHAZE_SHARED_DATA/u2fusion/u2fusion_tf_weights.npz checkpoints/u2fusion_release.pth
u2fusion_checkpoint = 'checkpoints/u2fusion_release.pth'
model = dict(
    type='TwoStageDehazeFuse',
    fuser=dict(type='U2FusionNet', ir_first=True,
               init_cfg=dict(type='Pretrained', checkpoint=u2fusion_checkpoint,
                             prefix='fuser.')),
    color_mode='ycbcr',
    protocol='release',
    data_preprocessor=dict(type='FusionDataPreprocessor', input_range=(0.0, 1.0),
                           pad_size_divisor=1, ir_channels=1))
