# DehazeFormer-B on hazy MSRS: the recipe of dehazeformer-s_msrs-hazy.py with the release's
# batch size and learning rate for this variant.
_base_ = ['./dehazeformer-s_msrs-hazy.py']
arch = 'b'
batch_size = 16
lr = 2e-4

model = dict(dehazer=dict(arch=arch))
train_dataloader = dict(batch_size=batch_size)
optim_wrapper = dict(optimizer=dict(lr=lr))
auto_scale_lr = dict(base_batch_size=batch_size)
