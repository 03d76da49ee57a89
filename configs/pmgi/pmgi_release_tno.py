# The released PMGI on TNO, scored as published: the 'release' protocol (how the published
# results were read and saved) is applied to pred_fused itself, so these numbers are those of the
# published images (tests/models/test_zoo_fusers.py reproduces the three TNO pairs of
# ../shared/data/tno_anchor within 1 grey level on < 1e-4 of the pixels).
#   python tools/test.py configs/pmgi/pmgi_release_tno.py     (no checkpoint argument: the
#   fuser loads checkpoints/pmgi_release.pth through its init_cfg)
_base_ = [
    '../_base_/models/pmgi.py', '../_base_/datasets/tno.py', '../_base_/default_runtime.py',
    '../_base_/fusion_evaluation.py'
]
model = dict(fuser=dict(frozen=True))
test_evaluator = {{_base_.fusion_evaluator}}
val_evaluator = test_evaluator
test_cfg = {{_base_.release_test_cfg}}
val_cfg = {{_base_.release_val_cfg}}
