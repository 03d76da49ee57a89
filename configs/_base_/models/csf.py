# CSF as released (VIF-Benchmark Checkpoint/CSF/{ED,EC}.ckpt and CSF/generate.py):
# TwoStageDehazeFuse with no dehazer. The network fuses the visible image's Y (or its gray
# reading) with the gray IR and the visible chroma is restored; outside training the 'release'
# protocol is applied to pred_fused itself, as the benchmark saves its outputs:
# both sources read by scipy's imread(flatten=True, mode='YCbCr') (Pillow RGB -> YCbCr -> 'F'),
# (x/255 - 0.5)x2; features weighted by the classifier's saliency (its gradients); output /2 + 0.5
# saved with scipy's bytescale (min-max in float32, + 0.5, truncated).
# 185,327 parameters. Weights: convert the release (two files) with
#   python tools/model_converters/csf_official_to_mmhaze.py \
#       $MMHAZE_SHARED_DATA/zoo/csf/csf_ED_tf_weights.npz \
#       $MMHAZE_SHARED_DATA/zoo/csf/csf_EC_tf_weights.npz checkpoints/csf_release.pth
csf_checkpoint = 'checkpoints/csf_release.pth'
model = dict(
    type='TwoStageDehazeFuse',
    fuser=dict(type='CSF',
               init_cfg=dict(type='Pretrained', checkpoint=csf_checkpoint, prefix='fuser.')),
    color_mode='ycbcr',
    protocol='release',
    data_preprocessor=dict(type='FusionDataPreprocessor', input_range=(0.0, 1.0),
                           pad_size_divisor=1, ir_channels=1))
