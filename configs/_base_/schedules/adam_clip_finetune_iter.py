# Fine-tuning a released dehazer with the training recipe of AOD-Net's and Light-DehazeNet's
# releases (train.py, run_experiment.py): Adam (lr 1e-4, weight decay 1e-4), gradient norm
# clipped at 0.1, constant lr; iteration-based here (the releases train 10 / 60 epochs).
max_iters = 600
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=1e-4, weight_decay=1e-4),
    clip_grad=dict(max_norm=0.1))
param_scheduler = []
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# Configs using this schedule set, after default_runtime.py (bases may not share keys):
#   default_hooks = dict(checkpoint=dict(by_epoch=False, interval=max_iters))
#   log_processor = dict(by_epoch=False)
