# Iteration-based AdamW + cosine annealing (short runs: demo, smoke tests).
max_iters = 2000
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=0.01))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_iters, eta_min=1e-5, by_epoch=False, begin=0,
         end=max_iters)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
auto_scale_lr = dict(enable=False, base_batch_size=8)
# Configs using this schedule set, after default_runtime.py (bases may not share keys):
#   default_hooks = dict(checkpoint=dict(by_epoch=False, interval=max_iters))
#   log_processor = dict(by_epoch=False)
