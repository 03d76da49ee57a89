# Dark-channel-prior dehazing, then the released U2Fusion (frozen, release protocol) on the
# embedded synthetic test scenes. No checkpoint argument: the fuser loads the converted release
# (configs/_base_/models/u2fusion.py) through its init_cfg.
#   python tools/test.py configs/two_stage/dcp_u2fusion_synthetic.py
_base_ = [
    '../_base_/models/u2fusion.py', '../_base_/datasets/synthetic_thermal_demo.py',
    '../_base_/default_runtime.py', './_two_stage_evaluation.py'
]
model = dict(dehazer=dict(type='DarkChannelPriorDehazer'), fuser=dict(frozen=True))
train_dataloader = None  # nothing to train
test_evaluator = {{_base_.synthetic_rows_evaluator}}
val_evaluator = test_evaluator
test_cfg = dict(type='TestLoop')
val_cfg = dict(type='ValLoop')
