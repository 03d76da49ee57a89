# DehazeFormer as a dehazing model (IDKiro/DehazeFormer): TwoStageDehazeFuse with no fuser.
# The model works in [-1, 1] like the release (so L1 is the release's L1); the network pads to a
# multiple of 4 itself. Variant: model.dehazer.arch = 't' | 's' | 'b' | 'm' | 'l'.
model = dict(
    type='TwoStageDehazeFuse',
    dehazer=dict(type='DehazeFormer', arch='s'),
    data_preprocessor=dict(type='FusionDataPreprocessor', input_range=(-1.0, 1.0),
                           pad_size_divisor=1, ir_channels=1),
    losses=dict(dehaze=dict(type='L1Loss', pred='dehazed', target='gt_clear')))
