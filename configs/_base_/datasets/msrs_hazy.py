# MSRS as published, hazed on the fly with the 'iassf_dense' preset (the look of the IASSF MSRS
# release: grey A 0.73-0.94, mean t 0.15-0.44, a ramp hazier at the top-left). Training draws a
# new haze per sample; the test haze is fixed per image by (test_haze_seed, stem), so every run
# scores the same hazy inputs. gt_clear is the original visible image. IR is loaded as 3
# identical channels, as IASSF feeds it.
dataset_type = 'PairedFusionDataset'
data_root = 'data/MSRS/'
crop_size = 256
haze_preset = 'iassf_dense'
test_haze_seed = 2024

train_pipeline = [
    dict(type='LoadFusionImages', ir_channels=3, vis_is_clear=True),
    dict(type='PairedRandomCrop', crop_size=crop_size),
    dict(type='SynthesizeHaze', preset=haze_preset, seed=None),
    dict(type='PairedRandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PairedRandomRot90', prob=0.75),
    dict(type='PackFusionInputs'),
]
test_pipeline = [
    dict(type='LoadFusionImages', ir_channels=3, vis_is_clear=True),
    dict(type='SynthesizeHaze', preset=haze_preset, seed=test_haze_seed),
    dict(type='PackFusionInputs'),
]

train_dataloader = dict(
    batch_size=6,
    num_workers=2,
    persistent_workers=True,
    # Epoch-based, as the papers train (an InfiniteSampler would never end an epoch).
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, layout='msrs', split='train',
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, layout='msrs', split='test',
                 dataset_name='msrs_hazy', pipeline=test_pipeline, test_mode=True))
test_dataloader = val_dataloader
val_evaluator = dict(type='ReferenceMetric', include_input=True)
test_evaluator = val_evaluator
