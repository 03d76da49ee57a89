# The attention ablation at the tiny scale, "joint" arm (self and cross terms summed, the paper's
# form): the tiny visual stream alone (VIS + NIR → O_VF), stage 3's fusion losses, 300
# iterations. With the -self, -cross and -single-softmax arms it measures what the joint
# attention buys on the hazy synthetic test scenes (configs/hsvf/README.md: 3 seeds,
# --cfg-options randomness.seed=S). Metrics: MI / VIF / Q^AB/F of O_VF against the hazy VIS and
# the NIR input (the average of the two as the trivial row), FADE (the hazy input as a row).
_base_ = ['./hsvf_tiny_synthetic.py', './_hsvf_stream_ablations.py']

model = {{_base_.hsvf_visual_only_model}}
optim_wrapper = dict(
    _delete_=True, constructor='MultiOptimWrapperConstructor',
    visual=dict(type='OptimWrapper',
                optimizer=dict(type='AdamW', lr=2e-3, betas=(0.9, 0.999), weight_decay=0.01)))
max_iters = 300
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = []
default_hooks = dict(checkpoint=dict(interval=max_iters))
val_evaluator = [
    dict(type='NoReferenceMetric', metrics=['FADE'], pred_key='pred_fused', include_input=True),
    dict(type='FusionMetric', metrics=['MI', 'VIF', 'Qabf'], pred_key='pred_fused',
         vis_key='vis', include_average=True)]
test_evaluator = val_evaluator
