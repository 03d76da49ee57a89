# IASSF shrunk for the CPU demo and the tests: trains on the embedded synthetic VIS + thermal
# scenes in 2.5-5 minutes (2 CPU cores; configs/demo/demo_synthetic.py trains a smaller budget)
# and scores the test scenes. Only widths, depths, attention windows and prompt-pool sizes
# shrink; every block and switch of the official model
# (_base_/models/iassf.py) stays: encoder, both PGMs and PEBs, the official haze density, the
# DehazeFormer U-Net with its stem skip, the 5-block fusion U-Net, the losses, IR as 3 channels
# (the synthetic thermal plane replicated by the dataset, as LoadFusionImages(ir_channels=3)
# reads the release's IR), inputs in [-1, 1].
_base_ = [
    '../_base_/models/iassf.py', '../_base_/datasets/synthetic_thermal_demo.py',
    '../_base_/schedules/adamw_cosine_iter.py', '../_base_/default_runtime.py'
]

embed_dim = 12
window = 4
pool = 32
max_iters = 300
model = dict(
    dehazer=dict(
        encoder=dict(out_channels=embed_dim, window_size=window),
        restoration_prompt=dict(source_channels=embed_dim, prompt_channels=embed_dim,
                                pool_size=pool),
        restoration_embedding=dict(channels=embed_dim, prompt_channels=embed_dim, num_heads=2,
                                   window_size=window, network_depth=16),
        restoration_head=dict(in_channels=embed_dim, embed_dims=(8, 16, 32, 16, 8),
                              depths=(4, 4, 4, 2, 2), num_heads=(2, 2, 4, 1, 1),
                              window_size=window)),
    fuser=dict(window_size=window, prompt_generator=dict(pool_size=pool)))

# IASSF reads IR as 3 channels (_base_/models/iassf.py): the dataset gives it that way.
train_dataloader = dict(dataset=dict(ir_channels=3))
val_dataloader = dict(dataset=dict(ir_channels=3))
test_dataloader = dict(dataset=dict(ir_channels=3))

warmup = 45
optim_wrapper = dict(optimizer=dict(lr=3e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.04, by_epoch=False, begin=0, end=warmup),
    dict(type='CosineAnnealingLR', T_max=max_iters - warmup, eta_min=1e-6, by_epoch=False,
         begin=warmup, end=max_iters)
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    checkpoint=dict(by_epoch=False, interval=max_iters, max_keep_ckpts=1),
    logger=dict(interval=50))
log_processor = dict(by_epoch=False)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(vis_backends=vis_backends)
