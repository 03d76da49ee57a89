# HSVF with the two middle stages run concurrently (the other reading of "cross-domain
# reconstruction and visual fusion pretrained, 400 epochs each"): semantic alignment (200),
# reconstruction and visual fusion together (400), joint fine-tuning (200) — 800 epochs.
_base_ = ['./hsvf_vnhd.py']

stage_epochs = dict(semantic=200, pretrain=400, joint=200)
model = dict(stages=[
    dict(name='semantic', epochs=stage_epochs['semantic'], train=['semantic'],
         losses={{_base_.hsvf_semantic_losses}}, optimizers=['semantic']),
    dict(name='pretrain', epochs=stage_epochs['pretrain'],
         train=['generator', 'discriminators', 'visual'],
         losses=['sr_adv', 'sr_adv_disc', 'sr_content', 'vf_intensity', 'vf_gradient'],
         optimizers=['generator', 'discriminators', 'visual']),
    dict(name='joint', epochs=stage_epochs['joint'],
         train=['semantic', 'generator', 'visual', 'final', 'discriminators'],
         optimizers=['semantic', 'generator', 'visual', 'final', 'discriminators']),
])
max_epochs = 800
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0, end_factor=0.1, by_epoch=True,
         begin=max_epochs - stage_epochs['joint'], end=max_epochs)
]
