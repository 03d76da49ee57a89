# The released CAF on RoadScene (colour visible images, 221 pairs): it fuses the visible image as
# its release read it with the IR, the visible chroma is restored, and the 'release' protocol makes
# pred_fused as the release saved it (configs/_base_/models/caf.py).
#   python tools/test.py configs/caf/caf_release_roadscene.py
_base_ = [
    '../_base_/models/caf.py', '../_base_/datasets/roadscene.py',
    '../_base_/default_runtime.py', '../_base_/fusion_evaluation.py'
]
model = dict(fuser=dict(frozen=True))
test_evaluator = {{_base_.fusion_evaluator}}
val_evaluator = test_evaluator
test_cfg = {{_base_.release_test_cfg}}
val_cfg = {{_base_.release_val_cfg}}
