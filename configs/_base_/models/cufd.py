# CUFD as released (VIF-Benchmark Checkpoint/CUFD/{1part1,part2}_model.ckpt and
# CUFD/generate.py): TwoStageDehazeFuse with no dehazer. The network fuses the visible image's Y
# (or its gray reading) with the gray IR and the visible chroma is restored; outside training the
# 'release' protocol is applied to pred_fused itself, as the benchmark saves its outputs:
# both sources read by scipy's imread(flatten=True, mode='YCbCr') (Pillow RGB -> YCbCr -> 'F'),
# /255 (each then min-max normalised by the network); output saved with scipy's bytescale
# (min-max in float32, + 0.5, truncated).
# 955,297 parameters. Weights: convert the release (two files) with
#   python tools/model_converters/cufd_official_to_mmhaze.py \
#       $MMHAZE_SHARED_DATA/zoo/cufd/cufd_1part1_tf_weights.npz \
#       $MMHAZE_SHARED_DATA/zoo/cufd/cufd_part2_tf_weights.npz checkpoints/cufd_release.pth
cufd_checkpoint = 'checkpoints/cufd_release.pth'
model = dict(
    type='TwoStageDehazeFuse',
    fuser=dict(type='CUFD',
               init_cfg=dict(type='Pretrained', checkpoint=cufd_checkpoint, prefix='fuser.')),
    color_mode='ycbcr',
    protocol='release',
    data_preprocessor=dict(type='FusionDataPreprocessor', input_range=(0.0, 1.0),
                           pad_size_divisor=1, ir_channels=1))
