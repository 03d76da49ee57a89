# The semantic-alignment ablation at the tiny scale, "aligned VIS + NIR" arm: the tiny semantic
# stream alone, stage 1's losses and length (150 iterations). With
# hsvf_tiny_ablation-seg-vis-only_synthetic.py it measures what the alignment buys on the hazy
# synthetic test scenes (configs/hsvf/README.md: 3 seeds, --cfg-options randomness.seed=S).
_base_ = ['./hsvf_tiny_synthetic.py']

model = dict(
    generator=None, visual=None, final=None, discriminators=None, output=None, stages=None,
    losses=dict(sr_adv=None, sr_adv_disc=None, sr_content=None, vf_intensity=None,
                vf_gradient=None, semantic_reconstruction=None, visual_fusion=None))
optim_wrapper = dict(
    _delete_=True, constructor='MultiOptimWrapperConstructor',
    semantic=dict(type='OptimWrapper',
                  optimizer=dict(type='AdamW', lr=2e-3, betas=(0.9, 0.999), weight_decay=0.01)))
max_iters = 150
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = []
default_hooks = dict(checkpoint=dict(interval=max_iters))
val_evaluator = dict(_delete_=True, type='SegMetric')
test_evaluator = val_evaluator
