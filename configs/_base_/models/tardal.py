# TarDAL as released (the first-release generator of JinyuanLiu-CV/TarDAL; VIF-Benchmark's
# Checkpoint/TarDAL/tardal++.pt, the benchmark's default of its three weight sets):
# TwoStageDehazeFuse with no dehazer. The network fuses the visible image's gray reading with the
# gray IR; outside training the 'release' protocol is applied to pred_fused itself, as the
# benchmark's TarDAL.py makes its images: IR read by OpenCV as gray, VIS by OpenCV's BGR2GRAY,
# both /255; the output clipped, x255, truncated to uint8 and written as the Y of the visible
# image's OpenCV YCrCb, back to RGB by OpenCV. (The benchmark runs the network in float16 on CUDA;
# mmhaze in float32.)
# 296,577 parameters. Weights: convert the release with
#   python tools/model_converters/tardal_official_to_mmhaze.py \
#       $MMHAZE_SHARED_DATA/zoo/tardal/tardal++.pt checkpoints/tardal++_release.pth
tardal_checkpoint = 'checkpoints/tardal++_release.pth'
model = dict(
    type='TwoStageDehazeFuse',
    fuser=dict(type='TarDAL',
               init_cfg=dict(type='Pretrained', checkpoint=tardal_checkpoint, prefix='fuser.')),
    color_mode='ycbcr',
    protocol='release',
    data_preprocessor=dict(type='FusionDataPreprocessor', input_range=(0.0, 1.0),
                           pad_size_divisor=1, ir_channels=1))
