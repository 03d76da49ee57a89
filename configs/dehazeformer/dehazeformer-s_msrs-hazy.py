# DehazeFormer-S trained alone on hazy/clear pairs: MSRS visible images hazed on the fly with
# the 'iassf_dense' preset (the data the IASSF paper's comparison dehazes), the release's recipe:
# L1 in [-1, 1], AdamW (weight decay 0.01, torch's default), cosine annealing to 0.01·lr over the
# whole run, 256² crops, h-flip + rot90. Batch and lr per variant as the release's indoor
# configs (S/B/M: 16, 2e-4; T: 32, 4e-4; L: 8, 1e-4); 300 epochs as IASSF trains on MSRS (the
# release trains 300 epochs on ITS). The release uses AMP: add --amp on a GPU.
_base_ = [
    '../_base_/models/dehazeformer.py', '../_base_/datasets/msrs_hazy.py',
    '../_base_/schedules/adamw_cosine_epoch.py', '../_base_/default_runtime.py'
]
arch = 's'
batch_size = 16
lr = 2e-4
max_epochs = 300

model = dict(dehazer=dict(arch=arch))
# The visible image alone is dehazed: IR is loaded (the dataset is paired) but unused.
train_dataloader = dict(batch_size=batch_size, drop_last=True)
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=lr, betas=(0.9, 0.999), weight_decay=0.01))
# eta_min as a ratio of each variant's lr, so the variants inherit the scheduler unchanged.
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min_ratio=1e-2, by_epoch=True,
         begin=0, end=max_epochs)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=10)
auto_scale_lr = dict(enable=False, base_batch_size=batch_size)
default_hooks = dict(checkpoint=dict(interval=10, max_keep_ckpts=3, save_last=True,
                                     save_best='msrs_hazy/PSNR_ref', rule='greater'))
# PSNR/SSIM of pred_dehazed against the clear image, with the hazy input as a row.
val_evaluator = [dict(type='ReferenceMetric', metrics=['PSNR_ref', 'SSIM_ref'],
                      pred_key='pred_dehazed', include_input=True, prefix='msrs_hazy')]
test_evaluator = val_evaluator
