# MSRS as published (github.com/Linfeng-Tang/MSRS): {train,test}/{vi,ir,Segmentation_labels},
# 1,083 train / 361 test pairs of 480×640, 9 label classes. Plain fusion: no haze, no clear
# reference. Method configs add the evaluator.
dataset_type = 'PairedFusionDataset'
data_root = 'data/MSRS/'
crop_size = 256

train_pipeline = [
    dict(type='LoadFusionImages', ir_channels=1),
    dict(type='PairedRandomCrop', crop_size=crop_size),
    dict(type='PairedRandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PairedRandomRot90', prob=0.75),
    dict(type='PackFusionInputs'),
]
test_pipeline = [
    dict(type='LoadFusionImages', ir_channels=1),
    dict(type='PackFusionInputs'),
]

train_dataloader = dict(
    batch_size=6,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),  # epoch-based recipes
    dataset=dict(type=dataset_type, data_root=data_root, layout='msrs', split='train',
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, layout='msrs', split='test',
                 pipeline=test_pipeline, test_mode=True))
test_dataloader = val_dataloader
