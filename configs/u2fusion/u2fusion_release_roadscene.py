# The released U2Fusion on RoadScene (colour visible images): it fuses the visible Y with the
# IR, the visible CbCr is restored, and the 'release' protocol stretches the fused Y per image.
_base_ = [
    '../_base_/models/u2fusion.py', '../_base_/datasets/roadscene.py',
    '../_base_/default_runtime.py', './_u2fusion_evaluation.py'
]
model = dict(fuser=dict(frozen=True))
test_evaluator = {{_base_.u2fusion_evaluator}}
val_evaluator = test_evaluator
test_cfg = dict(type='TestLoop')
val_cfg = dict(type='ValLoop')
