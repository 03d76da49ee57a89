_base_ = [
    '../_base_/models/conv_dehaze_fuser.py', '../_base_/datasets/synthetic_thermal.py',
    '../_base_/schedules/adamw_cosine_iter.py', '../_base_/default_runtime.py'
]
max_iters = 2000
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_iters, eta_min=1e-5, by_epoch=False, begin=0,
         end=max_iters)
]
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=max_iters, max_keep_ckpts=2))
log_processor = dict(by_epoch=False)
