# AWFusion test images (github.com/ixilai/AWFusion, Test_Image/): Test_<weather>/{vi,ir,gt_vi,gt_ir};
# split='haze' reads Test_haze (also 'rain', 'Snow', 'real'). gt_vi gives gt_clear where it
# exists; gt_ir is not used. Test only; method configs add the evaluator.
dataset_type = 'PairedFusionDataset'
data_root = 'data/AWFusion/Test_Image/'

test_pipeline = [
    dict(type='LoadFusionImages', ir_channels=1),
    dict(type='PackFusionInputs'),
]
test_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, layout='awfusion', split='haze',
                 pipeline=test_pipeline, test_mode=True))
val_dataloader = test_dataloader
