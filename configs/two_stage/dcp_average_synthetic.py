# Dark-channel-prior dehazing, then the average of the dehazed Y and the IR (CbCr of the dehazed
# image restored), on the embedded synthetic test scenes (64², 40 scenes, seed 1000).
# Training-free: python tools/test.py configs/two_stage/dcp_average_synthetic.py
_base_ = [
    '../_base_/models/dcp_two_stage.py', '../_base_/datasets/synthetic_thermal_demo.py',
    '../_base_/default_runtime.py', './_two_stage_evaluation.py'
]
train_dataloader = None  # nothing to train
test_evaluator = {{_base_.synthetic_rows_evaluator}}
val_evaluator = test_evaluator
test_cfg = dict(type='TestLoop')
val_cfg = dict(type='ValLoop')
