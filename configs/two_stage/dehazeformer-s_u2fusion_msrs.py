# "DehazeFormer → U2Fusion", the IASSF paper's two-stage comparison row (Tables II, IV, VI) on
# MSRS with the 'iassf_dense' haze: DehazeFormer-S dehazes the visible image, the released
# U2Fusion (frozen, release protocol) fuses its Y with the IR and the dehazed CbCr is restored.
# Training mode: the dehazer alone, with DehazeFormer's recipe (L1 against the clear image in
# [-1, 1], AdamW, cosine to 0.01·lr, batch 16, lr 2e-4, 300 epochs); the fuser does not run in
# training (no loss needs it). To start from a converted official checkpoint instead, add
#   model.dehazer.init_cfg=dict(type='Pretrained', checkpoint=..., prefix='dehazer.')
# (tools/model_converters/dehazeformer_official_to_mmhaze.py). The paper does not say which
# DehazeFormer weights it used.
_base_ = [
    '../_base_/models/u2fusion.py', '../_base_/datasets/msrs_hazy.py',
    '../_base_/schedules/adamw_cosine_epoch.py', '../_base_/default_runtime.py',
    './_two_stage_evaluation.py'
]
lr = 2e-4
max_epochs = 300
model = dict(
    dehazer=dict(type='DehazeFormer', arch='s'),
    fuser=dict(frozen=True),
    # [-1, 1] like DehazeFormer's release; U2Fusion's inputs are converted to [0, 1].
    data_preprocessor=dict(input_range=(-1.0, 1.0)),
    losses=dict(dehaze=dict(type='L1Loss', pred='dehazed', target='gt_clear')))

# MSRS as msrs_hazy.py reads it, with the IR as one gray channel (U2Fusion's input).
train_pipeline = [
    dict(type='LoadFusionImages', ir_channels=1, vis_is_clear=True),
    dict(type='PairedRandomCrop', crop_size=256),
    dict(type='SynthesizeHaze', preset='iassf_dense', seed=None),
    dict(type='PairedRandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PairedRandomRot90', prob=0.75),
    dict(type='PackFusionInputs'),
]
test_pipeline = [
    dict(type='LoadFusionImages', ir_channels=1, vis_is_clear=True),
    dict(type='SynthesizeHaze', preset='iassf_dense', seed=2024),
    dict(type='PackFusionInputs'),
]
train_dataloader = dict(batch_size=16, drop_last=True, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

optim_wrapper = dict(optimizer=dict(type='AdamW', lr=lr, betas=(0.9, 0.999), weight_decay=0.01))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=lr * 1e-2, by_epoch=True, begin=0,
         end=max_epochs)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
auto_scale_lr = dict(enable=False, base_batch_size=16)
default_hooks = dict(checkpoint=dict(interval=10, max_keep_ckpts=3, save_last=True))
test_evaluator = {{_base_.iassf_rows_evaluator}}
val_evaluator = test_evaluator
