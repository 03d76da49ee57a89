# The fusion metrics of the IR-VIS literature on pred_fused against the IR and the visible input
# (the sources U2Fusion fused), with the plain average of the two as a row (a _base_ fragment).
u2fusion_evaluator = [
    dict(type='FusionMetric',
         metrics=['EN', 'SD', 'SF', 'AG', 'MI', 'Qabf', 'SCD', 'VIF', 'SSIM', 'CC'],
         pred_key='pred_fused', vis_key='vis', include_average=True),
]
