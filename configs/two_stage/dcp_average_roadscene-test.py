# Dark-channel-prior dehazing, then the average of the dehazed Y and the IR, on RoadScene hazed per image with the
# 'iassf_dense' preset, scored like the IASSF paper (fusion metrics against IR and the clear
# visible image; PI, NIQE). Training-free:
#   python tools/test.py configs/two_stage/dcp_average_roadscene-test.py
_base_ = [
    '../_base_/models/dcp_two_stage.py', '../_base_/datasets/roadscene.py',
    '../_base_/default_runtime.py', './_two_stage_evaluation.py'
]
test_dataloader = dict(dataset=dict(pipeline={{_base_.hazy_test_pipeline}},
                                    dataset_name='roadscene_hazy'))
val_dataloader = test_dataloader
test_evaluator = {{_base_.iassf_rows_evaluator}}
val_evaluator = test_evaluator
test_cfg = dict(type='TestLoop')
val_cfg = dict(type='ValLoop')
