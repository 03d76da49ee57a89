# DehazeFormer-T trained briefly on the CPU on synthetic hazy/clear pairs
# (configs/dehazeformer/dehazeformer-t_synthetic.py), then the released U2Fusion (frozen,
# release protocol), on the embedded synthetic test scenes. Both networks load their own
# checkpoint (init_cfg), so no checkpoint argument:
#   python tools/train.py configs/dehazeformer/dehazeformer-t_synthetic.py
#   python tools/test.py configs/two_stage/dehazeformer-t_u2fusion_synthetic.py
# Training this config trains the dehazer alone (L1 in [-1, 1]; the frozen fuser does not run).
_base_ = [
    '../_base_/models/u2fusion.py', '../_base_/datasets/synthetic_thermal_demo.py',
    '../_base_/schedules/adamw_cosine_iter.py', '../_base_/default_runtime.py',
    './_two_stage_evaluation.py'
]
dehazer_checkpoint = 'work_dirs/dehazeformer-t_synthetic/iter_600.pth'
model = dict(
    dehazer=dict(type='DehazeFormer', arch='t',
                 init_cfg=dict(type='Pretrained', checkpoint=dehazer_checkpoint,
                               prefix='dehazer.')),
    fuser=dict(frozen=True),
    data_preprocessor=dict(input_range=(-1.0, 1.0)),
    losses=dict(dehaze=dict(type='L1Loss', pred='dehazed', target='gt_clear')))
lr = 4e-4
max_iters = 600
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=lr, betas=(0.9, 0.999), weight_decay=0.01))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_iters, eta_min=lr * 1e-2, by_epoch=False, begin=0,
         end=max_iters)
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=max_iters, max_keep_ckpts=1))
log_processor = dict(by_epoch=False)
test_evaluator = {{_base_.synthetic_rows_evaluator}}
val_evaluator = test_evaluator
