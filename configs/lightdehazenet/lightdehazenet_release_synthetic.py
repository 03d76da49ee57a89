# The released Light-DehazeNet on the embedded synthetic scenes (128², 50 test scenes; no download):
# PSNR/SSIM of pred_dehazed (the 'release' dehazer protocol) against the clear image, the hazy
# input as a row. No checkpoint argument (the dehazer loads its converted release, init_cfg):
#   python tools/test.py configs/lightdehazenet/lightdehazenet_release_synthetic.py
# Fine-tuning from the release with the release's own recipe (MSE to the clear image; Adam,
# lr 1e-4, weight decay 1e-4, gradient norm clipped at 0.1; batch 8), 600 iterations:
#   python tools/train.py configs/lightdehazenet/lightdehazenet_release_synthetic.py
_base_ = ['../_base_/models/lightdehazenet.py', '../_base_/released_dehazers/synthetic_finetune.py']
model = dict(losses=dict(dehaze=dict(type='MSELoss', pred='dehazed', target='gt_clear')))
