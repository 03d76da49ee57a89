# Training U2Fusion's VIS-IR task as released (train_task.py, task 1): 64² gray/Y patches,
# batch 18, SSIM + 20·MSE weighted by the VGG-16 information measure (c = 3200), TF1 RMSProp
# (lr 1e-4, decay 0.6, momentum 0.15, eps 1e-10) with every weight clipped to [-50, 50] after each
# step, inputs randomly swapped per batch, 3 epochs, EWC off (the release's λ = 0).
# The release trained on 64² patches of RoadScene (its vis_ir_dataset64.h5, not public): here
# one random 64² crop per pair per pass, each pair seen 100 times per epoch (RepeatDataset).
# VGG-16 weights: a local file (cannot be downloaded by mmhaze), either U2Fusion's vgg16.npy
# exported to .npz (docs/model_zoo.md) or torchvision's vgg16-397923af.pth:
vgg_weights = 'checkpoints/vgg16_u2fusion.npz'
_base_ = [
    '../_base_/models/u2fusion.py', '../_base_/datasets/roadscene.py',
    '../_base_/default_runtime.py', './_u2fusion_evaluation.py'
]
model = dict(
    fuser=dict(_delete_=True, type='U2FusionNet', ir_first=True, random_swap=True),
    # trained on the plain network output; validation and test use the release protocol
    losses=dict(similarity=dict(type='U2FusionLoss', vgg_weights=vgg_weights, c='vis_ir',
                                mse_weight=20.0, fused='fuser_out', source1='fuser_ir',
                                source2='fuser_vis')))
train_pipeline = [
    dict(type='LoadFusionImages', ir_channels=1),
    dict(type='PairedRandomCrop', crop_size=64),
    dict(type='PackFusionInputs'),
]
train_dataloader = dict(
    batch_size=18, num_workers=2, persistent_workers=True, drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='RepeatDataset', times=100, dataset=dict(
        type='PairedFusionDataset', data_root='data/RoadScene/', layout='roadscene',
        pipeline=train_pipeline)))
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='TFRMSprop', lr=1e-4, decay=0.6, momentum=0.15, epsilon=1e-10,
                   weight_clip=50.0))
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=3, val_interval=3)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
test_evaluator = {{_base_.u2fusion_evaluator}}
val_evaluator = test_evaluator
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=3))
