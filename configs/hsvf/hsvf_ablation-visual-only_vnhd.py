# Stream ablation, visual only: the joint-attention visual stream alone (VIS + NIR → O_VF),
# trained with its fusion losses for 400 epochs (stage 3's length). No semantics, no labels.
_base_ = ['./hsvf_vnhd.py', './_hsvf_stream_ablations.py']

model = {{_base_.hsvf_visual_only_model}}
optim_wrapper = dict(
    _delete_=True, constructor='MultiOptimWrapperConstructor',
    visual=dict(type='OptimWrapper',
                optimizer=dict(type='AdamW', lr=2e-4, betas=(0.9, 0.999), weight_decay=0.01)))
train_cfg = dict(max_epochs=400)
param_scheduler = []
val_evaluator = {{_base_.hsvf_unlabelled_evaluator}}
test_evaluator = val_evaluator
