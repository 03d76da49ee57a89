# IASSF, official network and training recipe (fangjiaqi0909/IASSF, train.py + configs/iassf.json)
# on MSRS with the 'iassf_dense' haze: 256² crops, h-flip + rot90, batch 6, AdamW (lr 2e-4,
# weight decay 0.01) with per-epoch cosine annealing to 2e-6, 300 epochs, fp32, inputs and
# losses in [-1, 1], IR as 3 channels. See README.md for what differs from the release and why.
_base_ = [
    '../_base_/models/iassf.py', '../_base_/datasets/msrs_hazy.py',
    '../_base_/schedules/adamw_cosine_epoch.py', '../_base_/default_runtime.py',
    './_iassf_evaluation.py'
]

# Epoch-based like the release: shuffle every epoch, drop the last partial batch.
train_dataloader = dict(
    batch_size=6, drop_last=True, sampler=dict(type='DefaultSampler', shuffle=True))

# One AdamW over both networks. The release steps two AdamW (restoration, fusion) with the
# same hyperparameters and schedule on the same loss; AdamW updates each parameter on its own,
# so one optimiser over the union performs exactly the same updates.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01))
max_epochs = 300  # the release loops range(0, 301) = 301 epochs; 300 is the paper's number
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=2e-6, by_epoch=True, begin=0,
         end=max_epochs)
]
# The release never validates; mmhaze validates once, at the end.
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
auto_scale_lr = dict(enable=False, base_batch_size=6)

val_evaluator = {{_base_.iassf_evaluator}}
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(interval=10, max_keep_ckpts=3, save_last=True))
