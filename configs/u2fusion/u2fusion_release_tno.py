# The released U2Fusion on TNO, scored as published: the 'release' protocol (IR first, 8-bit
# sources, output min-max stretched and rounded half up) is applied to pred_fused itself, so
# these numbers are those of the release's published images (tests: the three TNO pairs of
# ../shared/data/tno_anchor are reproduced within 1 grey level on < 1e-4 of the pixels).
#   python tools/test.py configs/u2fusion/u2fusion_release_tno.py     (no checkpoint argument:
#   the fuser loads checkpoints/u2fusion_release.pth through its init_cfg)
_base_ = [
    '../_base_/models/u2fusion.py', '../_base_/datasets/tno.py',
    '../_base_/default_runtime.py', './_u2fusion_evaluation.py'
]
model = dict(fuser=dict(frozen=True))
test_evaluator = {{_base_.u2fusion_evaluator}}
val_evaluator = test_evaluator
test_cfg = dict(type='TestLoop')
val_cfg = dict(type='ValLoop')
