# SeAFusion as released (Linfeng-Tang/SeAFusion; VIF-Benchmark's Checkpoint/SeAFusion/SeAFusion.pth):
# TwoStageDehazeFuse with no dehazer. The network fuses the visible image's Y (or its gray
# reading) with the gray IR and the visible chroma is restored; outside training the 'release'
# protocol is applied to pred_fused itself, as the published images were made:
# VIS read as RGB, IR as Pillow 'L' (/255); SeAFusion's Y/Cr/Cb formulas; the fused Y back to RGB by
# its inverse matrix (clamped); the RGB image min-max normalised over all three channels in float32,
# x255, truncated to uint8.
# 166,657 parameters. Weights: convert the release with
#   python tools/model_converters/seafusion_official_to_mmhaze.py \
#       $MMHAZE_SHARED_DATA/zoo/seafusion/SeAFusion.pth checkpoints/seafusion_release.pth
seafusion_checkpoint = 'checkpoints/seafusion_release.pth'
model = dict(
    type='TwoStageDehazeFuse',
    fuser=dict(type='SeAFusionNet',
               init_cfg=dict(type='Pretrained', checkpoint=seafusion_checkpoint, prefix='fuser.')),
    color_mode='ycbcr',
    protocol='release',
    data_preprocessor=dict(type='FusionDataPreprocessor', input_range=(0.0, 1.0),
                           pad_size_divisor=1, ir_channels=1))
