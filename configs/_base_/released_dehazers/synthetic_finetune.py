# A released dehazer on the embedded synthetic scenes (128², 50 test scenes; no download):
# PSNR/SSIM of pred_dehazed against the clear image with the hazy input as a row, and fine-tuning
# with MSE to the clear image on the releases' optimizer (Adam, lr 1e-4, weight decay 1e-4,
# gradient norm clipped at 0.1; batch 8), 600 iterations. A _base_ fragment: the leaf names the
# model and its loss (bases may not share a top-level key).
_base_ = [
    '../datasets/synthetic_thermal.py', '../schedules/adam_clip_finetune_iter.py',
    '../default_runtime.py'
]
default_hooks = dict(checkpoint=dict(by_epoch=False, interval={{_base_.max_iters}},
                                     max_keep_ckpts=1),
                     logger=dict(interval=50))
log_processor = dict(by_epoch=False)
val_evaluator = [dict(type='ReferenceMetric', metrics=['PSNR_ref', 'SSIM_ref'],
                      pred_key='pred_dehazed', include_input=True, prefix='synthetic')]
test_evaluator = val_evaluator
