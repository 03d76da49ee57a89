# IASSF as released (fangjiaqi0909/IASSF, models/IASSF.py): every number below is the official
# network's. Paper-behaviour switches and ablations are documented in configs/iassf/README.md.
embed_dim = 24
model = dict(
    type='IASSF',  # DehazeFuseModel, named for IASSF
    # The restoration network (IA-FRM + DehazeFormer head): hazy VIS + IR → dehazed, ir_image.
    dehazer=dict(
        type='IASSFRestorer',
        # Shared shallow encoder: 1×1 conv entry + one window-attention block (1 head, window 8,
        # FFN 2.66). The paper calls it a "Restormer encoder"; the alias 'RestormerEncoder'
        # works too.
        encoder=dict(type='WindowAttentionEncoderBlock', in_channels=3, out_channels=embed_dim,
                     num_heads=1, window_size=8, ffn_ratio=2.66, network_depth=4),
        # PGM of the restoration path: F_v − F_i → GAP → Linear → softmax over a 5×24×256² pool.
        restoration_prompt=dict(type='PromptGenerationModule', source_channels=embed_dim,
                                prompt_channels=embed_dim, pool_length=5, pool_size=256,
                                difference='vis-ir', diff_conv=False, align_corners=False,
                                out_conv1x1=False),
        # PEB of the restoration path (window attention over 48 channels, 2 heads).
        restoration_embedding=dict(type='PromptEmbeddingBlock', channels=embed_dim,
                                   prompt_channels=embed_dim, num_heads=2, window_size=8,
                                   network_depth=32, use_attention=True),
        haze_density=dict(type='HazeDensityEstimator', preset='official', patch_size=15,
                          omega=0.95, box_size=60, eps=1e-4),
        feature_blend='density',
        double_vis_residual=True,
        # DehazeFormer-S on 24-channel features, plus IASSF's stem skip; 3-channel output.
        restoration_head=dict(type='DehazeFormerUNet', arch='s', in_channels=embed_dim,
                              out_channels=3, stem_skip=True, soft_reconstruction=False),
        size_divisor=4),
    # The fusion network (MsPE-FM): fuses the dehazed image with the restorer's ir_image.
    fuser=dict(
        type='PromptEmbeddingFusionUNet', in_channels=6, out_channels=3, base_channels=6,
        num_blocks=5, num_heads=1, window_size=8, ffn_ratio=2.66, network_depth=4,
        embedding_attention=True,
        prompt_generator=dict(type='PromptGenerationModule', source_channels=3,
                              prompt_channels=6, pool_length=5, pool_size=256,
                              difference='ir-vis', diff_conv=True, align_corners=True,
                              out_conv1x1=True)),
    data_preprocessor=dict(type='FusionDataPreprocessor', input_range=(-1.0, 1.0),
                           pad_size_divisor=4, pad_mode='reflect', ir_channels=3),
    # Total = 2·L1(dehazed, clear) + L1(fused, max(clear, IR)) + L1(∇fused, max(∇clear, ∇IR)).
    losses=dict(
        dehaze=dict(type='L1Loss', pred='dehazed', target='gt_clear', loss_weight=2.0),
        intensity=dict(type='MaxIntensityLoss', fused='fused', vis_ref='gt_clear', ir='ir',
                       loss_weight=1.0),
        gradient=dict(type='MaxGradientLoss', fused='fused', vis_ref='gt_clear', ir='ir',
                      loss_weight=1.0, border_type='constant')))
