# Training SeAFusion's fusion network with its content loss (train.py / loss.py Fusionloss): on
# the fused Y, L1 to max(visible Y, IR) + 10 x L1 of the Sobel magnitudes |Gx| + |Gy| (zero
# padding) to the larger of the sources'; Adam, lr 1e-3 x 0.75^(epoch - 1) per epoch, batch 8,
# whole 480x640 MSRS training pairs, 10 epochs (one round of the release).
# NOT expressible with mmhaze's registered parts: the semantic loss of the joint adaptive training
# (a BiSeNet segmentation network with OHEM cross-entropy trained in alternation with the fuser,
# its loss added with a round-dependent weight): this config is the release's first round.
# Validation and test apply the release protocol to pred_fused (configs/_base_/models/seafusion.py).
_base_ = [
    '../_base_/models/seafusion.py', '../_base_/datasets/msrs.py',
    '../_base_/default_runtime.py', '../_base_/fusion_evaluation.py'
]
lr = 1e-3 / 0.75  # epoch 0 of the release runs at 1e-3 * 0.75^-1
max_epochs = 10
model = dict(
    fuser=dict(_delete_=True, type='SeAFusionNet'),  # trained from scratch
    losses=dict(
        intensity=dict(type='MaxIntensityLoss', loss_weight=1.0, fused='fuser_out',
                       vis_ref='fuser_vis', ir='fuser_ir'),
        texture=dict(type='MaxGradientLoss', loss_weight=10.0, border_type='constant',
                     fused='fuser_out', vis_ref='fuser_vis', ir='fuser_ir')))
train_pipeline = [
    dict(type='LoadFusionImages', ir_channels=1),
    dict(type='PackFusionInputs'),
]
train_dataloader = dict(batch_size=8, drop_last=True, dataset=dict(pipeline=train_pipeline))
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=lr))
param_scheduler = [dict(type='ExponentialLR', gamma=0.75, by_epoch=True)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
test_evaluator = {{_base_.fusion_evaluator}}
val_evaluator = test_evaluator
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=3))
