# IASSF's evaluation, shared by its test configs (a _base_ fragment, not a runnable config).
# The paper's eight metrics: fusion metrics of the fused image against the IR and the *clear*
# visible image ("with clear source images as reference images"), the perceptual quality of the
# fused image (PI, NIQE; SF is in FusionMetric); plus PSNR/SSIM of the dehazed image, which the
# paper does not report. Variable names are prefixed so they never clash with a dataset base.
# Inheriting this file changes nothing by itself: a config applies the evaluator by assigning it,
#     test_evaluator = {{_base_.iassf_evaluator}}    (and val_evaluator = test_evaluator),
# as iassf_official_{msrs,iassf-msrs-test,m3fd-test,roadscene-test}.py do. Metrics carry no
# prefix: tables and logs name the test set by its dataset's dataset_name.
iassf_evaluator = [
    dict(type='FusionMetric', metrics=['MI', 'Qabf', 'Qcv', 'SCD', 'VIFF', 'SF'],
         pred_key='pred_fused', vis_key='gt_clear'),
    # PI and NIQE need 192 px on each side (two scales of 96-px blocks); RoadScene has smaller
    # images (FLIR_05053 is 179 px high): those are left out of these two columns, and the table
    # says which and how many.
    dict(type='NoReferenceMetric', metrics=['PI', 'NIQE'], pred_key='pred_fused',
         skip_errors=True),
    dict(type='ReferenceMetric', metrics=['PSNR_ref', 'SSIM_ref'], pred_key='pred_dehazed',
         include_input=True),
]
# Hazy test pipeline for the clear-only test sets (M3FD, RoadScene): the 'iassf_dense' haze,
# fixed per image by the seed and the file stem, as configs/_base_/datasets/msrs_hazy.py does.
iassf_hazy_test_pipeline = [
    dict(type='LoadFusionImages', ir_channels=3, vis_is_clear=True),
    dict(type='SynthesizeHaze', preset='iassf_dense', seed=2024),
    dict(type='PackFusionInputs'),
]
