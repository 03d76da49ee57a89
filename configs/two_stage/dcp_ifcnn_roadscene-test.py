# Dark-channel-prior dehazing, then the released IFCNN-MAX (frozen, release protocol) on RoadScene hazed per
# image with the 'iassf_dense' preset. No checkpoint argument (training-free dehazer; the fuser loads
# its converted release through its init_cfg):
#   python tools/test.py configs/two_stage/dcp_ifcnn_roadscene-test.py
_base_ = ['../_base_/models/ifcnn.py', './_zoo_roadscene-test.py']
model = dict(dehazer={{_base_.dcp_dehazer}}, fuser=dict(frozen=True))
