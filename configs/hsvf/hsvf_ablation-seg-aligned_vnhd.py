# Semantic-alignment ablation, "aligned VIS + NIR" arm: the semantic stream alone (content
# encoders, shared segmentation head, style encoders and reconstruction heads), trained with the
# L1 alignment loss and cross-entropy on both codes for stage 1's 200 epochs; the prediction
# averages the VIS and NIR softmaxes. Compare with hsvf_ablation-seg-vis-only_vnhd.py (the paper:
# mIoU 0.7623 VIS-only → 0.7865 aligned).
_base_ = ['./hsvf_vnhd.py']

model = dict(
    generator=None, visual=None, final=None, discriminators=None, output=None, stages=None,
    losses=dict(sr_adv=None, sr_adv_disc=None, sr_content=None, vf_intensity=None,
                vf_gradient=None, semantic_reconstruction=None, visual_fusion=None))
optim_wrapper = dict(
    _delete_=True, constructor='MultiOptimWrapperConstructor',
    semantic=dict(type='OptimWrapper',
                  optimizer=dict(type='AdamW', lr=2e-4, betas=(0.9, 0.999), weight_decay=0.01)))
train_cfg = dict(max_epochs=200, val_interval=50)
param_scheduler = []
val_evaluator = dict(_delete_=True, type='SegMetric')
test_evaluator = val_evaluator
