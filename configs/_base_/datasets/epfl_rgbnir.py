# EPFL RGB-NIR Scene (Brown & Süsstrunk, CVPR 2011): <category>/<NNNN>_rgb.tiff + <NNNN>_nir.tiff
# (or .jpg re-encodes), 477 pairs in 9 categories; img_id is 'category/NNNN'. Real scenes, some
# hazy, no clear reference and no labels. Test only; method configs add the evaluator.
dataset_type = 'PairedFusionDataset'
data_root = 'data/nirscene1/'

test_pipeline = [
    dict(type='LoadFusionImages', ir_channels=1),
    dict(type='PackFusionInputs'),
]
test_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, layout='epfl_rgbnir',
                 pipeline=test_pipeline, test_mode=True))
val_dataloader = test_dataloader
