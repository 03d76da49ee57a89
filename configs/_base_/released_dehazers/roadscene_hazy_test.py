# A released dehazer alone on RoadScene's 221 visible images hazed per image with the
# 'iassf_dense' preset (fixed seed, as configs/two_stage/): PSNR/SSIM of pred_dehazed against the
# clear image, the hazy input as a row. A _base_ fragment: the leaf names the model and sets
# model = dict(dehazer=dict(frozen=True)) (bases may not share a top-level key).
_base_ = [
    '../datasets/roadscene.py', '../default_runtime.py', '../../two_stage/_two_stage_evaluation.py'
]
test_dataloader = dict(dataset=dict(pipeline={{_base_.hazy_test_pipeline}},
                                    dataset_name='roadscene_hazy'))
val_dataloader = test_dataloader
test_evaluator = [dict(type='ReferenceMetric', metrics=['PSNR_ref', 'SSIM_ref'],
                       pred_key='pred_dehazed', include_input=True)]
val_evaluator = test_evaluator
test_cfg = dict(type='TestLoop')
val_cfg = dict(type='ValLoop')
