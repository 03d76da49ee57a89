# mmhaze's compact convolutional dehaze-and-fuse baseline.
model = dict(
    type='ConvDehazeFuser',
    channels=32,
    dilations=(1, 2, 4, 8, 1),
    vis_channels=3,
    ir_channels=1,
    out_channels=3,
    data_preprocessor=dict(type='FusionDataPreprocessor', input_range=(0.0, 1.0),
                           pad_size_divisor=1, ir_channels=1),
    dehaze_loss=dict(type='L1Loss', loss_weight=2.0),
    intensity_loss=dict(type='MaxIntensityLoss', loss_weight=1.0),
    gradient_loss=dict(type='MaxGradientLoss', loss_weight=1.0),
    fusion_reference='gt_clear')
