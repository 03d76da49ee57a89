# Test "DehazeFormer → U2Fusion" (trained on hazy MSRS by dehazeformer-s_u2fusion_msrs.py) on
# RoadScene (the paper: 50 of the 221 pairs, listed in an ann_file), hazed per image with the 'iassf_dense' preset:
#   python tools/test.py configs/two_stage/dehazeformer-s_u2fusion_roadscene-test.py CKPT
_base_ = ['./dehazeformer-s_u2fusion_msrs.py']
test_dataloader = dict(
    _delete_=True,
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='PairedFusionDataset', data_root='data/RoadScene/', layout='roadscene',
                 dataset_name='roadscene_hazy', pipeline={{_base_.hazy_test_pipeline}},
                 test_mode=True))
val_dataloader = test_dataloader
