# Light-DehazeNet as released (hayatkhan8660-maker/Light-DehazeNet, Ullah et al., TIP 2021): a
# dehazing-only model (TwoStageDehazeFuse with no fuser). Outside training the 'release' dehazer
# protocol makes pred_dehazed as the release's inference.py + torchvision 0.10's save_image made
# it before the JPEG encoding: the image as 8-bit values /255, J = ReLU(K·I − K + 1), ×255 in
# float32, + 0.5, clamped, truncated. 30,187 parameters. Weights: convert the release with
#   python tools/model_converters/lightdehazenet_official_to_mmhaze.py \
#       $MMHAZE_SHARED_DATA/zoo/lightdehazenet/trained_LDNet.pth \
#       checkpoints/lightdehazenet_release.pth
lightdehazenet_checkpoint = 'checkpoints/lightdehazenet_release.pth'
model = dict(
    type='TwoStageDehazeFuse',
    dehazer=dict(type='LightDehazeNet',
                 init_cfg=dict(type='Pretrained', checkpoint=lightdehazenet_checkpoint,
                               prefix='dehazer.')),
    dehazer_protocol='release',
    data_preprocessor=dict(type='FusionDataPreprocessor', input_range=(0.0, 1.0),
                           pad_size_divisor=1, ir_channels=1))
