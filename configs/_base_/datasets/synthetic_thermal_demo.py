# The demo budget of synthetic_thermal.py: 64² scenes, 40 test scenes, and the demo's table:
# PSNR/SSIM of the dehazed output (with the hazy input as a row) and MI / Q^AB/F of the fused
# output (with the plain average of hazy VIS and IR as a row), against the clear image.
_base_ = ['./synthetic_thermal.py']

img_size = 64
train_dataloader = dict(
    batch_size=8, num_workers=2,
    dataset=dict(img_size=img_size, num_samples=4000))
val_dataloader = dict(num_workers=1, dataset=dict(img_size=img_size, num_samples=40))
test_dataloader = dict(num_workers=1, dataset=dict(img_size=img_size, num_samples=40))
val_evaluator = [
    dict(type='ReferenceMetric', include_input=True),
    dict(type='FusionMetric', metrics=['MI', 'Qabf'], pred_key='pred_fused', vis_key='gt_clear',
         include_average=True),
]
test_evaluator = val_evaluator
