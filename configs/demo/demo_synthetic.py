# The demo: `make demo` trains IASSF (shrunk for the CPU: configs/iassf/iassf_tiny_synthetic.py)
# on the embedded synthetic VIS + thermal scenes in under 3 minutes on 2 CPU cores, then tests
# it: PSNR/SSIM of the dehazed output against the clear image next to the hazy input's, and
# MI / Q^AB/F of the fused output.
_base_ = ['../iassf/iassf_tiny_synthetic.py']

# The demo's budget (measured on a 2-core VM whose speed drifts by up to 2x between days):
# batch 4 instead of iassf_tiny's 8 halves the cost of an iteration (0.5-0.6 s against
# 0.9-1.0 s) and 250 of them beat the hazy input and the plain average on every column of the
# table; 300 iterations of batch 8 took 4-5 minutes on the slow days.
max_iters = 250
warmup = 38
# The scenes are drawn in the main process (about 30 ms a batch): data workers on a 2-core
# machine took cores from the training and cost 15 % per iteration.
train_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.04, by_epoch=False, begin=0, end=warmup),
    dict(type='CosineAnnealingLR', T_max=max_iters - warmup, eta_min=1e-6, by_epoch=False,
         begin=warmup, end=max_iters)
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=max_iters, max_keep_ckpts=1))
