# The released YDTR on TNO, scored as published: the 'release' protocol (how the release read its
# sources and saved its output) is applied to pred_fused itself
# (configs/_base_/models/ydtr.py; verification: configs/ydtr/README.md).
#   python tools/test.py configs/ydtr/ydtr_release_tno.py     (no checkpoint argument: the fuser
#   loads its converted release through its init_cfg)
_base_ = [
    '../_base_/models/ydtr.py', '../_base_/datasets/tno.py', '../_base_/default_runtime.py',
    '../_base_/fusion_evaluation.py'
]
model = dict(fuser=dict(frozen=True))
test_evaluator = {{_base_.fusion_evaluator}}
val_evaluator = test_evaluator
test_cfg = {{_base_.release_test_cfg}}
val_cfg = {{_base_.release_val_cfg}}
