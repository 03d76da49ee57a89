# Test the official IASSF on the IASSF release's own test data (data/IASSF/MSRS/test/{hazy,GT,IR}:
# 361 triplets of hazy input, clear visible and IR), scored as the paper scores it: IASSF's eight
# metrics (MI, Q^AB/F, Q_CV, SCD, VIF = Han's VIFF and SF against the IR and the clear image;
# PI, NIQE of the fused image) plus PSNR/SSIM of the dehazed image against GT.
_base_ = [
    '../_base_/models/iassf.py', '../_base_/datasets/iassf_msrs.py',
    '../_base_/default_runtime.py', './_iassf_evaluation.py'
]
train_dataloader = None  # test only (the dataset base also defines the training split)
test_evaluator = {{_base_.iassf_evaluator}}
val_evaluator = test_evaluator
test_cfg = dict(type='TestLoop')
val_cfg = dict(type='ValLoop')
