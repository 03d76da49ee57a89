# GIFNet as released (AWCXV/GIFNet, model/Final.model): TwoStageDehazeFuse with no dehazer.
# The network fuses the visible image's gray reading with the gray IR; outside training the
# 'release' protocol is applied to pred_fused itself, as the release's test.py (gray mode) saved:
# each source read as cv2.imread(..., IMREAD_GRAYSCALE), /255; the output x255 in float32 and cast
# to uint8 (truncation, no clipping). A colour visible image gets its chroma back (mmhaze's
# YCbCr; the release's gray mode writes a gray image).
# 822,780 parameters. Weights: convert the release with
#   python tools/model_converters/gifnet_official_to_mmhaze.py \
#       $MMHAZE_SHARED_DATA/zoo/gifnet/Final.model checkpoints/gifnet_release.pth
gifnet_checkpoint = 'checkpoints/gifnet_release.pth'
model = dict(
    type='TwoStageDehazeFuse',
    fuser=dict(type='GIFNet',
               init_cfg=dict(type='Pretrained', checkpoint=gifnet_checkpoint, prefix='fuser.')),
    color_mode='ycbcr',
    protocol='release',
    data_preprocessor=dict(type='FusionDataPreprocessor', input_range=(0.0, 1.0),
                           pad_size_divisor=1, ir_channels=1))
