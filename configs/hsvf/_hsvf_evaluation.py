# HSVF's evaluation, shared by its configs (a _base_ fragment, not a runnable config): the paper's
# FADE and NIQE of the final output (with the hazy input as a row), MI / VIF / Q^AB/F of the final
# output against the hazy VIS and the NIR input (with the plain average of the two as the trivial
# fusion row), and the mIoU of the semantic prediction — one tools/test.py table. Conventions are
# printed under the tables and listed in configs/hsvf/README.md. Names are prefixed: _base_ files
# may not share keys.
hsvf_no_reference = dict(type='NoReferenceMetric', metrics=['FADE', 'NIQE'],
                         pred_key='pred_fused', include_input=True)
hsvf_fusion = dict(type='FusionMetric', metrics=['MI', 'VIF', 'Qabf'], pred_key='pred_fused',
                   vis_key='vis', include_average=True)
hsvf_evaluator = [hsvf_no_reference, hsvf_fusion, dict(type='SegMetric')]
# Real VIS-NIR pairs without labels (EPFL RGB-NIR layout): no mIoU.
hsvf_unlabelled_evaluator = [hsvf_no_reference, hsvf_fusion]
# Synthetic scenes (labels and the clear image known): NIQE needs ≥ 192² images, so small
# synthetic scenes get FADE only, plus PSNR/SSIM against the clear image (hazy input as a row).
hsvf_synthetic_evaluator = [
    dict(hsvf_no_reference, metrics=['FADE']), hsvf_fusion, dict(type='SegMetric'),
    dict(type='ReferenceMetric', metrics=['PSNR_ref', 'SSIM_ref'], pred_key='pred_fused',
         include_input=True)]
