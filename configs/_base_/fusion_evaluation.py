# The fusion metrics of the IR-VIS literature on pred_fused against the IR and the visible input
# (the sources a released fuser fused), with the plain average of the two as a row (a _base_
# fragment shared by configs/{u2fusion,seafusion,ifcnn,sdnet,densefuse}/).
fusion_evaluator = [
    dict(type='FusionMetric',
         metrics=['EN', 'SD', 'SF', 'AG', 'MI', 'Qabf', 'SCD', 'VIF', 'SSIM', 'CC'],
         pred_key='pred_fused', vis_key='vis', include_average=True),
]
# A released fuser tested as published: no training, frozen, test/val loops only.
release_test_cfg = dict(type='TestLoop')
release_val_cfg = dict(type='ValLoop')
