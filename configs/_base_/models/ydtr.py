# YDTR as released (tthinking/YDTR, models/model_10.pth): TwoStageDehazeFuse with no dehazer.
# The network fuses the visible image's gray reading with the gray IR; outside training the
# 'release' protocol is applied to pred_fused itself, as the release's Test.py saved: each source
# Pillow convert('L'), /255; the output (tanh) x255 in float32 cast to uint8 (truncation, no
# clipping: negative values wrap to 255 ...). A colour visible image gets its chroma back
# (mmhaze's YCbCr; the release writes a gray image).
# 217,770 parameters. Weights: convert the release with
#   python tools/model_converters/ydtr_official_to_mmhaze.py \
#       $MMHAZE_SHARED_DATA/zoo/ydtr/model_10.pth checkpoints/ydtr_release.pth
ydtr_checkpoint = 'checkpoints/ydtr_release.pth'
model = dict(
    type='TwoStageDehazeFuse',
    fuser=dict(type='YDTR',
               init_cfg=dict(type='Pretrained', checkpoint=ydtr_checkpoint, prefix='fuser.')),
    color_mode='ycbcr',
    protocol='release',
    data_preprocessor=dict(type='FusionDataPreprocessor', input_range=(0.0, 1.0),
                           pad_size_divisor=1, ir_channels=1))
