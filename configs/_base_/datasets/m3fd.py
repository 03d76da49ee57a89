# M3FD fusion set as published (Google Drive / Baidu only): M3FD_Fusion/{Vis,Ir}, 300 pairs of
# 1024×768 (IASSF tests on 100 of them: list their stems in an ann_file). Test only; method
# configs add the evaluator. For IASSF-style hazy tests, write a hazy copy with
# tools/dataset_converters/make_hazy.py (--layout m3fd) and read that with layout='iassf'.
dataset_type = 'PairedFusionDataset'
data_root = 'data/M3FD/M3FD_Fusion/'

test_pipeline = [
    dict(type='LoadFusionImages', ir_channels=1),
    dict(type='PackFusionInputs'),
]
test_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, layout='m3fd',
                 pipeline=test_pipeline, test_mode=True))
val_dataloader = test_dataloader
