# IFCNN-MAX as released (uzeful/IFCNN; VIF-Benchmark's Checkpoint/IFCNN/IFCNN-MAX.pth):
# TwoStageDehazeFuse with no dehazer. The network fuses the visible image's Y (or its gray
# reading) with the gray IR and the visible chroma is restored; outside training the 'release'
# protocol is applied to pred_fused itself, as the published images were made:
# each source read as gray by OpenCV (replicated to 3 channels), /255, ImageNet mean/std;
# elementwise max; de-normalised, clamped, x255, truncated per channel, then gray by OpenCV's
# RGB2GRAY. In 'ycbcr' mode the gray result is recoloured with the visible chroma (what the
# benchmark's img2RGB step does; on gray TNO the result stays gray).
# 83,587 parameters. Weights: convert the release with
#   python tools/model_converters/ifcnn_official_to_mmhaze.py \
#       $MMHAZE_SHARED_DATA/zoo/ifcnn/IFCNN-MAX.pth checkpoints/ifcnn_release.pth
ifcnn_checkpoint = 'checkpoints/ifcnn_release.pth'
model = dict(
    type='TwoStageDehazeFuse',
    fuser=dict(type='IFCNN',
               init_cfg=dict(type='Pretrained', checkpoint=ifcnn_checkpoint, prefix='fuser.')),
    color_mode='ycbcr',
    protocol='release',
    data_preprocessor=dict(type='FusionDataPreprocessor', input_range=(0.0, 1.0),
                           pad_size_divisor=1, ir_channels=1))
