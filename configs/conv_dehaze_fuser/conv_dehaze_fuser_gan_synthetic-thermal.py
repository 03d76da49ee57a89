# ConvDehazeFuser with an adversarial prior on the dehazed image: a multi-scale PatchGAN judges
# `dehazed` against clear images of *other* scenes (unpaired_clear, as in unpaired dehazing).
# Two optimizers (network / discriminators), hinge losses, D and G updates alternating. It is
# the small adversarial model of the model layer: it trains on the CPU in minutes.
_base_ = ['./conv_dehaze_fuser_synthetic-thermal.py']

crop = 64
train_pipeline = [dict(type='RandomCropUnpaired', crop_size=crop), dict(type='PackFusionInputs')]
train_dataloader = dict(
    dataset=dict(img_size=crop, unpaired_clear=True, pipeline=train_pipeline))

model = dict(
    discriminators=dict(
        dehazed=dict(type='PatchGANDiscriminator', in_channels=3, base_channels=16, num_layers=3,
                   num_scales=2, norm='instance', spectral_norm=True,
                   fake='dehazed', real='unpaired_clear')),
    losses=dict(
        gan=dict(type='HingeGANLoss', fake='d_fake', loss_weight=0.05),
        gan_disc=dict(type='HingeGANLoss', fake='d_fake', real='d_real',
                      step='discriminator')))

optim_wrapper = dict(
    _delete_=True,
    constructor='MultiOptimWrapperConstructor',
    network=dict(type='OptimWrapper',
                 optimizer=dict(type='AdamW', lr=1e-3, betas=(0.5, 0.999), weight_decay=0.01)),
    discriminators=dict(type='OptimWrapper',
                        optimizer=dict(type='Adam', lr=4e-4, betas=(0.0, 0.9))))
