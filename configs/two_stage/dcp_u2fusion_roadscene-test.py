# Dark-channel-prior dehazing, then the released U2Fusion (frozen, release protocol), on
# RoadScene hazed per image with the 'iassf_dense' preset, scored like the IASSF paper (fusion
# metrics against IR and the clear visible image; PI, NIQE). No checkpoint argument (the fuser
# loads the converted release through its init_cfg):
#   python tools/test.py configs/two_stage/dcp_u2fusion_roadscene-test.py
_base_ = [
    '../_base_/models/u2fusion.py', '../_base_/datasets/roadscene.py',
    '../_base_/default_runtime.py', './_two_stage_evaluation.py'
]
model = dict(dehazer=dict(type='DarkChannelPriorDehazer'), fuser=dict(frozen=True))
test_dataloader = dict(dataset=dict(pipeline={{_base_.hazy_test_pipeline}},
                                    dataset_name='roadscene_hazy'))
val_dataloader = test_dataloader
test_evaluator = {{_base_.iassf_rows_evaluator}}
val_evaluator = test_evaluator
test_cfg = dict(type='TestLoop')
val_cfg = dict(type='ValLoop')
