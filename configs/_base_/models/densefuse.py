# DenseFuse as released (hli1221/imagefusion_densefuse; VIF-Benchmark's Checkpoint/DenseFuse/DeseFuse.ckpt):
# TwoStageDehazeFuse with no dehazer. The network fuses the visible image's Y (or its gray
# reading) with the gray IR and the visible chroma is restored; outside training the 'release'
# protocol is applied to pred_fused itself, as the published images were made:
# both sources read as Pillow 'L', raw 0-255 floats; encoder on each, features added, decoder;
# the output saved with scipy's bytescale (min-max in float32, + 0.5, truncated).
# 74,193 parameters. Weights: convert the release with
#   python tools/model_converters/densefuse_official_to_mmhaze.py \
#       $MMHAZE_SHARED_DATA/zoo/densefuse/densefuse_tf_weights.npz checkpoints/densefuse_release.pth
densefuse_checkpoint = 'checkpoints/densefuse_release.pth'
model = dict(
    type='TwoStageDehazeFuse',
    fuser=dict(type='DenseFuse',
               init_cfg=dict(type='Pretrained', checkpoint=densefuse_checkpoint, prefix='fuser.')),
    color_mode='ycbcr',
    protocol='release',
    data_preprocessor=dict(type='FusionDataPreprocessor', input_range=(0.0, 1.0),
                           pad_size_divisor=1, ir_channels=1))
