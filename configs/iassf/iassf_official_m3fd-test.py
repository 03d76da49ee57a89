# Test the official IASSF (trained on hazy MSRS) on M3FD with the 'iassf_dense' haze synthesised
# per image (fixed seed). The paper uses 100 of the 300 fusion pairs: give their stems with
# --cfg-options test_dataloader.dataset.ann_file=<list>.
_base_ = [
    '../_base_/models/iassf.py', '../_base_/datasets/m3fd.py', '../_base_/default_runtime.py',
    './_iassf_evaluation.py'
]
test_dataloader = dict(
    dataset=dict(pipeline={{_base_.iassf_hazy_test_pipeline}}, dataset_name='m3fd_hazy'))
val_dataloader = test_dataloader
test_evaluator = {{_base_.iassf_evaluator}}
val_evaluator = test_evaluator
test_cfg = dict(type='TestLoop')
val_cfg = dict(type='ValLoop')
