# The released GCANet on the embedded synthetic scenes (128², 50 test scenes; no download):
# PSNR/SSIM of pred_dehazed (the 'release' dehazer protocol) against the clear image, the hazy
# input as a row. No checkpoint argument (the dehazer loads its converted release, init_cfg):
#   python tools/test.py configs/gcanet/gcanet_release_synthetic.py
# Fine-tuning from the release: MSE to the clear image (the release has no training code; MSE
# is mmhaze's choice) with the optimizer of the AOD-Net/Light-DehazeNet releases (Adam, lr 1e-4,
# weight decay 1e-4, gradient norm clipped at 0.1), batch 8, 600 iterations:
#   python tools/train.py configs/gcanet/gcanet_release_synthetic.py
_base_ = ['../_base_/models/gcanet.py', '../_base_/released_dehazers/synthetic_finetune.py']
model = dict(losses=dict(dehaze=dict(type='MSELoss', pred='dehazed', target='gt_clear')))
