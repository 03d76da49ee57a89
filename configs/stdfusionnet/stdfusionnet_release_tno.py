# The released STDFusionNet (jiayi-ma checkpoint) on TNO, scored as the release would have saved
# its outputs: the 'release' protocol (how the release read its sources and saved its output) is
# applied to pred_fused itself. It reproduces the release's published results (its own test
# pairs 05, 06, 09) within 1 grey level on < 2e-5 of the pixels (tests/models/test_zoo_fusers.py;
# the reading assumes gray sources stored as RGB, as tno_anchor: see the README).
#   python tools/test.py configs/stdfusionnet/stdfusionnet_release_tno.py     (no checkpoint argument: the
#   fuser loads checkpoints/stdfusionnet_release.pth through its init_cfg)
_base_ = [
    '../_base_/models/stdfusionnet.py', '../_base_/datasets/tno.py', '../_base_/default_runtime.py',
    '../_base_/fusion_evaluation.py'
]
model = dict(fuser=dict(frozen=True))
test_evaluator = {{_base_.fusion_evaluator}}
val_evaluator = test_evaluator
test_cfg = {{_base_.release_test_cfg}}
val_cfg = {{_base_.release_val_cfg}}
