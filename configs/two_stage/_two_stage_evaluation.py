# Two-stage evaluation (a _base_ fragment): one table whose rows are the fused output (the
# method), the dehazer's output and the hazy input, each scored with the same metrics.
# Fusion metrics compare with the IR and the *clear* visible image, as the IASSF paper does.

# The embedded synthetic scenes: PSNR/SSIM against the clear image, MI and Q^AB/F.
synthetic_keys = ['MI', 'Qabf']
synthetic_rows_evaluator = [
    dict(type='FusionMetric', metrics=synthetic_keys, pred_key='pred_fused',
         vis_key='gt_clear', prefix='synthetic'),
    dict(type='ReferenceMetric', metrics=['PSNR_ref', 'SSIM_ref'], pred_key='pred_fused',
         prefix='synthetic'),
    dict(type='ExtraRowMetric', row='dehazer output', metric=dict(
        type='FusionMetric', metrics=synthetic_keys, pred_key='pred_dehazed',
        vis_key='gt_clear', prefix='synthetic')),
    dict(type='ExtraRowMetric', row='dehazer output', metric=dict(
        type='ReferenceMetric', metrics=['PSNR_ref', 'SSIM_ref'], pred_key='pred_dehazed',
        prefix='synthetic')),
    dict(type='ExtraRowMetric', row='hazy input', metric=dict(
        type='FusionMetric', metrics=synthetic_keys, pred_key='vis', vis_key='gt_clear',
        prefix='synthetic')),
    dict(type='ExtraRowMetric', row='hazy input', metric=dict(
        type='ReferenceMetric', metrics=['PSNR_ref', 'SSIM_ref'], pred_key='vis',
        prefix='synthetic')),
]

# The IASSF paper's eight metrics (Tables I-VI): MI, Q^AB/F, Q_CV, SCD, VIF (= VIFF here, the
# metric the paper cites), SF against IR and the clear visible image; PI and NIQE of the image
# (images under 192 px on a side, e.g. RoadScene's FLIR_05053, are left out of those two columns
# with a note: they need two scales of 96-px blocks).
no_reference_metric = dict(type='NoReferenceMetric', metrics=['PI', 'NIQE'], skip_errors=True)
iassf_keys = ['MI', 'Qabf', 'Qcv', 'SCD', 'VIFF', 'SF']
iassf_rows_evaluator = [
    dict(type='FusionMetric', metrics=iassf_keys, pred_key='pred_fused', vis_key='gt_clear'),
    dict(no_reference_metric, pred_key='pred_fused'),
    dict(type='ExtraRowMetric', row='dehazer output', metric=dict(
        type='FusionMetric', metrics=iassf_keys, pred_key='pred_dehazed', vis_key='gt_clear')),
    dict(type='ExtraRowMetric', row='dehazer output',
         metric=dict(no_reference_metric, pred_key='pred_dehazed')),
    dict(type='ExtraRowMetric', row='dehazer output', metric=dict(
        type='ReferenceMetric', metrics=['PSNR_ref', 'SSIM_ref'], pred_key='pred_dehazed')),
    dict(type='ExtraRowMetric', row='hazy input', metric=dict(
        type='FusionMetric', metrics=iassf_keys, pred_key='vis', vis_key='gt_clear')),
    dict(type='ExtraRowMetric', row='hazy input', metric=dict(no_reference_metric, pred_key='vis')),
    dict(type='ExtraRowMetric', row='hazy input', metric=dict(
        type='ReferenceMetric', metrics=['PSNR_ref', 'SSIM_ref'], pred_key='vis')),
]

# Clear-only test sets (M3FD, RoadScene) hazed per image with the 'iassf_dense' preset (fixed
# seed, as configs/iassf/ does), IR as one gray channel.
hazy_test_pipeline = [
    dict(type='LoadFusionImages', ir_channels=1, vis_is_clear=True),
    dict(type='SynthesizeHaze', preset='iassf_dense', seed=2024),
    dict(type='PackFusionInputs'),
]
