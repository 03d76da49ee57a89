# MSRS + M3FD + RoadScene test sets in one run, as IASSF's Tables I–VI report them: one
# dataloader and one evaluator per dataset (MultiTestLoop), each metric prefixed by the
# dataset name, so tools/test.py writes one table with a column group per dataset.
# Columns follow IASSF: MI, Q^AB/F, Q_CV, SCD, VIF = Han's VIFF (the paper cites Han et al.
# 2013), NIQE, SF; add 'PI' to no_reference_metrics once NRQM_model.mat is in
# $TORCH_HOME/hub/pyiqa/. To compare against the clear visible image as IASSF does, set
# fusion_vis_key = 'gt_clear' on datasets that have clear images.
dataset_type = 'PairedFusionDataset'
test_pipeline = [
    dict(type='LoadFusionImages', ir_channels=1),
    dict(type='PackFusionInputs'),
]
ivf_test_sets = [
    ('msrs', 'data/MSRS/'),
    ('m3fd', 'data/M3FD/M3FD_Fusion/'),  # as configs/_base_/datasets/m3fd.py
    ('roadscene', 'data/RoadScene/'),
]
fusion_metrics = ['MI', 'Qabf', 'Qcv', 'SCD', 'VIFF', 'SF']
no_reference_metrics = ['NIQE']
fusion_vis_key = 'vis'

test_dataloader = [
    dict(
        batch_size=1,
        num_workers=2,
        persistent_workers=True,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dict(type=dataset_type, data_root=root, layout=name, split='test',
                     pipeline=test_pipeline, test_mode=True))
    for name, root in ivf_test_sets
]
test_evaluator = [
    [
        dict(type='FusionMetric', metrics=fusion_metrics, vis_key=fusion_vis_key, prefix=name),
        dict(type='NoReferenceMetric', metrics=no_reference_metrics, prefix=name),
    ]
    for name, _ in ivf_test_sets
]
test_cfg = dict(type='MultiTestLoop')
