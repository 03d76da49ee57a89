# A tiny two-stage model trained on the embedded synthetic scenes in the three training modes,
# one stage each: the dehazer alone (L1 against the clear image; the fuser does not run), the
# fuser alone on dehazed images computed on the fly (U2Fusion's information-weighted loss; the
# dehazer runs without gradient), then both end to end. Each network has its own optimizer:
# AdamW for the dehazer, U2Fusion's TF1 RMSProp with weight clipping for the fuser. Shrunk
# networks (DehazeFormer-T widths 8-16, U2Fusion growth 8) so that it trains on a CPU; the tests
# run one step per stage with random VGG-16 weights.
# VGG-16 weights (a local file; mmhaze downloads nothing): see configs/u2fusion/README.md.
vgg_weights = 'checkpoints/vgg16_u2fusion.npz'
stage_iters = 200
_base_ = [
    '../_base_/datasets/synthetic_thermal_demo.py', '../_base_/default_runtime.py',
    './_two_stage_evaluation.py'
]
model = dict(
    type='TwoStageDehazeFuse',
    dehazer=dict(type='DehazeFormer', arch='t', embed_dims=(8, 16, 16, 16, 8),
                 depths=(1, 1, 2, 1, 1), num_heads=(1, 2, 2, 1, 1), window_size=4),
    fuser=dict(type='U2FusionNet', growth=8, decoder_channels=(16, 8)),
    color_mode='ycbcr',
    data_preprocessor=dict(type='FusionDataPreprocessor', input_range=(-1.0, 1.0),
                           ir_channels=1),
    losses=dict(
        dehaze=dict(type='L1Loss', pred='dehazed', target='gt_clear'),
        similarity=dict(type='U2FusionLoss', vgg_weights=vgg_weights, c='vis_ir',
                        vgg_input_size=224, value_range=(-1.0, 1.0), fused='fuser_out',
                        source1='fuser_ir', source2='fuser_vis')),
    stages=[
        dict(name='dehazer', iters=stage_iters, train=['dehazer'], losses=['dehaze']),
        dict(name='fuser', iters=stage_iters, train=['fuser'], losses=['similarity']),
        dict(name='joint', iters=stage_iters, train=['dehazer', 'fuser']),
    ])
optim_wrapper = dict(
    constructor='MultiOptimWrapperConstructor',
    dehazer=dict(type='OptimWrapper',
                 optimizer=dict(type='AdamW', lr=4e-4, betas=(0.9, 0.999), weight_decay=0.01)),
    fuser=dict(type='OptimWrapper',
               optimizer=dict(type='TFRMSprop', lr=1e-4, decay=0.6, momentum=0.15,
                              epsilon=1e-10, weight_clip=50.0)))
train_cfg = dict(type='IterBasedTrainLoop', max_iters=3 * stage_iters,
                 val_interval=3 * stage_iters)
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=3 * stage_iters, max_keep_ckpts=1),
                     logger=dict(interval=50))
log_processor = dict(by_epoch=False)
test_evaluator = {{_base_.synthetic_rows_evaluator}}
val_evaluator = test_evaluator
test_cfg = dict(type='TestLoop')
val_cfg = dict(type='ValLoop')
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(vis_backends=vis_backends)
