# HSVF (Li et al., arXiv 2507.03893): semantic stream (HRNet content encoders per modality in a
# shared semantic space, shared segmentation head, style encoders + reconstruction heads; SPADE
# reconstruction generator with one region discriminator per class) + visual stream (joint self-
# and cross-attention fusion) + G_Final. Every choice the paper summary leaves open is marked
# [proposal] here and explained in configs/hsvf/README.md. Stages and schedules: the method
# configs. Variable names are prefixed: _base_ files may not share keys.

# The dataset's class names in label-id order: mmhaze's VNHD-style layout and the synthetic
# scenes share these seven (VNHD's own list is not public). Change both together.
hsvf_classes = ('sky', 'building', 'vegetation', 'road', 'person', 'car', 'terrain')
# One region discriminator per class the paper names (building, vegetation, sky).
hsvf_region_classes = ('sky', 'building', 'vegetation')

# HRNetV2-W18 (mmseg's fcn_hr18 widths), trained from scratch (no weights can be downloaded).
hsvf_hrnet_w18 = dict(
    stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK', num_blocks=(4, ),
                num_channels=(64, )),
    stage2=dict(num_modules=1, num_branches=2, block='BASIC', num_blocks=(4, 4),
                num_channels=(18, 36)),
    stage3=dict(num_modules=4, num_branches=3, block='BASIC', num_blocks=(4, 4, 4),
                num_channels=(18, 36, 72)),
    stage4=dict(num_modules=3, num_branches=4, block='BASIC', num_blocks=(4, 4, 4, 4),
                num_channels=(18, 36, 72, 144)))
# SPADE's discriminator: 2 scales × 4 layers, 64 wide, instance norm, spectral norm [code].
hsvf_region_discriminator = dict(
    type='SemanticRegionDiscriminator', in_channels=3, mask_input=True,
    discriminator=dict(type='PatchGANDiscriminator', base_channels=64, num_layers=4,
                       num_scales=2, norm='instance', spectral_norm=True))

