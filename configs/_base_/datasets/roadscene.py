# RoadScene as published (github.com/hanna-xu/RoadScene): crop_LR_visible/ + cropinfrared/,
# 221 pairs, FLIR_xxxxx.jpg, sizes vary (batch size 1). Test only; method configs add the
# evaluator.
dataset_type = 'PairedFusionDataset'
data_root = 'data/RoadScene/'

test_pipeline = [
    dict(type='LoadFusionImages', ir_channels=1),
    dict(type='PackFusionInputs'),
]
test_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, layout='roadscene',
                 pipeline=test_pipeline, test_mode=True))
val_dataloader = test_dataloader
