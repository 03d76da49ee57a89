# mmhaze's compact convolutional dehaze-and-fuse baseline: one joint network.
model = dict(
    type='ConvDehazeFuser',  # DehazeFuseModel named for this baseline
    network=dict(type='ConvDehazeFuseNet', channels=32, dilations=(1, 2, 4, 8, 1),
                 vis_channels=3, ir_channels=1, out_channels=3),
    data_preprocessor=dict(type='FusionDataPreprocessor', input_range=(0.0, 1.0),
                           pad_size_divisor=1, ir_channels=1),
    losses=dict(
        dehaze=dict(type='L1Loss', pred='dehazed', target='gt_clear', loss_weight=2.0),
        intensity=dict(type='MaxIntensityLoss', fused='fused', vis_ref='gt_clear', ir='ir',
                       loss_weight=1.0),
        gradient=dict(type='MaxGradientLoss', fused='fused', vis_ref='gt_clear', ir='ir',
                      loss_weight=1.0)))
