# mmhaze's VNHD-style VIS+NIR layout (VNHD itself is not public): {train,test}/{vis,nir,seg} with
# the same stems, an optional clear_unpaired/ folder of clear visible images (dealt one per
# training record as unpaired_clear), and the class list from data_root/classes.txt (default:
# the synthetic scenes' 7 classes). tools/dataset_converters/make_synthetic.py --modality nir
# writes the same content in the generic layout. Method configs add the evaluator.
dataset_type = 'PairedFusionDataset'
data_root = 'data/VNHD/'
crop_size = 256

train_pipeline = [
    dict(type='LoadFusionImages', ir_channels=1),
    dict(type='PairedRandomCrop', crop_size=crop_size),
    dict(type='PairedRandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackFusionInputs'),
]
test_pipeline = [
    dict(type='LoadFusionImages', ir_channels=1),
    dict(type='PackFusionInputs'),
]

train_dataloader = dict(
    batch_size=4,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),  # epoch-based recipes
    dataset=dict(type=dataset_type, data_root=data_root, layout='vnhd', split='train',
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, layout='vnhd', split='test',
                 pipeline=test_pipeline, test_mode=True))
test_dataloader = val_dataloader
