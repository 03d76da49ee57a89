# HSVF, the paper's recipe (Li et al., arXiv 2507.03893) on mmhaze's VNHD-style VIS+NIR layout
# ({train,test}/{vis,nir,seg} + clear_unpaired/): HRNet-W18 semantic stream, SPADE reconstruction
# with sky / building / vegetation region discriminators, joint self+cross attention visual
# stream, G_Final with α₁ = 1 (semantic reconstruction) and β₁ = 0.1 (visual fusion); trained in
# four stages — semantic alignment 200 epochs, cross-domain reconstruction 400, visual fusion 400,
# joint fine-tuning 200 — from scratch. Every choice the paper leaves open: README.md.
# VNHD is not public: tools/dataset_converters/make_synthetic.py DST --layout vnhd writes a stand-in.
#   python tools/train.py configs/hsvf/hsvf_vnhd.py \
#       --cfg-options train_dataloader.dataset.data_root=DST val_dataloader.dataset.data_root=DST
_base_ = [
    '../_base_/models/hsvf.py', '../_base_/datasets/vnhd.py', '../_base_/default_runtime.py',
    './_hsvf_evaluation.py'
]

crop = 256  # [proposal] the paper's crop size is not known
train_pipeline = [
    dict(type='LoadFusionImages', ir_channels=1),
    dict(type='PairedRandomCrop', crop_size=crop),
    dict(type='PairedRandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomCropUnpaired', crop_size=crop),  # unpaired clear images, own window
    dict(type='PackFusionInputs'),
]
train_dataloader = dict(batch_size=4, drop_last=True, dataset=dict(pipeline=train_pipeline))

# Our reading of "semantic alignment (200 epochs), cross-domain reconstruction and visual fusion
# (400 epochs each), joint fine-tuning (200)": four stages in that order. Each names what it
# trains, its losses and its optimizers; --resume continues the stage it stopped in.
stage_epochs = dict(semantic=200, reconstruction=400, visual=400, joint=200)
model = dict(stages=[
    dict(name='semantic', epochs=stage_epochs['semantic'], train=['semantic'],
         losses={{_base_.hsvf_semantic_losses}}, optimizers=['semantic']),
    dict(name='reconstruction', epochs=stage_epochs['reconstruction'],
         train=['generator', 'discriminators'], losses={{_base_.hsvf_reconstruction_losses}},
         optimizers=['generator', 'discriminators']),
    dict(name='visual', epochs=stage_epochs['visual'], train=['visual'],
         losses={{_base_.hsvf_visual_losses}}, optimizers=['visual']),
    dict(name='joint', epochs=stage_epochs['joint'],
         train=['semantic', 'generator', 'visual', 'final', 'discriminators'],
         optimizers=['semantic', 'generator', 'visual', 'final', 'discriminators']),
])
max_epochs = sum(stage_epochs.values())
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=100)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# Constant learning rates per stage; the joint fine-tuning decays them linearly to 1/10.
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0, end_factor=0.1, by_epoch=True,
         begin=max_epochs - stage_epochs['joint'], end=max_epochs)
]
auto_scale_lr = dict(enable=False, base_batch_size=4)
default_hooks = dict(checkpoint=dict(by_epoch=True, interval=50, max_keep_ckpts=3,
                                     save_last=True))

val_evaluator = {{_base_.hsvf_evaluator}}
test_evaluator = val_evaluator
