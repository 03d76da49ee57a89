# The released AOD-Net (frozen, 'release' dehazer protocol) on RoadScene's 221 visible
# images hazed per image with the 'iassf_dense' preset (fixed seed, as configs/two_stage/):
# PSNR/SSIM of pred_dehazed against the clear image, the hazy input as a row. No checkpoint
# argument (the dehazer loads its converted release through its init_cfg):
#   python tools/test.py configs/aodnet/aodnet_release_roadscene-hazy.py
_base_ = ['../_base_/models/aodnet.py', '../_base_/released_dehazers/roadscene_hazy_test.py']
model = dict(dehazer=dict(frozen=True))
