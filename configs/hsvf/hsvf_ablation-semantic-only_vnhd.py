# Stream ablation, semantic only: HSVF trained without the visual stream and G_Final — the output
# is the SPADE reconstruction O_SR. Stages: semantic alignment (200 epochs), cross-domain
# reconstruction (400), joint fine-tuning of the semantic stream (200).
_base_ = ['./hsvf_vnhd.py']

stage_epochs = dict(semantic=200, reconstruction=400, joint=200)
model = dict(
    visual=None, final=None, output='semantic',
    losses=dict(vf_intensity=None, vf_gradient=None, semantic_reconstruction=None,
                visual_fusion=None),
    stages=[
        dict(name='semantic', epochs=stage_epochs['semantic'], train=['semantic'],
             losses={{_base_.hsvf_semantic_losses}}, optimizers=['semantic']),
        dict(name='reconstruction', epochs=stage_epochs['reconstruction'],
             train=['generator', 'discriminators'],
             losses={{_base_.hsvf_reconstruction_losses}},
             optimizers=['generator', 'discriminators']),
        dict(name='joint', epochs=stage_epochs['joint'],
             train=['semantic', 'generator', 'discriminators'],
             optimizers=['semantic', 'generator', 'discriminators']),
    ])
optim_wrapper = dict(
    _delete_=True, constructor='MultiOptimWrapperConstructor',
    semantic=dict(type='OptimWrapper',
                  optimizer=dict(type='AdamW', lr=2e-4, betas=(0.9, 0.999), weight_decay=0.01)),
    generator=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-4, betas=(0.0, 0.9))),
    discriminators=dict(type='OptimWrapper',
                        optimizer=dict(type='Adam', lr=4e-4, betas=(0.0, 0.9))))
max_epochs = 800
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0, end_factor=0.1, by_epoch=True,
         begin=max_epochs - stage_epochs['joint'], end=max_epochs)
]
