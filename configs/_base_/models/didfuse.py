# DIDFuse as released (Zhaozixiang1228/IVIF-DIDFuse, Models/{Encoder,Decoder}_weight_IJCAI.pkl):
# TwoStageDehazeFuse with no dehazer. The network fuses the visible image's gray reading with the
# gray IR and the visible chroma is restored (mmhaze's JPEG YCbCr: the release reads gray files
# only); outside training the 'release' protocol is applied to pred_fused itself, as the
# published images were made: 8-bit gray sources /255 (a colour visible image is read as Pillow
# 'L'); the encoder's four feature maps of the two sources added (addition_mode='Sum'); the
# output saved by skimage's imsave: round(clip(out, 0, 1) x 255), half to even.
# 260,935 parameters (encoder 111,938 + decoder 148,997). Weights: convert the release with
#   python tools/model_converters/didfuse_official_to_mmhaze.py \
#       $MMHAZE_SHARED_DATA/zoo/didfuse/Encoder_weight_IJCAI.pkl \
#       $MMHAZE_SHARED_DATA/zoo/didfuse/Decoder_weight_IJCAI.pkl checkpoints/didfuse_release.pth
didfuse_checkpoint = 'checkpoints/didfuse_release.pth'
model = dict(
    type='TwoStageDehazeFuse',
    fuser=dict(type='DIDFuse',
               init_cfg=dict(type='Pretrained', checkpoint=didfuse_checkpoint, prefix='fuser.')),
    color_mode='ycbcr',
    protocol='release',
    data_preprocessor=dict(type='FusionDataPreprocessor', input_range=(0.0, 1.0),
                           pad_size_divisor=1, ir_channels=1))
