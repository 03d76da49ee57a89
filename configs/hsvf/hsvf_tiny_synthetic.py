# HSVF shrunk for the tests and a CPU run of a few minutes, on the embedded synthetic VIS + NIR
# scenes (no folder needed: SyntheticFusionDataset renders the pairs, their labels and, from
# other seeds, unpaired clear images). Every network, loss and stage of hsvf_vnhd.py stays; only
# widths, depths and stage lengths shrink (iterations instead of epochs).
#   python tools/train.py configs/hsvf/hsvf_tiny_synthetic.py
#   python tools/test.py configs/hsvf/hsvf_tiny_synthetic.py work_dirs/hsvf_tiny_synthetic/iter_600.pth
_base_ = [
    '../_base_/models/hsvf.py', '../_base_/datasets/synthetic_nir.py',
    '../_base_/default_runtime.py', './_hsvf_evaluation.py'
]

img_size = 64
train_dataloader = dict(
    batch_size=4, num_workers=2,
    dataset=dict(img_size=img_size, num_samples=4000, unpaired_clear=True))
val_dataloader = dict(num_workers=1, dataset=dict(img_size=img_size, num_samples=40))
test_dataloader = val_dataloader

# Tiny widths: an HRNet with every stage and branch of W18, 8-32 channels, one block each.
tiny_hrnet = dict(
    stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK', num_blocks=(1, ),
                num_channels=(8, )),
    stage2=dict(num_modules=1, num_branches=2, block='BASIC', num_blocks=(1, 1),
                num_channels=(8, 16)),
    stage3=dict(num_modules=1, num_branches=3, block='BASIC', num_blocks=(1, 1, 1),
                num_channels=(8, 16, 32)),
    stage4=dict(num_modules=1, num_branches=4, block='BASIC', num_blocks=(1, 1, 1, 1),
                num_channels=(8, 16, 32, 32)))
tiny_region_discriminator = dict(
    type='SemanticRegionDiscriminator', in_channels=3, mask_input=True,
    discriminator=dict(type='PatchGANDiscriminator', base_channels=16, num_layers=3,
                       num_scales=2, norm='instance', spectral_norm=True))
model = dict(
    semantic=dict(
        content_encoder=dict(out_channels=32, backbone=dict(extra=tiny_hrnet)),
        seg_head=dict(channels=32, num_convs=1),
        style_encoder=dict(base_channels=8, num_downsamples=3),
        reconstruction_head=dict(channels=32, num_res_blocks=1, mlp_channels=32)),
    generator=dict(base_channels=16, num_middle_blocks=1, hidden_channels=32),
    visual=dict(embed_dim=16, depth=2, num_heads=2, window_size=4, drop_path=0.0),
    final=dict(base_channels=8, num_levels=2),
    discriminators=dict(
        _delete_=True,
        **{c: dict(tiny_region_discriminator) for c in ('sky', 'building', 'vegetation')}),
)

stage_iters = dict(semantic=150, reconstruction=150, visual=50, joint=50)
model.update(stages=[
    dict(name='semantic', iters=stage_iters['semantic'], train=['semantic'],
         losses={{_base_.hsvf_semantic_losses}}, optimizers=['semantic']),
    dict(name='reconstruction', iters=stage_iters['reconstruction'],
         train=['generator', 'discriminators'], losses={{_base_.hsvf_reconstruction_losses}},
         optimizers=['generator', 'discriminators']),
    dict(name='visual', iters=stage_iters['visual'], train=['visual'],
         losses={{_base_.hsvf_visual_losses}}, optimizers=['visual']),
    dict(name='joint', iters=stage_iters['joint'],
         train=['semantic', 'generator', 'visual', 'final', 'discriminators'],
         optimizers=['semantic', 'generator', 'visual', 'final', 'discriminators']),
])
max_iters = sum(stage_iters.values())
# Faster learning rates for the short run (same optimizers and betas as the recipe).
optim_wrapper = dict(
    semantic=dict(optimizer=dict(lr=2e-3)),
    generator=dict(optimizer=dict(lr=4e-4)),
    discriminators=dict(optimizer=dict(lr=1e-3)),
    visual=dict(optimizer=dict(lr=2e-3)),
    final=dict(optimizer=dict(lr=2e-3)))
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0, end_factor=0.1, by_epoch=False,
         begin=max_iters - stage_iters['joint'], end=max_iters)
]
default_hooks = dict(
    checkpoint=dict(by_epoch=False, interval=max_iters // 2, max_keep_ckpts=2),
    logger=dict(interval=25))
log_processor = dict(by_epoch=False)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(vis_backends=vis_backends)

val_evaluator = {{_base_.hsvf_synthetic_evaluator}}
test_evaluator = val_evaluator
