# Runtime shared by every mmhaze config.
default_scope = 'mmhaze'

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    # A console line with the ETA at most every 10 s (the logger's every 50 iterations can be
    # minutes apart on a CPU).
    progress=dict(type='ProgressHook', interval=10),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # Never writes NaN/inf weights, so max_keep_ckpts cannot rotate the last good one away.
    checkpoint=dict(type='FiniteCheckpointHook', interval=1, max_keep_ckpts=3),
    # Stops at the first NaN/inf logged loss term, before the checkpoint hook runs.
    check_invalid_loss=dict(type='CheckInvalidLossHook', interval=1),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # Every checkpoint loads with torch.load(weights_only=True). It lives in default_hooks (a
    # dict, merged by inheritance) so a child config's custom_hooks cannot drop it.
    safe_checkpoint=dict(type='SafeCheckpointHook'),
    # Switches model.stages by iteration/epoch (resume continues the stage); no-op without.
    stage=dict(type='TrainingStageHook'),
    # Checks the data against the model before the first iteration: every field the losses of
    # the stages ahead read (labels, clear or unpaired clear images), and the class list.
    data_check=dict(type='FieldCheckHook'),
    # Checkpoints hold the random generators' state: --resume draws what the interrupted run
    # would have drawn (dropout, drop-path, random transforms), and validation draws nothing.
    random_state=dict(type='RandomStateHook'),
)

vis_backends = [dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')]
visualizer = dict(type='FusionVisualizer', vis_backends=vis_backends, name='visualizer')

log_processor = dict(type='FusionLogProcessor', window_size=50, by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
