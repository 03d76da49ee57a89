# DehazeFormer-T trained briefly on the CPU on the embedded synthetic scenes (64² hazy/clear
# pairs, the demo budget): the release's recipe (L1 in [-1, 1], AdamW, cosine to 0.01·lr, T's
# lr 4e-4) with batch 8 and 600 iterations. Its checkpoint is the dehazer of
# configs/two_stage/dehazeformer-t_u2fusion_synthetic.py.
_base_ = [
    '../_base_/models/dehazeformer.py', '../_base_/datasets/synthetic_thermal_demo.py',
    '../_base_/schedules/adamw_cosine_iter.py', '../_base_/default_runtime.py'
]
lr = 4e-4
max_iters = 600
model = dict(dehazer=dict(arch='t'))
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=lr, betas=(0.9, 0.999), weight_decay=0.01))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_iters, eta_min=lr * 1e-2, by_epoch=False, begin=0,
         end=max_iters)
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=max_iters, max_keep_ckpts=1),
                     logger=dict(interval=50))
log_processor = dict(by_epoch=False)
val_evaluator = [dict(type='ReferenceMetric', metrics=['PSNR_ref', 'SSIM_ref'],
                      pred_key='pred_dehazed', include_input=True, prefix='synthetic')]
test_evaluator = val_evaluator
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(vis_backends=vis_backends)
