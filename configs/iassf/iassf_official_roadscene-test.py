# Test the official IASSF (trained on hazy MSRS) on RoadScene with the 'iassf_dense' haze
# synthesised per image (fixed seed). Sizes vary and are not multiples of 4: the model
# reflect-pads and crops back. The paper uses 50 of the 221 pairs (give an ann_file).
_base_ = [
    '../_base_/models/iassf.py', '../_base_/datasets/roadscene.py',
    '../_base_/default_runtime.py', './_iassf_evaluation.py'
]
test_dataloader = dict(
    dataset=dict(pipeline={{_base_.iassf_hazy_test_pipeline}}, dataset_name='roadscene_hazy'))
val_dataloader = test_dataloader
test_evaluator = {{_base_.iassf_evaluator}}
val_evaluator = test_evaluator
test_cfg = dict(type='TestLoop')
val_cfg = dict(type='ValLoop')
