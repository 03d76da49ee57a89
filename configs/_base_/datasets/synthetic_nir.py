# The embedded procedural VIS + NIR (VNHD-like) scenes (no download). Train and test use different
# seeds, so no test scene is ever seen in training.
dataset_type = 'SyntheticFusionDataset'
img_size = 128
pipeline = [dict(type='PackFusionInputs')]

train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type=dataset_type, num_samples=2000, img_size=img_size, seed=0,
                 modality='nir', pipeline=pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, num_samples=50, img_size=img_size, seed=1000,
                 modality='nir', pipeline=pipeline, test_mode=True))
test_dataloader = val_dataloader
val_evaluator = dict(type='ReferenceMetric', include_input=True)
test_evaluator = val_evaluator
