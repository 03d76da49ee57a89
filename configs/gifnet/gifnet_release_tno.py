# The released GIFNet on TNO, scored as published: the 'release' protocol (how the release read its
# sources and saved its output) is applied to pred_fused itself
# (configs/_base_/models/gifnet.py; verification: configs/gifnet/README.md).
#   python tools/test.py configs/gifnet/gifnet_release_tno.py     (no checkpoint argument: the fuser
#   loads its converted release through its init_cfg)
_base_ = [
    '../_base_/models/gifnet.py', '../_base_/datasets/tno.py', '../_base_/default_runtime.py',
    '../_base_/fusion_evaluation.py'
]
model = dict(fuser=dict(frozen=True))
test_evaluator = {{_base_.fusion_evaluator}}
val_evaluator = test_evaluator
test_cfg = {{_base_.release_test_cfg}}
val_cfg = {{_base_.release_val_cfg}}
# The release read both files with cv2.imread(path, IMREAD_GRAYSCALE): for colour files that is
# not the gray of the decoded colour image (a JPEG's luma plane as decoded), so they are decoded
# that way here; the visible image then has no colour (the release's gray mode).
test_pipeline = [
    dict(type='LoadFusionImages', ir_channels=1, gray_decode='opencv'),
    dict(type='PackFusionInputs'),
]
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
val_dataloader = test_dataloader
