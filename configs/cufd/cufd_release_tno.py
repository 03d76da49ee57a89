# The released CUFD on TNO, as VIF-Benchmark's generate.py saves its outputs: the 'release'
# protocol (how the release read its sources and saved its output) is applied to pred_fused
# itself. No published images: tests/models/test_zoo_fusers.py compares with the official code's
# outputs on crops of ../shared/data/tno_anchor (6.0e-7 before the byte stretch).
#   python tools/test.py configs/cufd/cufd_release_tno.py     (no checkpoint argument: the
#   fuser loads checkpoints/cufd_release.pth through its init_cfg)
_base_ = [
    '../_base_/models/cufd.py', '../_base_/datasets/tno.py', '../_base_/default_runtime.py',
    '../_base_/fusion_evaluation.py'
]
model = dict(fuser=dict(frozen=True))
test_evaluator = {{_base_.fusion_evaluator}}
val_evaluator = test_evaluator
test_cfg = {{_base_.release_test_cfg}}
val_cfg = {{_base_.release_val_cfg}}
