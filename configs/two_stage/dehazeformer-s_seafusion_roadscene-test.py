# DehazeFormer-S, then the released SeAFusion (frozen, release protocol) on RoadScene hazed per
# image with the 'iassf_dense' preset. No checkpoint argument: both networks load their own
# checkpoints through init_cfg (the dehazer: dehazeformer_s_checkpoint in _zoo_roadscene-test.py):
#   python tools/test.py configs/two_stage/dehazeformer-s_seafusion_roadscene-test.py
_base_ = ['../_base_/models/seafusion.py', './_zoo_roadscene-test.py']
model = dict(dehazer={{_base_.dehazeformer_s_dehazer}}, fuser=dict(frozen=True))
