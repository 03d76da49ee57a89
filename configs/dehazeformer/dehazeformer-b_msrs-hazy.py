# DehazeFormer-B on hazy MSRS: the recipe of dehazeformer-s_msrs-hazy.py with the release's
# batch size and learning rate for this variant.
_base_ = ['./dehazeformer-s_msrs-hazy.py']
arch = 'b'
batch_size = 16
lr = 2e-4
max_epochs = 300

model = dict(dehazer=dict(arch=arch))
train_dataloader = dict(batch_size=batch_size)
optim_wrapper = dict(optimizer=dict(lr=lr))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=lr * 1e-2, by_epoch=True, begin=0,
         end=max_epochs)
]
auto_scale_lr = dict(base_batch_size=batch_size)
