# The IASSF release layout (github.com/fangjiaqi0909/IASSF, data/MSRS): {train,test}/{hazy,GT,IR}
# with the same file names; `hazy` is the input and `GT` the clear visible image. The repository
# ships only the 361 test triplets; a train split in this layout comes from
# tools/dataset_converters/make_hazy.py. IR is loaded as 3 identical channels, as IASSF does.
dataset_type = 'PairedFusionDataset'
data_root = 'data/IASSF/MSRS/'
crop_size = 256

train_pipeline = [
    dict(type='LoadFusionImages', ir_channels=3),
    dict(type='PairedRandomCrop', crop_size=crop_size),
    dict(type='PairedRandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PairedRandomRot90', prob=0.75),
    dict(type='PackFusionInputs'),
]
test_pipeline = [
    dict(type='LoadFusionImages', ir_channels=3),
    dict(type='PackFusionInputs'),
]

train_dataloader = dict(
    batch_size=6,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),  # epoch-based recipes
    dataset=dict(type=dataset_type, data_root=data_root, layout='iassf', split='train',
                 dataset_name='iassf_msrs', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, layout='iassf', split='test',
                 dataset_name='iassf_msrs', pipeline=test_pipeline, test_mode=True))
test_dataloader = val_dataloader
val_evaluator = dict(type='ReferenceMetric', include_input=True)
test_evaluator = val_evaluator
