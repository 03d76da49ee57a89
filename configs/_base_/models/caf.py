# CAF as released (RollingPlain/CAF_IVIF, cache/Det_final.pth, the default of its eval.py and the
# weights of its published results): TwoStageDehazeFuse with no dehazer. The network fuses the
# visible image's Y with the gray IR; outside training the 'release' protocol is applied to
# pred_fused itself, as eval.py saved: IR cv2 gray /255; VIS RGB /255, kornia rgb_to_ycbcr, its Y
# fused; the output (tanh) x255 in float32 cast into the Y plane of OpenCV's uint8 BGR2YCrCb of the
# visible image (truncation; negative values wrap to 255 ...), back with OpenCV's YCrCb2BGR.
# 148,321 parameters. Weights: convert the release (read without unpickling it) with
#   python tools/model_converters/caf_official_to_mmhaze.py \
#       $MMHAZE_SHARED_DATA/zoo/caf/Det_final.pth checkpoints/caf_det_release.pth
# (Seg_final.pth likewise; then --cfg-options model.fuser.init_cfg.checkpoint=...).
caf_checkpoint = 'checkpoints/caf_det_release.pth'
model = dict(
    type='TwoStageDehazeFuse',
    fuser=dict(type='CAF',
               init_cfg=dict(type='Pretrained', checkpoint=caf_checkpoint, prefix='fuser.')),
    color_mode='ycbcr',
    protocol='release',
    data_preprocessor=dict(type='FusionDataPreprocessor', input_range=(0.0, 1.0),
                           pad_size_divisor=1, ir_channels=1))
