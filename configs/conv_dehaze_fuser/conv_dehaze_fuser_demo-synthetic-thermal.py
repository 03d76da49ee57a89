# The conv baseline at the demo's budget: 64² synthetic VIS + thermal scenes, 600 iterations
# (about 2 minutes on 2 CPU cores). It was mmhaze's first demo model.
_base_ = ['./conv_dehaze_fuser_synthetic-thermal.py']

img_size = 64
max_iters = 600
train_dataloader = dict(
    batch_size=8, num_workers=2,
    dataset=dict(img_size=img_size, num_samples=4000))
val_dataloader = dict(num_workers=1, dataset=dict(img_size=img_size, num_samples=40))
test_dataloader = dict(num_workers=1, dataset=dict(img_size=img_size, num_samples=40))
val_evaluator = [
    dict(type='ReferenceMetric', include_input=True, prefix='synthetic'),
    dict(type='FusionMetric', metrics=['MI', 'Qabf'], pred_key='pred_fused', vis_key='gt_clear',
         include_average=True, prefix='synthetic'),
]
test_evaluator = val_evaluator
optim_wrapper = dict(optimizer=dict(lr=2e-3))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_iters, eta_min=1e-5, by_epoch=False, begin=0,
         end=max_iters)
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(interval=max_iters), logger=dict(interval=50))
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(vis_backends=vis_backends)
