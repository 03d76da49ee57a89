# Stream ablation, visual only: the joint-attention visual stream alone (VIS + NIR → O_VF),
# trained with its fusion losses for 400 epochs (stage 3's length). No semantics, no labels.
_base_ = ['./hsvf_vnhd.py']

model = dict(
    semantic=None, generator=None, final=None, discriminators=None, output='visual',
    stages=None,
    losses=dict(align=None, seg_vis=None, seg_nir=None, recon_vis=None, recon_nir=None,
                sr_adv=None, sr_adv_disc=None, sr_content=None, semantic_reconstruction=None,
                visual_fusion=None))
optim_wrapper = dict(
    _delete_=True, constructor='MultiOptimWrapperConstructor',
    visual=dict(type='OptimWrapper',
                optimizer=dict(type='AdamW', lr=2e-4, betas=(0.9, 0.999), weight_decay=0.01)))
train_cfg = dict(max_epochs=400)
param_scheduler = []
val_evaluator = {{_base_.hsvf_unlabelled_evaluator}}
test_evaluator = val_evaluator
