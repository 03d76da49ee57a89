# SAGE as released (RollingPlain/SAGE_IVIF, checkpoints/checkpoints.pt: the distilled network of
# model_sub/model.py): TwoStageDehazeFuse with no dehazer. The network fuses the visible image's
# Y with the gray IR and the visible chroma is restored; outside training the 'release' protocol
# is applied to pred_fused itself, as the published images were made: VIS converted by OpenCV's
# 8-bit BGR2YCrCb (its Y fused, its Cr, Cb kept), IR by OpenCV's BGR2GRAY, /255; the tanh output
# written into Y and converted back by utils.YCrCb2RGB's matrix on [Y, Cr, Cb]; saved by
# torchvision's save_image (clamp, x255, + 0.5, truncate).
# 135,617 parameters. Weights: convert the release with
#   python tools/model_converters/sage_official_to_mmhaze.py \
#       $MMHAZE_SHARED_DATA/zoo/sage/checkpoints.pt checkpoints/sage_release.pth
sage_checkpoint = 'checkpoints/sage_release.pth'
model = dict(
    type='TwoStageDehazeFuse',
    fuser=dict(type='SAGE',
               init_cfg=dict(type='Pretrained', checkpoint=sage_checkpoint, prefix='fuser.')),
    color_mode='ycbcr',
    protocol='release',
    data_preprocessor=dict(type='FusionDataPreprocessor', input_range=(0.0, 1.0),
                           pad_size_divisor=1, ir_channels=1))
