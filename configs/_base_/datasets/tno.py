# TNO as distributed with the fusion metric tools (Linfeng-Tang/Evaluation-for-Image-Fusion,
# Image/Source-Image/TNO, or MMIF-CDDFuse test_img/TNO): {vi,ir}/NN.png, grey images stored as
# RGB; 17 sizes (batch size 1). Test only; method configs add the evaluator.
dataset_type = 'PairedFusionDataset'
data_root = 'data/TNO/'

test_pipeline = [
    dict(type='LoadFusionImages', ir_channels=1),
    dict(type='PackFusionInputs'),
]
test_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, layout='tno',
                 pipeline=test_pipeline, test_mode=True))
val_dataloader = test_dataloader