model = dict(
    type='HSVF',
    classes=hsvf_classes,
    output='final',
    # tanh generators: the model works in [-1, 1]; HRNet halves the size 5 times.
    data_preprocessor=dict(type='FusionDataPreprocessor', input_range=(-1.0, 1.0),
                           pad_size_divisor=32, ir_channels=1),
    semantic=dict(
        type='SemanticAlignmentNetwork',
        modalities=('vis', 'nir'),
        content_encoder=dict(type='HRNetContentEncoder', out_channels=256, code_norm='layer',
                             backbone=dict(type='mmseg.HRNet', extra=hsvf_hrnet_w18)),
        seg_head=dict(type='SegmentationHead', channels=256, num_convs=2, dropout=0.1),
        style_encoder=dict(type='StyleEncoder', base_channels=64, num_downsamples=4,
                           style_dim=8),  # [proposal] MUNIT-like
        reconstruction_head=dict(type='AdaINReconstructionHead', channels=128,
                                 num_res_blocks=2, mlp_channels=128),  # [proposal]
        predict_from='mean'),  # [proposal] average of the VIS and NIR softmaxes
    # [proposal] SPADE from the shared content code at 1/4 size (U = 2), half SPADE's widths
    # (base 32, hidden 64): 1.0 M parameters, ~0.6 TMACs at 1024² (base 64 / hidden 128: 3.9 M,
    # 1.5 TMACs; SPADE's own generator, U = 5 from the map alone, is 92 M).
    generator=dict(type='SPADEGenerator', base_channels=32, num_upsamples=2,
                   num_middle_blocks=2, hidden_channels=64, norm='instance',
                   interpolation='bilinear', spectral_norm=True,
                   padding_mode='reflect'),  # [proposal] no dark frame
    visual=dict(type='JointAttentionFusion', embed_dim=48, depth=4, num_heads=4, window_size=8,
                mlp_ratio=2.0, attention='joint', joint_form='sum', merge='sum', patch_size=2,
                shift=True, drop_path=0.1),
    final=dict(type='ResidualMergeGenerator', in_channels=7, base_channels=32, num_levels=3),
    discriminators={c: dict(hsvf_region_discriminator) for c in hsvf_region_classes},
    region_masks=dict(fake='pred', real='pred'),
    losses=dict(
        # Stage 1, semantic alignment: L1 between the content codes [paper-summary], CE of the
        # shared head on both codes, self-reconstruction of each modality [proposal]. Alignment
        # weight 0.1 [proposal]: at 1 it cost the VIS code more than it gave (README).
        align=dict(type='L1Loss', pred='content_vis', target='content_nir', loss_weight=0.1),
        seg_vis=dict(type='SegCrossEntropyLoss', logits='seg_logits_vis', labels='gt_sem_seg'),
        seg_nir=dict(type='SegCrossEntropyLoss', logits='seg_logits_nir', labels='gt_sem_seg'),
        recon_vis=dict(type='L1Loss', pred='recon_vis', target='vis', loss_weight=1.0),
        recon_nir=dict(type='L1Loss', pred='recon_nir', target='ir', loss_weight=1.0),
        # Stage 2, cross-domain reconstruction: hinge GAN over the region discriminators
        # (SPADE's default), and the VIS content code of O_SR kept on the code it was generated
        # from (latent reconstruction) [proposal].
        sr_adv=dict(type='HingeGANLoss', fake='d_fake', loss_weight=1.0),
        sr_adv_disc=dict(type='HingeGANLoss', fake='d_fake', real='d_real',
                         step='discriminator'),
        sr_content=dict(type='L1Loss', pred='content_sr',
                        target=dict(key='content_shared', detach=True), loss_weight=1.0),
        # Stage 3, visual fusion: colour of the VIS input, the stronger edge of VIS and NIR.
        vf_intensity=dict(type='L1Loss', pred='visual_fused', target='vis', loss_weight=1.0),
        vf_gradient=dict(type='MaxGradientLoss', fused='visual_fused', vis_ref='vis', ir='ir',
                         loss_weight=1.0),
        # G_Final: α₁ · semantic reconstruction + β₁ · visual fusion, the paper's α₁ = 1,
        # β₁ = 0.1 [paper-summary]. [proposal] α₁'s term: the low frequencies (colour, contrast,
        # haze) of the output follow O_SR; β₁'s term: its edges follow the stronger of O_VF's
        # and the NIR image's — the two terms act on different frequencies.
        semantic_reconstruction=dict(type='LowFrequencyL1Loss', pred='final_fused',
                                     target=dict(key='dehazed', detach=True), sigma=2.0,
                                     loss_weight=1.0),
        visual_fusion=dict(type='MaxGradientLoss', fused='final_fused',
                           vis_ref=dict(key='visual_fused', detach=True), ir='ir',
                           loss_weight=0.1)))

# The four stages' loss names (the stage lists of the method configs use them).
hsvf_semantic_losses = ['align', 'seg_vis', 'seg_nir', 'recon_vis', 'recon_nir']
hsvf_reconstruction_losses = ['sr_adv', 'sr_adv_disc', 'sr_content']
hsvf_visual_losses = ['vf_intensity', 'vf_gradient']

# One optimizer per network slot (the stages pick theirs): SPADE's TTUR for the GAN parts
# (G 1e-4, D 4e-4, β = (0, 0.9)), Adam 2e-4 for the others [proposal].
optim_wrapper = dict(
    constructor='MultiOptimWrapperConstructor',
    semantic=dict(type='OptimWrapper',
                  optimizer=dict(type='AdamW', lr=2e-4, betas=(0.9, 0.999), weight_decay=0.01)),
    generator=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-4, betas=(0.0, 0.9))),
    discriminators=dict(type='OptimWrapper',
                        optimizer=dict(type='Adam', lr=4e-4, betas=(0.0, 0.9))),
    visual=dict(type='OptimWrapper',
                optimizer=dict(type='AdamW', lr=2e-4, betas=(0.9, 0.999), weight_decay=0.01)),
    final=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))))
