# STDFusionNet as released (jiayi-ma/STDFusionNet, checkpoint/Fusion.model-29, scope
# STMFusion_model/: the checkpoint that made the published results):
# TwoStageDehazeFuse with no dehazer. The network fuses the visible image's Y (or its gray
# reading) with the gray IR and the visible chroma is restored; outside training the 'release'
# protocol is applied to pred_fused itself, as the published images were made:
# both sources read by scipy's imread(flatten=True, mode='YCbCr') (Pillow RGB -> YCbCr -> 'F',
# which loses a grey level on some values), x/127.5 - 1; output (o + 1)x127.5 saved with
# scipy's bytescale (min-max in float32, + 0.5, truncated).
# 282,513 parameters. Weights: convert the release with
#   python tools/model_converters/stdfusionnet_official_to_mmhaze.py \
#       $MMHAZE_SHARED_DATA/zoo/stdfusionnet/jiayi-ma/stdfusionnet_jiayima_tf_weights.npz \
#       checkpoints/stdfusionnet_release.pth
stdfusionnet_checkpoint = 'checkpoints/stdfusionnet_release.pth'
model = dict(
    type='TwoStageDehazeFuse',
    fuser=dict(type='STDFusionNet',
               init_cfg=dict(type='Pretrained', checkpoint=stdfusionnet_checkpoint,
                             prefix='fuser.')),
    color_mode='ycbcr',
    protocol='release',
    data_preprocessor=dict(type='FusionDataPreprocessor', input_range=(0.0, 1.0),
                           pad_size_divisor=1, ir_channels=1))
