# The released GCANet ('release' dehazer protocol: its output as the release saved it), then the
# released U2Fusion (frozen, release protocol) on RoadScene hazed per image with the 'iassf_dense'
# preset, scored like the IASSF paper (fusion metrics against IR and the clear visible image;
# PI, NIQE; dehazer-output and hazy-input rows, PSNR/SSIM of the dehazer output). No checkpoint
# argument (both networks load their converted releases through init_cfg):
#   python tools/test.py configs/two_stage/gcanet_u2fusion_roadscene-test.py
_base_ = ['../_base_/models/u2fusion.py', './_zoo_roadscene-test.py']
model = dict(dehazer={{_base_.gcanet_dehazer}}, dehazer_protocol='release',
             fuser=dict(frozen=True))
