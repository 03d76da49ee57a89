# The conv baseline at the demo's budget: 64² synthetic VIS + thermal scenes, 600 iterations
# (about 2 minutes on 2 CPU cores). It was mmhaze's first demo model.
_base_ = [
    '../_base_/models/conv_dehaze_fuser.py', '../_base_/datasets/synthetic_thermal_demo.py',
    '../_base_/schedules/adamw_cosine_iter.py', '../_base_/default_runtime.py'
]

max_iters = 600
optim_wrapper = dict(optimizer=dict(lr=2e-3))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_iters, eta_min=1e-5, by_epoch=False, begin=0,
         end=max_iters)
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    checkpoint=dict(by_epoch=False, interval=max_iters, max_keep_ckpts=2),
    logger=dict(interval=50))
log_processor = dict(by_epoch=False)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(vis_backends=vis_backends)
