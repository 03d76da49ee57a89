# PMGI as released (HaoZhang1018/PMGI_AAAI2020, Code_PMGI/IR_VI/checkpoint/CGAN_120/CGAN.model-1):
# TwoStageDehazeFuse with no dehazer. The network fuses the visible image's Y (or its gray
# reading) with the gray IR and the visible chroma is restored; outside training the 'release'
# protocol is applied to pred_fused itself, as the published TNO results were made:
# both sources read as plain 8-bit gray (Pillow 'L'), (x - 127.5)/127.5; every conv but the
# last normalised with the image's own statistics (gamma = 1, beta = 0: the release's batch norm
# in training mode); output x127.5 + 127.5 saved with scipy's bytescale (min-max in float32,
# + 0.5, truncated). protocol='test_one_image' reads the sources as the repository's script does
# (Pillow RGB -> YCbCr -> 'F').
# 42,017 parameters. Weights: convert the release with
#   python tools/model_converters/pmgi_official_to_mmhaze.py \
#       $MMHAZE_SHARED_DATA/zoo/pmgi/pmgi_tf_weights.npz checkpoints/pmgi_release.pth
pmgi_checkpoint = 'checkpoints/pmgi_release.pth'
model = dict(
    type='TwoStageDehazeFuse',
    fuser=dict(type='PMGI',
               init_cfg=dict(type='Pretrained', checkpoint=pmgi_checkpoint, prefix='fuser.')),
    color_mode='ycbcr',
    protocol='release',
    data_preprocessor=dict(type='FusionDataPreprocessor', input_range=(0.0, 1.0),
                           pad_size_divisor=1, ir_channels=1))
